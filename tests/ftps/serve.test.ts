/**
 * `rosterdrop serve` as a real process: a first start generates a self-signed certificate in the
 * data directory and logs its SHA-256 fingerprint, a restart keeps it, SIGHUP loads a new
 * certificate without a restart (a bad one is refused and the old one kept), curl uploads with an
 * LMS administrator's login (straight into the queue), and SIGTERM stops it cleanly (ftp-srv's own handler would exit before).
 */
import assert from 'node:assert/strict';
import { X509Certificate } from 'node:crypto';
import fs from 'node:fs';
import net from 'node:net';
import path from 'node:path';
import tls from 'node:tls';
import { after, before, describe, it } from 'node:test';
import { generate } from 'selfsigned';
import { childEnv, runCli } from '../cli/harness';
import { freePort, startServe } from '../helpers/daemon';
import { run, writeFileOfSize } from '../helpers/ftps';
import { tempDir } from '../helpers/zip';

/** The SHA-256 fingerprint of the certificate the server presents after AUTH TLS. */
async function presentedFingerprint(port: number): Promise<string> {
  const socket = net.connect(port, '127.0.0.1');
  const read = () => new Promise<string>((resolve) => socket.once('data', (d: Buffer) => resolve(d.toString())));
  assert.match(await read(), /^220 /);
  socket.write('AUTH TLS\r\n');
  assert.match(await read(), /^234 /);
  const secure = tls.connect({ socket, rejectUnauthorized: false });
  await new Promise<void>((resolve) => secure.once('secureConnect', () => resolve()));
  const fp = secure.getPeerX509Certificate()?.fingerprint256 ?? '';
  secure.destroy();
  return fp;
}

describe('rosterdrop serve', { concurrency: 1 }, () => {
  let dir: { dir: string; cleanup: () => void };
  let env: NodeJS.ProcessEnv;
  let port: number;
  before(async () => {
    dir = tempDir('rosterdrop-serve-');
    port = await freePort();
    const pasv = 42000 + (process.pid % 500) * 10;
    env = childEnv({
      ROSTERDROP_DATA_DIR: dir.dir, NODE_ENV: 'production', ROSTERDROP_FTPS_HOST: '127.0.0.1', ROSTERDROP_FTPS_PORT: String(port), ROSTERDROP_HTTP_PORT: '0',
      ROSTERDROP_FTPS_PASV_MIN: String(pasv), ROSTERDROP_FTPS_PASV_MAX: String(pasv + 9),
    });
    assert.equal((await runCli(env, ['domain', 'add', 'district', '--name', 'District'])).code, 0);
    const add = await runCli(env, ['user', 'add', 'district/admin', '--admin', '--password-stdin'], 'Serve-Test-Pass1\n');
    assert.equal(add.code, 0, add.stderr);
  });
  after(() => dir?.cleanup());

  it('generates a certificate on first start, logs its fingerprint, keeps it across restarts, takes uploads, stops on SIGTERM', async () => {
    const first = startServe(env);
    const cert = await first.waitFor(/generated a self-signed TLS certificate/);
    await first.waitFor(/FTPS listening/);
    const onDisk = new X509Certificate(fs.readFileSync(path.join(dir.dir, 'tls', 'server-cert.pem')));
    assert.equal(cert.sha256Fingerprint, onDisk.fingerprint256);
    assert.equal(await presentedFingerprint(port), onDisk.fingerprint256);
    assert.equal((fs.statSync(path.join(dir.dir, 'tls', 'server-key.pem')).mode & 0o077), 0, 'the key is private');

    const file = writeFileOfSize(path.join(dir.dir, 'roster.zip'), 100_000);
    const up = await run('curl', ['-sS', '--ssl-reqd', '-k', '-u', 'district/admin:Serve-Test-Pass1', '-T', file, `ftp://127.0.0.1:${port}/`]);
    assert.equal(up.code, 0, up.stderr);
    // handed to the queue at once (this file is no zip, so its sync fails and it is kept apart)
    const queued = await first.waitFor(/^upload queued$/);
    assert.equal(queued.source, 'ftps');
    await first.waitFor(/^run failed$|^sync finished$/);
    assert.equal(fs.existsSync(path.join(dir.dir, 'drop', 'district', 'roster.zip')), false);
    const transfer = await first.waitFor(/^upload$/);
    assert.deepEqual(
      { login: transfer.login, from: transfer.from, domain: transfer.domain, file: transfer.file, size: transfer.size, result: transfer.result },
      { login: 'district/admin', from: '127.0.0.1', domain: 'district', file: 'roster.zip', size: 100_000, result: 'ok' },
    );
    assert.equal(typeof transfer.durationMs, 'number');
    assert.match(String(transfer.sha256), /^[0-9a-f]{64}$/);
    assert.equal(JSON.stringify(first.lines).includes('Serve-Test-Pass1'), false, 'the password is never logged');

    first.child.kill('SIGTERM');
    assert.equal(await first.exited, 0, first.lines.map((l) => JSON.stringify(l)).join('\n'));

    const second = startServe(env);
    const again = await second.waitFor(/TLS certificate loaded/);
    assert.equal(again.sha256Fingerprint, onDisk.fingerprint256);
    second.child.kill('SIGINT');
    assert.equal(await second.exited, 0);
  });

  it('SIGHUP loads a new certificate without a restart; a bad one is refused and the old one kept', async () => {
    const certFile = path.join(dir.dir, 'custom-cert.pem');
    const keyFile = path.join(dir.dir, 'custom-key.pem');
    const write = async () => {
      const pems = await generate([{ name: 'commonName', value: 'rosterdrop.test' }], { keySize: 2048, algorithm: 'sha256' });
      fs.writeFileSync(certFile, pems.cert);
      fs.writeFileSync(keyFile, pems.private);
      return new X509Certificate(pems.cert).fingerprint256;
    };
    const firstFp = await write();
    const daemon = startServe({ ...env, ROSTERDROP_TLS_CERT: certFile, ROSTERDROP_TLS_KEY: keyFile });
    await daemon.waitFor(/FTPS listening/);
    assert.equal(await presentedFingerprint(port), firstFp);

    const secondFp = await write();
    daemon.child.kill('SIGHUP');
    const deadline = Date.now() + 60_000; // a guard against a hang, not a speed expectation
    while (daemon.lines.filter((l) => /TLS certificate loaded/.test(String(l.message))).length < 2 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 100));
    assert.equal(await presentedFingerprint(port), secondFp);

    fs.writeFileSync(keyFile, 'not a key');
    daemon.child.kill('SIGHUP');
    await daemon.waitFor(/reload failed/);
    assert.equal(await presentedFingerprint(port), secondFp);

    daemon.child.kill('SIGTERM');
    assert.equal(await daemon.exited, 0);
  });
});
