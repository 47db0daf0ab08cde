/**
 * Which files in the drop root are uploads: `<userspace>/<name>.zip` (apply),
 * `<userspace>/validate/<name>.zip` (validate only) and `<userspace>/force/<name>.zip` (apply even
 * past the safety threshold or when identical to the last applied file). Hidden and temp names, results and anything
 * deeper are not. Pure, so the watcher and the sweep agree.
 */
import path from 'node:path';
import { isUploadName } from '../ftps/drop-fs';

export interface UploadPlace {
  userspace: string;
  name: string;
  validateOnly: boolean;
  forced: boolean;
}

export function classifyUpload(dropRoot: string, file: string): UploadPlace | null {
  const rel = path.relative(dropRoot, file);
  if (!rel || rel.startsWith('..') || path.isAbsolute(rel)) return null;
  const parts = rel.split(path.sep);
  if (parts.some((p) => p.startsWith('.'))) return null;
  if (parts.length === 2 && isUploadName(parts[1])) return { userspace: parts[0], name: parts[1], validateOnly: false, forced: false };
  if (parts.length === 3 && (parts[1] === 'validate' || parts[1] === 'force') && isUploadName(parts[2])) {
    return { userspace: parts[0], name: parts[2], validateOnly: parts[1] === 'validate', forced: parts[1] === 'force' };
  }
  return null;
}
