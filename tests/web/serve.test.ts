/**
 * The web admin as `rosterdrop serve` (= `npm start`) runs it: HTTPS on ROSTERDROP_HTTP_PORT with
 * the FTPS certificate, nothing in clear text, off with port 0, plain HTTP only behind a proxy.
 */
import assert from 'node:assert/strict';
import http from 'node:http';
import https from 'node:https';
import tls from 'node:tls';
import { after, describe, it } from 'node:test';
import { childEnv } from '../cli/harness';
import { freePort, startServe, type Daemon } from '../helpers/daemon';
import { tempDir } from '../helpers/zip';

interface Answer { status: number; body: string; headers: http.IncomingHttpHeaders }

function get(url: string, headers: Record<string, string> = {}): Promise<Answer> {
  const lib = url.startsWith('https:') ? https : http;
  return new Promise((resolve, reject) => {
    const req = lib.get(url, { rejectUnauthorized: false, headers }, (res) => {
      let body = '';
      res.setEncoding('utf8').on('data', (s: string) => { body += s; }).on('end', () => resolve({ status: res.statusCode ?? 0, body, headers: res.headers }));
    });
    req.on('error', reject);
  });
}

function peerFingerprint(port: number): Promise<string> {
  return new Promise((resolve, reject) => {
    const socket = tls.connect({ host: '127.0.0.1', port, rejectUnauthorized: false }, () => {
      resolve(socket.getPeerCertificate().fingerprint256);
      socket.end();
    });
    socket.on('error', reject);
  });
}

describe('web admin in the daemon', () => {
  const tmp = tempDir('rosterdrop-web-serve-');
  const daemons: Daemon[] = [];
  after(async () => {
    for (const d of daemons) { d.child.kill('SIGTERM'); await d.exited; }
    tmp.cleanup();
  });

  async function start(extra: Record<string, string>): Promise<Daemon> {
    const pasv = await freePort();
    const daemon = startServe(childEnv({
      ROSTERDROP_DATA_DIR: tmp.dir, NODE_ENV: 'production', ROSTERDROP_FTPS_HOST: '127.0.0.1', ROSTERDROP_FTPS_PORT: '0',
      ROSTERDROP_FTPS_PASV_MIN: String(pasv), ROSTERDROP_FTPS_PASV_MAX: String(pasv), ...extra,
    }));
    daemons.push(daemon);
    await daemon.waitFor(/^rosterdrop is running$/);
    return daemon;
  }

  async function stop(daemon: Daemon): Promise<void> {
    daemon.child.kill('SIGTERM');
    assert.equal(await daemon.exited, 0);
    daemons.splice(daemons.indexOf(daemon), 1);
  }

  it('serves the sign-in page over HTTPS with the FTPS certificate, and no clear text', async () => {
    const port = await freePort();
    const daemon = await start({ ROSTERDROP_HTTP_PORT: String(port) });
    const listening = await daemon.waitFor(/^web admin listening$/);
    assert.equal(listening.port, port);
    assert.equal(listening.tls, true);
    const cert = await daemon.waitFor(/self-signed TLS certificate|TLS certificate loaded/);
    assert.equal(await peerFingerprint(port), cert.sha256Fingerprint, 'the web admin serves the FTPS certificate');
    const page = await get(`https://127.0.0.1:${port}/login`);
    assert.equal(page.status, 200);
    assert.match(page.body, /<button type="submit">Sign in<\/button>/);
    assert.match(String(page.headers['strict-transport-security']), /max-age=/);
    await assert.rejects(get(`http://127.0.0.1:${port}/login`), 'clear-text HTTP gets no page');
    await stop(daemon);
  });

  it('has no web admin with ROSTERDROP_HTTP_PORT=0', async () => {
    const daemon = await start({ ROSTERDROP_HTTP_PORT: '0' });
    assert.ok(!daemon.lines.some((l) => l.message === 'web admin listening'), 'it starts before the daemon says it is running');
    await stop(daemon);
  });

  it('serves plain HTTP only behind a proxy (ROSTERDROP_HTTP_TRUST_PROXY), and says so', async () => {
    const port = await freePort();
    const daemon = await start({ ROSTERDROP_HTTP_PORT: String(port), ROSTERDROP_HTTP_HOST: '127.0.0.1', ROSTERDROP_HTTP_TRUST_PROXY: 'true' });
    assert.ok(daemon.lines.some((l) => l.level === 'warn' && /plain HTTP/.test(String(l.message))));
    const page = await get(`http://127.0.0.1:${port}/login`, { 'x-forwarded-proto': 'https' });
    assert.equal(page.status, 200);
    assert.match(String(page.headers['set-cookie']), /; Secure/, 'cookies stay Secure: the browser sees HTTPS at the proxy');
    await stop(daemon);
  });
});
