/**
 * Issue 17 #3: a listing while the daemon drains the folder. The intake moves uploads away as soon
 * as they are complete; a LIST that read the folder and then stat'ed an entry already gone answered
 * `550`, and lftp reported "Access failed" after a `put` whose upload had been queued. An entry that
 * vanishes between readdir and lstat is skipped. The race is made certain, not hoped for: a hook on
 * lstat (the one drop-fs.ts calls) removes the file just before it is stat'ed, as the intake would.
 */
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { DropFileSystem } from '../../src/ftps/drop-fs';
import type { CompletedUpload } from '../../src/ftps/types';
import { domainDir, startFtps, writeFileOfSize, type FtpsFixture } from '../helpers/ftps';
import { lftp, lftpQuote } from '../helpers/lftp';
import { tempDir } from '../helpers/zip';

/** Names the hook drains: removed the moment a listing stats them. */
const DRAINED = /^queued-\d+\.zip$/;

/** Makes every lstat of a drained name in `dir` find it gone, as if the intake had just moved it. */
function drainOnStat(dir: string): { restore(): void; drained: string[] } {
  const real = fs.promises.lstat;
  const drained: string[] = [];
  const hooked = (async (file: fs.PathLike, opts?: fs.StatOptions) => {
    const p = String(file);
    if (path.dirname(p) === dir && DRAINED.test(path.basename(p))) {
      fs.rmSync(p, { force: true });
      drained.push(path.basename(p));
    }
    return real(file, opts);
  }) as typeof fs.promises.lstat;
  fs.promises.lstat = hooked;
  return { drained, restore: () => { fs.promises.lstat = real; } };
}

function queueFiles(dir: string, n: number): void {
  fs.mkdirSync(dir, { recursive: true });
  for (let i = 0; i < n; i++) fs.writeFileSync(path.join(dir, `queued-${i}.zip`), 'x');
}

describe('listing a folder the daemon drains (issue 17 #3)', () => {
  it('DropFileSystem.list skips an entry removed between readdir and lstat', async () => {
    const root = tempDir('rosterdrop-list-');
    const dir = path.join(root.dir, 'district');
    queueFiles(dir, 5);
    fs.writeFileSync(path.join(dir, 'kept.zip'), 'kept');
    const hook = drainOnStat(dir);
    try {
      const fsys = new DropFileSystem(root.dir, { login: 'district/admin', userId: 1, home: 'district', subdomains: [] });
      const names = (await fsys.list(null)).map((e) => e.name);
      assert.equal(hook.drained.length, 5, 'every queued file vanished under the listing');
      assert.deepEqual(names, ['force', 'kept.zip', 'results', 'validate']);
    } finally {
      hook.restore();
      root.cleanup();
    }
  });

  describe('lftp put, then cls, while the folder drains', () => {
    let fx: FtpsFixture;
    let hook: ReturnType<typeof drainOnStat>;
    const uploads: CompletedUpload[] = [];
    before(async () => {
      // the sink moves each upload away, as the daemon's intake does before it answers 226
      const queue = tempDir('rosterdrop-list-queue-');
      fx = await startFtps({}, {
        sink: { accept: (u) => { uploads.push(u); fs.renameSync(u.path, path.join(queue.dir, path.basename(u.path))); } },
      });
      queueFiles(domainDir(fx, 'district'), 20);
      hook = drainOnStat(domainDir(fx, 'district'));
    });
    after(async () => {
      hook?.restore();
      await fx?.stop();
    });

    it('the upload and every listing succeed: no 550, lftp exits 0', async () => {
      const local = writeFileOfSize(path.join(fx.dataDir, 'roster.zip'), 50_000);
      const r = await lftp(fx, [`put ${lftpQuote(local)} -o roster.zip`, 'cls -1', 'echo ---', 'cls -l']);
      assert.equal(r.code, 0, `lftp failed:\n${r.stdout}\n${r.stderr}`);
      assert.doesNotMatch(r.stderr, /550|Access failed/);
      assert.equal(uploads.length, 1);
      assert.equal(uploads[0].name, 'roster.zip');
      assert.ok(hook.drained.length >= 20, `the listing met the drained files: ${hook.drained.length}`);
      const [names, long] = r.stdout.split('---\n');
      // the upload was moved to the queue and every queued file drained: the folders are left
      assert.equal(names, 'domains/\nforce/\nresults/\nvalidate/\n');
      assert.equal(long.trim().split('\n').length, 4, long);
    });
  });
});
