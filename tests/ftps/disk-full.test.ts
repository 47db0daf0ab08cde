/**
 * A full disk fails the upload (issue 17, defect 4): on a real 1 MiB file system (tmpfs), an upload
 * larger than the space left gets 452 from curl's and ftplib's point of view, nothing stands under
 * its name (nor a temp file), and the log says why (ENOSPC); one that fits still gets 226. Before,
 * a short last write was ignored and the truncated file was renamed into place with a 226.
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { ADMIN_LOGIN, ADMIN_PASSWORD, domainDir, hiddenFiles, run, startFtps, visibleFiles, writeFileOfSize, type FtpsFixture } from '../helpers/ftps';
import { memoryLogger } from '../helpers/memory-logger';
import { tempDir } from '../helpers/zip';

const MIB = 1024 * 1024;

/** Mounts a 1 MiB tmpfs (root only); null outside CI when that is not allowed here. */
function smallDisk(dir: string): boolean {
  const r = spawnSync('mount', ['-t', 'tmpfs', '-o', 'size=1m,mode=0755', 'tmpfs', dir]);
  if (r.status === 0) return true;
  if (process.env.CI) throw new Error(`cannot mount a tmpfs for the full-disk test (CI needs root): ${r.stderr.toString()}`);
  return false;
}

describe('uploads onto a full disk', { concurrency: 1 }, () => {
  const tmp = tempDir('rosterdrop-diskfull-');
  const disk = path.join(tmp.dir, 'disk');
  const log = memoryLogger();
  let fx: FtpsFixture;
  let mounted = false;

  before(async () => {
    fs.mkdirSync(disk);
    mounted = smallDisk(disk);
    fs.mkdirSync(path.join(disk, 'district'));
    fx = await startFtps({ dropRoot: disk }, { logger: log.logger });
  });
  after(async () => {
    await fx?.stop();
    if (mounted) spawnSync('umount', [disk]);
    tmp.cleanup();
  });

  /** what stands in the domain's folder as an upload (its subfolders aside) */
  const zips = () => visibleFiles(domainDir(fx, 'district')).filter((f) => f.endsWith('.zip'));
  const curl = (file: string) => run('curl', ['-sS', '--ssl-reqd', '-k', '-u', `${ADMIN_LOGIN}:${ADMIN_PASSWORD}`, '-T', file, `ftp://127.0.0.1:${fx.port}/`]);
  const ftplib = (file: string) => run('python3', ['-c', `
import ftplib, ssl, sys
ctx = ssl.create_default_context(); ctx.check_hostname = False; ctx.verify_mode = ssl.CERT_NONE
f = ftplib.FTP_TLS(context=ctx); f.connect('127.0.0.1', ${fx.port}); f.login(sys.argv[1], sys.argv[2]); f.prot_p()
try:
    with open(sys.argv[3], 'rb') as fh: print(f.storbinary('STOR ' + sys.argv[4], fh))
except ftplib.all_errors as e: print('ERR', e)
`, ADMIN_LOGIN, ADMIN_PASSWORD, file, path.basename(file)]);

  it('too big for the space left: 452 to curl and ftplib, nothing under the name, the cause logged', async (t) => {
    if (!mounted) return t.skip('mounting a tmpfs needs root');
    for (const [client, upload] of [['curl', curl], ['ftplib', ftplib]] as const) {
      const file = writeFileOfSize(path.join(tmp.dir, `big-${client}.zip`), 2 * MIB);
      const r = await upload(file);
      if (client === 'curl') {
        assert.notEqual(r.code, 0, 'curl reports the failure');
        assert.match(r.stderr, /452/, r.stderr);
      } else {
        assert.match(r.stdout, /^ERR 452 Insufficient storage space/m, r.stdout + r.stderr);
      }
      assert.deepEqual(zips(), [], `${client}: nothing under the final name`);
      assert.deepEqual(hiddenFiles(domainDir(fx, 'district')), [], `${client}: no temp file left`);
      const line = await log.waitFor((e) => e.message === 'upload' && e.result === 'failed' && e.file === path.basename(file));
      assert.match(String(line.cause), /ENOSPC/, `${client}: the log names the cause: ${JSON.stringify(line)}`);
    }
    assert.equal(fx.uploads.length, 0, 'nothing was handed over to the queue');
  });

  it('just over the space left (the last write is the short one): refused, nothing kept', async (t) => {
    if (!mounted) return t.skip('mounting a tmpfs needs root');
    const free = fs.statfsSync(disk).bavail * fs.statfsSync(disk).bsize;
    const file = writeFileOfSize(path.join(tmp.dir, 'edge.zip'), free + 100);
    const r = await curl(file);
    assert.notEqual(r.code, 0, `curl must not report success: ${r.stderr}`);
    assert.deepEqual(zips(), []);
    assert.equal(fx.uploads.length, 0);
  });

  it('a file that fits is stored as before', async (t) => {
    if (!mounted) return t.skip('mounting a tmpfs needs root');
    const file = writeFileOfSize(path.join(tmp.dir, 'small.zip'), 100 * 1024);
    const r = await curl(file);
    assert.equal(r.code, 0, r.stderr);
    assert.deepEqual(zips(), ['small.zip']);
    assert.equal(fs.statSync(path.join(domainDir(fx, 'district'), 'small.zip')).size, 100 * 1024);
  });
});
