/**
 * Upload names that cannot work are refused at STOR (issue 17, defects 7 and 9): a name so long
 * that a name derived from it (`<run id>-<name>` in the queue and archive, `<name>.issues.csv` in
 * results/) would pass 255 bytes, and names with line separators or direction marks that would
 * reach the mail's subject, the .txt and listings. The longest name accepted gets every derived file.
 */
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { MAX_UPLOAD_NAME_BYTES } from '../../src/ftps/drop-fs';
import { moveFile } from '../../src/queue/files';
import { writeResultFiles } from '../../src/report/result-files';
import { ADMIN_LOGIN, ADMIN_PASSWORD, domainDir, run, startFtps, visibleFiles, type FtpsFixture } from '../helpers/ftps';
import { sampleReport } from '../report/fixtures';
import { tempDir } from '../helpers/zip';

/** a .zip name of exactly `bytes` UTF-8 bytes, with some 2-byte characters in it */
const nameOf = (bytes: number): string => `${'é'.repeat(10)}${'n'.repeat(bytes - 20 - 4)}.zip`;

describe('upload names that cannot work are refused at STOR', { concurrency: 1 }, () => {
  let fx: FtpsFixture;
  const tmp = tempDir('rosterdrop-names-');
  before(async () => { fx = await startFtps(); });
  after(async () => { await fx?.stop(); tmp.cleanup(); });

  /** STORs each name with ftplib; returns each reply (or error) line */
  async function stor(names: string[]): Promise<string[]> {
    const file = path.join(tmp.dir, 'payload.zip');
    fs.writeFileSync(file, 'PK\u0005\u0006'.padEnd(22, '\u0000'));
    const r = await run('python3', ['-c', `
import ftplib, ssl, sys, json
ctx = ssl.create_default_context(); ctx.check_hostname = False; ctx.verify_mode = ssl.CERT_NONE
f = ftplib.FTP_TLS(context=ctx, encoding='utf-8'); f.connect('127.0.0.1', ${fx.port}); f.login(sys.argv[1], sys.argv[2]); f.prot_p()
for name in json.loads(sys.argv[4]):
    try:
        with open(sys.argv[3], 'rb') as fh: print(f.storbinary('STOR ' + name, fh))
    except ftplib.all_errors as e: print('ERR', e)
`, ADMIN_LOGIN, ADMIN_PASSWORD, file, JSON.stringify(names)]);
    assert.equal(r.code, 0, r.stderr);
    return r.stdout.trim().split('\n');
  }

  it('refuses a name whose derived names would not fit in 255 bytes, takes the longest that does', async () => {
    const [tooLong, longest] = [nameOf(MAX_UPLOAD_NAME_BYTES + 1), nameOf(MAX_UPLOAD_NAME_BYTES)];
    assert.equal(Buffer.byteLength(tooLong), MAX_UPLOAD_NAME_BYTES + 1);
    const [refused, taken] = await stor([tooLong, longest]);
    assert.match(refused, /^ERR 553 .*at most 242 bytes/);
    assert.match(taken, /^226 /);
    assert.deepEqual(visibleFiles(domainDir(fx, 'district')).filter((f) => f.endsWith('.zip')), [longest]);

    // every name derived from the longest one fits: the queue and archive file, the result files
    const queued = path.join(tmp.dir, 'queue', 'district', `${'9'.repeat(12)}-${longest}`);
    await moveFile(path.join(domainDir(fx, 'district'), longest), queued);
    const written = await writeResultFiles(path.join(tmp.dir, 'results'), longest, sampleReport({ fileName: longest }));
    for (const f of [queued, written.json, written.txt, written.issues]) assert.ok(fs.existsSync(f), path.basename(f));
  });

  it('refuses line and paragraph separators and direction marks in names, like control characters', async () => {
    const names = ['a\u2028b.zip', 'a\u2029b.zip', 'evil\u202Epiz.exe.zip', 'x\u2066y\u2069.zip', 'rtl\u200F.zip', 'ctl\u0007.zip'];
    const replies = await stor(names);
    for (const [i, reply] of replies.entries()) assert.match(reply, /^ERR 553 /, JSON.stringify(names[i]));
    assert.deepEqual(visibleFiles(domainDir(fx, 'district')).filter((f) => names.includes(f)), []);
    assert.match((await stor(['plain-name.zip']))[0], /^226 /, 'an ordinary name still goes through');
  });
});
