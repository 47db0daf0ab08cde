/** Moving uploads between the drop folders, the queue area and the archive. */
import fs from 'node:fs/promises';
import path from 'node:path';

/** Moves a file (rename, or copy and delete across file systems), creating the target folder. */
export async function moveFile(from: string, to: string): Promise<void> {
  await fs.mkdir(path.dirname(to), { recursive: true, mode: 0o750 });
  try {
    await fs.rename(from, to);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'EXDEV') throw err;
    await fs.copyFile(from, to, fs.constants.COPYFILE_EXCL);
    const handle = await fs.open(to, 'r');
    await handle.sync().finally(() => handle.close());
    await fs.unlink(from);
  }
}

export async function exists(file: string): Promise<boolean> {
  return fs.lstat(file).then((s) => s.isFile(), () => false);
}

/** Deletes archived files older than `days` (0 keeps everything); returns how many went. */
export async function pruneOlderThan(dir: string, days: number, now = Date.now()): Promise<number> {
  if (days <= 0) return 0;
  let removed = 0;
  const walk = async (d: string): Promise<void> => {
    for (const entry of await fs.readdir(d, { withFileTypes: true }).catch(() => [])) {
      const full = path.join(d, entry.name);
      if (entry.isDirectory()) await walk(full);
      else if (entry.isFile() && now - (await fs.stat(full)).mtimeMs > days * 86_400_000) {
        await fs.unlink(full).catch(() => undefined);
        removed++;
      }
    }
  };
  await walk(dir);
  return removed;
}
