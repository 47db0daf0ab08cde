/**
 * Writes a run's outcome back into the domain's FTPS folder (`results/<upload>.json` and `.txt`,
 * and every kept issue in `<upload>.issues.csv`: the JSON and the mail list only the first ones),
 * so an SIS script that uploaded a zip can fetch what became of it over the same connection. A
 * script polls for the file, so it must never see half of one: each file is written under a hidden
 * temp name in the same folder (the FTPS listing skips hidden names), fsynced, then renamed over
 * the old one (an upload of the same name replaces its earlier result, its issues file too: that
 * is written even when empty). The `.issues.csv` and the `.txt` go first, so once the `.json` is
 * there all three are.
 */
import { randomUUID } from 'node:crypto';
import { constants } from 'node:fs';
import { mkdir, open, rename, unlink } from 'node:fs/promises';
import path from 'node:path';
import { issuesCsvChunks } from './issues-csv';
import { resultJson, resultText, type RunReport } from './run-report';

/** the name of the file with every kept issue of an upload, beside its `.json` */
export function issuesFileName(uploadName: string): string {
  return `${uploadName}.issues.csv`;
}

export async function writeResultFiles(resultsDir: string, uploadName: string, r: RunReport): Promise<{ json: string; txt: string; issues: string }> {
  assertBareName(uploadName);
  await mkdir(resultsDir, { recursive: true });
  const json = path.join(resultsDir, `${uploadName}.json`);
  const txt = path.join(resultsDir, `${uploadName}.txt`);
  const issues = path.join(resultsDir, issuesFileName(uploadName));
  await writeAtomically(issues, issuesCsvChunks(r.issues));
  await writeAtomically(txt, [resultText(r)]);
  await writeAtomically(json, [`${JSON.stringify(resultJson(r), null, 2)}\n`]);
  await syncDir(resultsDir);
  return { json, txt, issues };
}

/**
 * A bare, visible file name: no path separators, not `.`/`..`, not hidden (hidden names are
 * invisible over FTPS and reserved for temp files), no control characters.
 */
function assertBareName(name: string): void {
  if (!name || name === '.' || name === '..' || /[/\\]/.test(name) || name.startsWith('.') || /[\u0000-\u001f\u007f]/.test(name)) {
    throw new Error(`not a bare upload file name: ${JSON.stringify(name)}`);
  }
}

/** `content` comes in pieces, so that a large file is never one string */
async function writeAtomically(finalPath: string, content: Iterable<string>): Promise<void> {
  const temp = path.join(path.dirname(finalPath), `.result-${randomUUID()}.tmp`);
  const file = await open(temp, constants.O_WRONLY | constants.O_CREAT | constants.O_EXCL | constants.O_NOFOLLOW, 0o640);
  let renamed = false;
  try {
    try {
      // writeFile on a handle writes on from the current position, each piece whole
      for (const piece of content) await file.writeFile(piece, 'utf8');
      await file.sync();
    } finally {
      await file.close();
    }
    await rename(temp, finalPath);
    renamed = true;
  } finally {
    if (!renamed) await unlink(temp).catch(() => undefined);
  }
}

/** Makes the renames durable; best effort (some filesystems refuse to fsync a folder). */
async function syncDir(dir: string): Promise<void> {
  try {
    const handle = await open(dir, constants.O_RDONLY);
    try {
      await handle.sync();
    } finally {
      await handle.close();
    }
  } catch {
    // not fatal: the files are complete, only their names might not survive a power cut
  }
}
