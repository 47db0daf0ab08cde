/**
 * The watcher on a real folder: a file copied in while it runs is reported once it has stopped
 * changing; hidden names, results/ and deeper folders are not; a sweep at start takes what was
 * already there (and, once stable, what was still young).
 */
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { describe, it } from 'node:test';
import { loadTlsMaterial } from '../../src/ftps/tls-material';
import { silentLogger } from '../../src/util/logger';
import { UploadWatcher } from '../../src/watcher/upload-watcher';
import { tempDir } from '../helpers/zip';

async function until(what: string, check: () => boolean, timeoutMs = 10_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!check()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await sleep(50);
  }
}

describe('upload watcher', () => {
  it('reports files copied in while it runs once stable, and those already there at start; ignores the rest', async () => {
    const { dir, cleanup } = tempDir('rosterdrop-watch-');
    const seen: string[] = [];
    const drop = path.join(dir, 'drop');
    fs.mkdirSync(path.join(drop, 'd', 'validate'), { recursive: true });
    fs.writeFileSync(path.join(drop, 'd', 'before.zip'), 'x');
    fs.utimesSync(path.join(drop, 'd', 'before.zip'), new Date(Date.now() - 60_000), new Date(Date.now() - 60_000));
    fs.writeFileSync(path.join(drop, 'd', 'young.zip'), 'x'); // just written: taken once stable
    const watcher = new UploadWatcher({ dropRoot: drop, stableMs: 400, sweepMs: 3_600_000 }, (f) => seen.push(path.relative(drop, f)), silentLogger());
    try {
      await watcher.start();
      assert.deepEqual(seen, ['d/before.zip']);
      await until('the young file', () => seen.includes('d/young.zip'));

      fs.mkdirSync(path.join(drop, 'd', 'results'), { recursive: true });
      fs.mkdirSync(path.join(drop, 'd', 'x', 'y'), { recursive: true });
      for (const f of ['d/.upload-1.part', 'd/results/r.zip', 'd/notes.txt', 'd/x/y/deep.zip']) fs.writeFileSync(path.join(drop, f), 'x');
      // written in two steps: reported only after it stopped changing
      const growing = path.join(drop, 'd', 'validate', 'copied.zip');
      fs.writeFileSync(growing, 'part one');
      await sleep(200);
      fs.appendFileSync(growing, ' and part two');
      const t0 = Date.now();
      await until('the copied file', () => seen.includes('d/validate/copied.zip'));
      assert.ok(Date.now() - t0 >= 300, 'not before it was stable');
      await sleep(800);
      // a sweep reports every stable upload it finds (intake ignores what it already moved away)
      assert.deepEqual([...new Set(seen)].sort(), ['d/before.zip', 'd/validate/copied.zip', 'd/young.zip']);
    } finally {
      await watcher.stop();
      cleanup();
    }
  });

  it('two first starts at once end up with one certificate', async () => {
    const { dir, cleanup } = tempDir('rosterdrop-tls-');
    try {
      const [a, b] = await Promise.all([0, 1].map(() => loadTlsMaterial({ certFile: null, keyFile: null, dataDir: dir })));
      assert.equal(a.fingerprint256, b.fingerprint256);
      assert.equal([a.generated, b.generated].filter(Boolean).length, 1);
    } finally {
      cleanup();
    }
  });
});
