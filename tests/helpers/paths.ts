/**
 * Paths for tests. Computed from this file's location so they work both from tests/helpers
 * (ts sources) and from dist/tests/helpers (compiled): the repo root is the nearest folder up
 * that holds package.json.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';

function findRepoRoot(start: string): string {
  for (let dir = start; ; dir = path.dirname(dir)) {
    if (fs.existsSync(path.join(dir, 'package.json'))) return dir;
    if (path.dirname(dir) === dir) throw new Error(`no package.json above ${start}`);
  }
}

export const REPO_ROOT = findRepoRoot(__dirname);
export const SHARED_DIR = path.resolve(REPO_ROOT, '..', 'shared');
export const EDFI_SAMPLE_DIR = path.join(SHARED_DIR, 'samples', 'edfi-oneroster-1.1');
