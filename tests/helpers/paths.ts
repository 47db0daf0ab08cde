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
export const FIXTURES_DIR = path.join(REPO_ROOT, 'tests', 'fixtures');
/** The real Ed-Fi OneRoster 1.1 sample export (Apache-2.0, see its NOTICE), with its real defects. */
export const EDFI_SAMPLE_DIR = path.join(FIXTURES_DIR, 'edfi-oneroster-1.1');
