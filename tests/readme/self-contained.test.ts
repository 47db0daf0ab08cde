/**
 * The project installs, runs and tests with nothing beside it: no source, test, bench or CI file
 * reads a path outside the repository (the team's reference folder beside it above all; the
 * tests' data lives in tests/fixtures/).
 */
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { it } from 'node:test';
import { REPO_ROOT } from '../helpers/paths';

function files(dir: string): string[] {
  return fs.readdirSync(dir, { withFileTypes: true }).flatMap((e) => {
    const full = path.join(dir, e.name);
    return e.isDirectory() ? files(full) : [full];
  });
}

it('nothing in src/, tests/, bench/, scripts/, bin/ or .ci/ reaches outside the repository', () => {
  const outside = [/\.\.\/shared\b/, /'\.\.',\s*'shared'/, /\bshared\/samples\b/, /path\.resolve\(REPO_ROOT,\s*'\.\.'/];
  const offenders: string[] = [];
  for (const dir of ['src', 'tests', 'bench', 'scripts', 'bin', '.ci']) {
    for (const file of files(path.join(REPO_ROOT, dir))) {
      if (file === __filename.replace(`${path.sep}dist${path.sep}`, path.sep).replace(/\.js$/, '.ts') || file.includes(`${path.sep}fixtures${path.sep}`)) continue;
      const text = fs.readFileSync(file, 'utf8');
      for (const re of outside) if (re.test(text)) offenders.push(`${path.relative(REPO_ROOT, file)} (${re})`);
    }
  }
  offenders.push(...['package.json'].filter((f) => /\.\.\/shared/.test(fs.readFileSync(path.join(REPO_ROOT, f), 'utf8'))));
  assert.deepEqual(offenders, []);
  assert.ok(fs.existsSync(path.join(REPO_ROOT, 'tests', 'fixtures', 'edfi-oneroster-1.1', 'NOTICE')), 'the sample keeps its notice');
});
