/**
 * Which files in the drop root are uploads: `<userspace>/<name>.zip` (apply) and
 * `<userspace>/validate/<name>.zip` (validate only). Hidden and temp names, results and anything
 * deeper are not. Pure, so the watcher and the sweep agree.
 */
import path from 'node:path';
import { isUploadName } from '../ftps/drop-fs';

export interface UploadPlace {
  userspace: string;
  name: string;
  validateOnly: boolean;
}

export function classifyUpload(dropRoot: string, file: string): UploadPlace | null {
  const rel = path.relative(dropRoot, file);
  if (!rel || rel.startsWith('..') || path.isAbsolute(rel)) return null;
  const parts = rel.split(path.sep);
  if (parts.some((p) => p.startsWith('.'))) return null;
  if (parts.length === 2 && isUploadName(parts[1])) return { userspace: parts[0], name: parts[1], validateOnly: false };
  if (parts.length === 3 && parts[1] === 'validate' && isUploadName(parts[2])) return { userspace: parts[0], name: parts[2], validateOnly: true };
  return null;
}
