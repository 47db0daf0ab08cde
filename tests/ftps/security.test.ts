/**
 * The FTPS drop server under attack: every security or robustness defect of stock ftp-srv 4.6.3
 * listed in docs/ftp-srv-defects.md (numbers in the test names) is provoked here with a raw client
 * (tests/helpers/ftp-raw.ts) that sends exactly the bytes a hostile or broken client would. The
 * tests named with a defect number fail on stock ftp-srv; the others pin down rosterdrop's own rules
 * (domain folders, allow-list, active mode) and regressions found while writing these. Well-behaved
 * real clients are covered in clients.test.ts.
 *
 * Every address is loopback: 127.0.0.1 is the usual client; 127.0.0.2–6 play other machines.
 */
import assert from 'node:assert/strict';
import { constants } from 'node:crypto';
import fs from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { Writable } from 'node:stream';
import { setTimeout as sleep } from 'node:timers/promises';
import tls from 'node:tls';
import { after, afterEach, before, describe, it } from 'node:test';
import winston from 'winston';
import { Domain } from '../../src/db/entities';
import { createUser } from '../../src/db/users';
import { FtpSrv } from '../../src/ftps/ftp-srv-internals';
import type { Logger } from '../../src/util/logger';
import {
  attemptData, DataConn, expectCode, loggedIn, pasv, passivePort, RawFtp, secureConnect, sha256, type ConnectOptions, type FtpReply,
} from '../helpers/ftp-raw';
import { ADMIN_LOGIN, ADMIN_PASSWORD, domainDir, hiddenFiles, startFtps, visibleFiles, type ConfigPatch, type FtpsFixture } from '../helpers/ftps';

const SIGNALS = ['SIGTERM', 'SIGINT', 'SIGQUIT'] as const;

/** Everything the hardened server must never do, whatever the test. */
const problems: string[] = [];
process.on('unhandledRejection', (err) => { problems.push(`unhandled rejection: ${String(err)}`); });
process.on('uncaughtException', (err) => { problems.push(`uncaught exception: ${String(err)}`); });

function memoryLogger(): { logger: Logger; lines: string[] } {
  const lines: string[] = [];
  const stream = new Writable({ write(chunk: Buffer, _enc, cb) { lines.push(chunk.toString('utf8')); cb(); } });
  const logger = winston.createLogger({ level: 'silly', format: winston.format.json(), transports: [new winston.transports.Stream({ stream })] });
  return { logger, lines };
}

/** Clients opened by a suite, destroyed after each test. */
class Clients {
  readonly all: RawFtp[] = [];
  private open: RawFtp[] = [];

  add(c: RawFtp): RawFtp {
    this.all.push(c);
    this.open.push(c);
    return c;
  }

  async connect(port: number, localAddress?: string): Promise<RawFtp> {
    return this.add(await RawFtp.connect(port, { localAddress }));
  }

  async secure(port: number, localAddress?: string): Promise<RawFtp> {
    return this.add(await secureConnect(port, { localAddress }));
  }

  async login(fx: FtpsFixture, login = ADMIN_LOGIN, password = ADMIN_PASSWORD, opts: ConnectOptions & { protect?: boolean } = {}): Promise<RawFtp> {
    return this.add(await loggedIn(fx.port, login, password, opts));
  }

  closeAll(): void {
    for (const c of this.open) c.destroy();
    this.open = [];
  }

  transcripts(): string[] {
    return this.all.flatMap((c) => c.transcript);
  }
}

interface TransferResult {
  first: FtpReply;
  final: FtpReply | null;
  data: Buffer | null;
}

/**
 * PASV, the command, the data connection (opened while the command is pending, as clients do),
 * then the upload or the download. A refusal before 150 comes back as `first`.
 */
async function transfer(c: RawFtp, command: string, opts: { upload?: Buffer; session?: Buffer | null } = {}): Promise<TransferResult> {
  const port = await pasv(c);
  await c.send(command);
  const dataP = DataConn.open(port, { session: opts.session === null ? undefined : (opts.session ?? c.session) });
  dataP.catch(() => undefined);
  const first = await c.reply();
  if (first.code !== 150) {
    dataP.then((d) => d.destroy(), () => undefined);
    return { first, final: null, data: null };
  }
  const data = await dataP;
  let received: Buffer | null = null;
  if (opts.upload) {
    await data.write(opts.upload).catch(() => undefined);
    await data.end();
  } else {
    received = await data.readAll();
  }
  return { first, final: await c.reply(), data: received };
}

async function upload(c: RawFtp, name: string, content: Buffer): Promise<FtpReply> {
  const r = await transfer(c, `STOR ${name}`, { upload: content });
  return r.final ?? r.first;
}

/** NLST names of a folder; throws with the reply when the listing is refused. */
async function names(c: RawFtp, dir?: string): Promise<string[]> {
  const r = await transfer(c, dir === undefined ? 'NLST' : `NLST ${dir}`);
  if (r.first.code !== 150 || !r.final || r.final.code !== 226 || !r.data) throw new Error(`NLST ${dir ?? ''}: ${r.first.text} ${r.final?.text ?? ''}`);
  return r.data.toString('utf8').split('\r\n').filter(Boolean).sort();
}

async function listing(c: RawFtp, dir?: string): Promise<string> {
  const r = await transfer(c, dir === undefined ? 'LIST' : `LIST ${dir}`);
  if (r.first.code !== 150 || !r.final || r.final.code !== 226 || !r.data) throw new Error(`LIST ${dir ?? ''}: ${r.first.text} ${r.final?.text ?? ''}`);
  return r.data.toString('utf8');
}

function assert5xx(reply: FtpReply, what: string): void {
  assert.ok(reply.code >= 500 && reply.code < 600, `${what}: expected a 5xx reply, got ${reply.text}`);
}

/** The next reply that is not a 1xx preliminary one. */
async function finalReply(c: RawFtp): Promise<FtpReply> {
  for (;;) {
    const r = await c.reply();
    if (r.code >= 200) return r;
  }
}

async function assertAlive(c: RawFtp, what: string): Promise<void> {
  const r = await c.cmd('NOOP');
  assert.equal(r.code, 200, `${what}: the connection must still answer NOOP, got ${r.text}`);
}

/** Distinct free ports on 127.0.0.1, checked by binding. */
async function freePortRange(size: number): Promise<{ minPort: number; maxPort: number }> {
  for (let base = 32000 + (process.pid % 300) * 10; ; base += size + 1) {
    if (base + size > 40000) base = 32000;
    let ok = true;
    for (let p = base; p < base + size && ok; p++) ok = await portFree(p);
    if (ok) return { minPort: base, maxPort: base + size - 1 };
  }
}

function portFree(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const s = net.createServer();
    s.once('error', () => resolve(false));
    s.listen({ port, host: '127.0.0.1', exclusive: true }, () => s.close(() => resolve(true)));
  });
}

const elapsedSince = (t0: bigint): number => Number(process.hrtime.bigint() - t0) / 1e6;

async function fixture(patch: ConfigPatch, logger?: Logger): Promise<FtpsFixture> {
  return startFtps(patch, logger ? { logger } : {});
}

describe('FTPS drop server under attack', { concurrency: true }, () => {
  after(() => {
    assert.deepEqual(problems, [], 'no handler may crash or leave a promise unhandled');
  });

  describe('protocol and file system (one server)', { concurrency: 1 }, () => {
    let fx: FtpsFixture;
    const log = memoryLogger();
    const clients = new Clients();
    const signalsBefore = new Map<string, Function[]>();
    const signalsAfter = new Map<string, Function[]>();
    let outside: string;
    let outsideTarget: string;

    before(async () => {
      for (const s of SIGNALS) signalsBefore.set(s, process.listeners(s).slice());
      fx = await fixture({
        implicitPort: 0, maxUploadBytes: 256 * 1024,
        // this suite fails logins on purpose from 127.0.0.1; bans are tested on their own server
        login: { allowList: ['127.0.0.1'] },
      }, log.logger);
      for (const s of SIGNALS) signalsAfter.set(s, process.listeners(s).slice());
      outside = path.join(fx.dataDir, 'outside');
      outsideTarget = path.join(outside, 'target.zip');
      fs.mkdirSync(outside);
      fs.writeFileSync(outsideTarget, 'outside target');
      fs.writeFileSync(path.join(fx.dataDir, 'outside.zip'), 'outside zip');
      for (const d of ['district', 'school-a', 'other']) fs.mkdirSync(domainDir(fx, d), { recursive: true });
      fs.writeFileSync(path.join(domainDir(fx, 'district'), 'legit.zip'), 'legit');
      fs.writeFileSync(path.join(domainDir(fx, 'school-a'), 'school.zip'), 'school');
      fs.writeFileSync(path.join(domainDir(fx, 'other'), 'secret.zip'), 'other secret');
      const district = domainDir(fx, 'district');
      fs.symlinkSync(outsideTarget, path.join(district, 'link.zip'));
      fs.symlinkSync(domainDir(fx, 'other'), path.join(district, 'linkdir'));
      fs.symlinkSync('../other/secret.zip', path.join(district, 'link-up.zip'));
      fs.mkdirSync(path.join(district, 'validate'));
      fs.symlinkSync(outsideTarget, path.join(district, 'validate', 'vlink.zip'));
    });
    afterEach(() => clients.closeAll());
    after(async () => { await fx?.stop(); });

    it('does not leave ftp-srv\'s SIGTERM/SIGINT/SIGQUIT handlers installed (defect 15)', () => {
      // Sanity: stock ftp-srv does install them (process.exit(0) on a signal).
      const counts = SIGNALS.map((s) => process.listenerCount(s));
      const stock = new FtpSrv({ url: 'ftp://127.0.0.1:0', greeting: null, anonymous: false });
      assert.ok(stock);
      const added = SIGNALS.map((s, i) => process.listeners(s).slice(counts[i]));
      assert.deepEqual(added.map((l) => l.length), [1, 1, 1], 'stock ftp-srv adds one listener per signal');
      SIGNALS.forEach((s, i) => { for (const l of added[i]) process.removeListener(s, l as () => void); });

      for (const s of SIGNALS) assert.deepEqual(signalsAfter.get(s), signalsBefore.get(s), `${s} listeners changed by DropServer.start`);
    });

    it('refuses USER, PASS, STOR, PASV and every other command but AUTH/FEAT/SYST/NOOP/HELP before AUTH TLS with 530 (defect 3)', async () => {
      const c = await clients.connect(fx.port);
      expectCode(await c.reply(), 220);
      for (const cmd of [`USER ${ADMIN_LOGIN}`, `PASS ${ADMIN_PASSWORD}`, 'PASV', 'EPSV', 'PORT 127,0,0,1,156,64', 'STOR a.zip', 'RETR legit.zip',
        'LIST', 'NLST', 'CWD /', 'PWD', 'SIZE legit.zip', 'DELE legit.zip', 'PBSZ 0', 'PROT P', 'SITE CHMOD 777 legit.zip', 'OPTS UTF8 ON', 'MKD x', 'QUITX']) {
        const r = await c.cmd(cmd);
        assert.equal(r.code, 530, `${cmd} in clear text: ${r.text}`);
      }
      const feat = expectCode(await c.cmd('FEAT'), 211);
      assert.ok(feat.lines.some((l) => l.trim() === 'AUTH TLS'), feat.text);
      expectCode(await c.cmd('SYST'), 215);
      expectCode(await c.cmd('NOOP'), 200);
      expectCode(await c.cmd('HELP'), 214);
      expectCode(await c.cmd('AUTH'), 501);
      expectCode(await c.cmd('AUTH KERBEROS'), 504);
      await c.authTls();
      // The USER sent in clear text was not remembered: PASS now has no USER to go with.
      expectCode(await c.cmd(`PASS ${ADMIN_PASSWORD}`), 503);
      expectCode(await c.cmd('AUTH TLS'), 503);
      expectCode(await c.cmd(`USER ${ADMIN_LOGIN}`), 331);
      expectCode(await c.cmd(`PASS ${ADMIN_PASSWORD}`), 230);
    });

    it('drops plaintext pipelined behind AUTH TLS: it never runs inside TLS (STARTTLS injection, defect 2)', async () => {
      const c = await clients.connect(fx.port);
      expectCode(await c.reply(), 220);
      await c.authTls('after-reply', undefined, `AUTH TLS\r\nUSER ${ADMIN_LOGIN}\r\nPASS ${ADMIN_PASSWORD}\r\nPBSZ 0\r\nPROT P\r\n`);
      assert.equal(await c.maybeReply(300), null, 'no reply to injected commands may arrive inside TLS');
      const first = await c.cmd('NOOP');
      assert.equal(first.code, 200, `the first TLS reply must answer our NOOP, not the injected USER: ${first.text}`);
      expectCode(await c.cmd('PWD'), 530); // not logged in
      expectCode(await c.cmd(`PASS ${ADMIN_PASSWORD}`), 503); // no USER pending
      expectCode(await c.cmd('PASV'), 530);
      assert.ok(!c.transcript.some((l) => /^(331|230)/.test(l)), c.transcript.join(' | '));
    });

    it('plaintext sent right behind AUTH TLS in its own segment is never run as a command (defect 2)', async () => {
      for (let i = 0; i < 5; i++) {
        const c = await clients.connect(fx.port);
        expectCode(await c.reply(), 220);
        await c.write('AUTH TLS\r\n');
        await c.write(`USER ${ADMIN_LOGIN}\r\n`);
        const r = await c.reply();
        expectCode(r, 234);
        // The server now reads TLS; the plaintext USER either was dropped or breaks the handshake.
        c.raw.removeAllListeners('data');
        const t = tls.connect({ socket: c.raw, rejectUnauthorized: false });
        const secured = await new Promise<boolean>((resolve) => {
          t.once('secureConnect', () => resolve(true));
          t.once('error', () => resolve(false));
          t.once('close', () => resolve(false));
        });
        if (secured) {
          const replies: string[] = [];
          t.on('data', (d: Buffer) => replies.push(d.toString()));
          t.write('NOOP\r\n');
          await sleep(200);
          assert.match(replies.join(''), /^200 /, 'the first TLS reply must be ours');
        }
        t.destroy();
        assert.ok(!c.transcript.some((l) => l.startsWith('331')), c.transcript.join(' | '));
      }
    });

    it('wins the AUTH TLS race: a ClientHello sent the instant 234 arrives always handshakes (defect 1)', async () => {
      const rounds = 60;
      let ok = 0;
      for (let batch = 0; batch < rounds / 10; batch++) {
        await Promise.all(Array.from({ length: 10 }, async () => {
          const c = await clients.connect(fx.port);
          expectCode(await c.reply(), 220);
          await c.authTls('on-first-byte');
          expectCode(await c.cmd('NOOP'), 200);
          assert.ok(!c.transcript.some((l) => /^50[02]/.test(l)), `a ClientHello was read as a command: ${c.transcript.join(' | ')}`);
          ok++;
          c.destroy();
        }));
      }
      assert.equal(ok, rounds);
    });

    it('wins the AUTH TLS race: a ClientHello sent right behind AUTH TLS, before 234, handshakes (defect 1)', async () => {
      const rounds = 40;
      let ok = 0;
      for (let batch = 0; batch < rounds / 10; batch++) {
        await Promise.all(Array.from({ length: 10 }, async () => {
          const c = await clients.connect(fx.port);
          expectCode(await c.reply(), 220);
          await c.authTls('immediately');
          expectCode(await c.cmd('NOOP'), 200);
          assert.ok(!c.transcript.some((l) => /^50[02]/.test(l)), `a ClientHello was read as a command: ${c.transcript.join(' | ')}`);
          ok++;
          c.destroy();
        }));
      }
      assert.equal(ok, rounds);
    });

    it('implicit FTPS: plaintext gets no FTP reply; data still needs PBSZ 0 + PROT P', async () => {
      const plain = await clients.connect(fx.implicitPort as number);
      await plain.write(`USER ${ADMIN_LOGIN}\r\n`);
      assert.ok(await plain.waitClosed(), 'plaintext on the implicit port must end the connection');
      assert.deepEqual(plain.transcript.filter((l) => /^\d{3}/.test(l)), [], 'no FTP reply in clear text');

      const t = tls.connect({ host: '127.0.0.1', port: fx.implicitPort as number, rejectUnauthorized: false });
      let text = '';
      t.on('data', (d: Buffer) => { text += d.toString(); });
      const next = async (line: string | null, code: number): Promise<void> => {
        const start = text.length;
        if (line !== null) t.write(`${line}\r\n`);
        for (let i = 0; i < 100 && !/\r\n$/.test(text.slice(start)); i++) await sleep(20);
        assert.match(text.slice(start), new RegExp(`^${code} `), `${line ?? 'greeting'}: ${text.slice(start)}`);
      };
      await new Promise<void>((resolve, reject) => { t.once('secureConnect', () => resolve()); t.once('error', reject); });
      await next(null, 220);
      await next(`USER ${ADMIN_LOGIN}`, 331);
      await next(`PASS ${ADMIN_PASSWORD}`, 230);
      await next('PASV', 521);
      await next('PBSZ 0', 200);
      await next('PROT P', 200);
      await next('PASV', 227);
      t.destroy();
    });

    it('answers every data command with 521 until PBSZ 0 and PROT P; PROT C/S/E are refused', async () => {
      const c = await clients.login(fx, ADMIN_LOGIN, ADMIN_PASSWORD, { protect: false });
      const data = ['PASV', 'EPSV', 'LIST', 'NLST', 'RETR legit.zip', 'STOR new.zip', 'PORT 127,0,0,1,156,64', 'EPRT |1|127.0.0.1|40000|'];
      for (const cmd of data) expectCode(await c.cmd(cmd), 521);
      expectCode(await c.cmd('PROT P'), 503); // PBSZ first
      for (const cmd of data) expectCode(await c.cmd(cmd), 521);
      expectCode(await c.cmd('PBSZ 0'), 200);
      for (const cmd of data) expectCode(await c.cmd(cmd), 521);
      expectCode(await c.cmd('PROT C'), 534);
      for (const cmd of data) expectCode(await c.cmd(cmd), 521);
      expectCode(await c.cmd('PROT S'), 536);
      expectCode(await c.cmd('PROT E'), 536);
      expectCode(await c.cmd('PROT X'), 504);
      expectCode(await c.cmd('PASV'), 521);
      expectCode(await c.cmd('PROT P'), 200);
      assert.deepEqual(await names(c), ['domains', 'force', 'legit.zip', 'results', 'validate']);
    });

    it('keeps ../, /../../etc, absolute paths and backslashes inside the user\'s folder (defects 9, 11)', async () => {
      const c = await clients.login(fx);
      const own = ['domains', 'force', 'legit.zip', 'results', 'validate'];
      expectCode(await c.cmd('CWD ..'), 250);
      assert.match((await c.cmd('PWD')).text, /^257 "\/"/);
      expectCode(await c.cmd('CWD /../../..'), 250);
      assert.match((await c.cmd('PWD')).text, /^257 "\/"/);
      assert.deepEqual(await names(c), own);
      assert.deepEqual(await names(c, '..'), own);
      assert.deepEqual(await names(c, '../../'), own);
      assert.deepEqual(await names(c, '/../../..'), own);
      // clamped, not escaped: /../legit.zip is our own /legit.zip
      const clamped = await transfer(c, 'RETR /../../legit.zip');
      assert.equal(clamped.data?.toString(), 'legit');

      for (const p of ['../other/secret.zip', '/../../other/secret.zip', '../../outside.zip', '../../../../../../etc/passwd', '/etc/passwd', '/etc/hostname',
        '..\\other\\secret.zip', '\\etc\\passwd', 'validate/../../other/secret.zip', 'results/../../../outside.zip', `${fx.dropRoot}/other/secret.zip`,
        `${fx.dataDir}/outside.zip`, '../drop/other/secret.zip', 'legit.zip\u0000.txt']) {
        const r = await transfer(c, `RETR ${p}`);
        assert.equal(r.first.code, 550, `RETR ${p}: ${r.first.text}`);
        for (const cmd of ['SIZE', 'MDTM']) assert5xx(await c.cmd(`${cmd} ${p}`), `${cmd} ${p}`);
        assert5xx(await c.cmd(`DELE ${p}`), `DELE ${p}`);
        assert5xx(await c.cmd(`CWD ${p}`), `CWD ${p}`);
        assert.ok((await transfer(c, `NLST ${p}`)).first.code >= 500, `NLST ${p}`);
      }
      for (const p of ['..\\..', '\\', '..\\other']) assert5xx(await c.cmd(`CWD ${p}`), `CWD ${p}`);
      for (const p of ['../other/evil.zip', '../../../../../../tmp/evil.zip', '/tmp/evil.zip', '..\\evil.zip', '..\\..\\evil.zip', '\\evil.zip',
        `${fx.dataDir}/evil.zip`, `${fx.dropRoot}/evil.zip`, '../drop/evil.zip', '/domains/other/evil.zip', '/domains/../../evil.zip/x.zip']) {
        const r = await transfer(c, `STOR ${p}`, { upload: Buffer.from('evil') });
        assert.ok(r.first.code >= 500, `STOR ${p}: ${r.first.text}`);
      }
      // clamped, not escaped: these name the user's own /evil.zip
      for (const p of ['../../evil.zip', '/../evil.zip', 'validate/../../evil.zip']) {
        expectCode(await upload(c, p, Buffer.from('clamped')), 226);
        assert.equal(fs.readFileSync(path.join(domainDir(fx, 'district'), 'evil.zip'), 'utf8'), 'clamped');
        expectCode(await c.cmd('DELE /evil.zip'), 250);
      }
      assert.equal(fs.readFileSync(path.join(domainDir(fx, 'other'), 'secret.zip'), 'utf8'), 'other secret');
      assert.equal(fs.readFileSync(path.join(fx.dataDir, 'outside.zip'), 'utf8'), 'outside zip');
      assert.ok(!visibleFiles(domainDir(fx, 'other')).includes('evil.zip'));
      assert.ok(!fs.existsSync(path.join(fx.dataDir, 'evil.zip')) && !fs.existsSync(path.join(fx.dropRoot, 'evil.zip')) && !fs.existsSync('/tmp/evil.zip'));
      assert.deepEqual(fx.uploads.map((u) => [u.userspace, u.name]), [['district', 'evil.zip'], ['district', 'evil.zip'], ['district', 'evil.zip']]);
      fx.uploads.length = 0;
      await assertAlive(c, 'after the escapes');
    });

    it('never lists or follows symlinks inside the user\'s folder; the targets outside stay untouched (defect 11)', async () => {
      const c = await clients.login(fx);
      const district = domainDir(fx, 'district');
      assert.deepEqual(await names(c), ['domains', 'force', 'legit.zip', 'results', 'validate']);
      const long = await listing(c);
      assert.doesNotMatch(long, /link/);
      assert.deepEqual(await names(c, 'validate'), []);
      for (const p of ['link.zip', 'link-up.zip', 'linkdir/secret.zip', 'validate/vlink.zip', '/link.zip']) {
        assert.equal((await transfer(c, `RETR ${p}`)).first.code, 550, `RETR ${p}`);
        assert5xx(await c.cmd(`SIZE ${p}`), `SIZE ${p}`);
        assert5xx(await c.cmd(`MDTM ${p}`), `MDTM ${p}`);
        assert5xx(await c.cmd(`DELE ${p}`), `DELE ${p}`);
        assert.ok((await transfer(c, `STOR ${p}`, { upload: Buffer.from('overwritten') })).first.code >= 500, `STOR ${p}`);
        assert.ok((await transfer(c, `LIST ${p}`)).first.code >= 500, `LIST ${p}`);
      }
      assert5xx(await c.cmd('CWD linkdir'), 'CWD linkdir');
      assert.ok((await transfer(c, 'NLST linkdir')).first.code >= 500);
      // links and targets as they were
      for (const l of ['link.zip', 'link-up.zip', 'linkdir', 'validate/vlink.zip']) assert.ok(fs.lstatSync(path.join(district, l)).isSymbolicLink(), l);
      assert.equal(fs.readFileSync(outsideTarget, 'utf8'), 'outside target');
      assert.equal(fs.readFileSync(path.join(domainDir(fx, 'other'), 'secret.zip'), 'utf8'), 'other secret');
      assert.deepEqual(fs.readdirSync(outside), ['target.zip']);
      assert.deepEqual(hiddenFiles(district), []);
      assert.equal(fx.uploads.length, 0);
    });

    it('treats a domain folder area that is a symlink as absent: nothing is written through it (defect 11)', async () => {
      const otherDir = domainDir(fx, 'other');
      fs.rmSync(path.join(otherDir, 'validate'), { recursive: true, force: true });
      fs.symlinkSync(outside, path.join(otherDir, 'validate'));
      try {
        const c = await clients.login(fx, 'other/admin', 'other-password');
        const r = await transfer(c, 'STOR validate/through.zip', { upload: Buffer.from('through the link') });
        assert.ok(r.first.code >= 500, r.first.text);
        assert.ok((await transfer(c, 'NLST validate')).first.code >= 500);
        assert.equal((await transfer(c, 'RETR validate/target.zip')).first.code, 550);
        assert5xx(await c.cmd('DELE validate/target.zip'), 'DELE through a linked area');
        assert.deepEqual(fs.readdirSync(outside), ['target.zip']);
        assert.equal(fs.readFileSync(outsideTarget, 'utf8'), 'outside target');
      } finally {
        fs.unlinkSync(path.join(otherDir, 'validate'));
        fs.mkdirSync(path.join(otherDir, 'validate'));
      }
    });

    it('keeps every domain out of the others\' folders, and a subdomain out of its parent\'s', async () => {
      const district = await clients.login(fx);
      assert.deepEqual(await names(district, '/domains'), ['school-a']);
      assert.deepEqual(await names(district, '/domains/school-a'), ['force', 'results', 'school.zip', 'validate']);
      assert.equal((await transfer(district, 'RETR /domains/school-a/school.zip')).data?.toString(), 'school');
      for (const p of ['/domains/other', '/domains/other/', '/domains/../other', '/other', '../other', '/domains/school-a/../../other', 'domains/district']) {
        assert5xx(await district.cmd(`CWD ${p}`), `CWD ${p}`);
      }
      assert.equal((await transfer(district, 'RETR /domains/other/secret.zip')).first.code, 550);
      assert.ok((await transfer(district, 'STOR /domains/other/x.zip', { upload: Buffer.from('x') })).first.code >= 500);
      assert5xx(await district.cmd('DELE /domains/other/secret.zip'), 'DELE in another domain');

      const school = await clients.login(fx, 'school-a/admin', 'school-password');
      assert.deepEqual(await names(school), ['force', 'results', 'school.zip', 'validate']);
      assert.deepEqual(await names(school, '..'), ['force', 'results', 'school.zip', 'validate']);
      for (const p of ['/domains', '/domains/district', '../district', '/district', '../../district']) {
        assert5xx(await school.cmd(`CWD ${p}`), `school-a CWD ${p}`);
        assert.ok((await transfer(school, `NLST ${p}`)).first.code >= 500, `school-a NLST ${p}`);
      }
      for (const p of ['../legit.zip', '/domains/district/legit.zip', '../district/legit.zip', '../../district/legit.zip']) {
        assert.equal((await transfer(school, `RETR ${p}`)).first.code, 550, `school-a RETR ${p}`);
        assert5xx(await school.cmd(`DELE ${p}`), `school-a DELE ${p}`);
      }
      assert.ok((await transfer(school, 'STOR ../district/up.zip', { upload: Buffer.from('x') })).first.code >= 500);
      assert.ok((await transfer(school, 'STOR /domains/district/up.zip', { upload: Buffer.from('x') })).first.code >= 500);

      const other = await clients.login(fx, 'other/admin', 'other-password');
      for (const p of ['../district/legit.zip', '/domains/school-a/school.zip', '/domains/district/legit.zip']) {
        assert.equal((await transfer(other, `RETR ${p}`)).first.code, 550, `other RETR ${p}`);
      }
      assert.equal(fs.readFileSync(path.join(domainDir(fx, 'district'), 'legit.zip'), 'utf8'), 'legit');
      assert.equal(fs.readFileSync(path.join(domainDir(fx, 'school-a'), 'school.zip'), 'utf8'), 'school');
      assert.ok(!fs.existsSync(path.join(domainDir(fx, 'district'), 'up.zip')));
      assert.ok(!fs.existsSync(path.join(domainDir(fx, 'other'), 'x.zip')));
      assert.equal(fx.uploads.length, 0);
    });

    it('refuses SITE CHMOD, MKD, RMD, RNFR/RNTO, APPE, STOU: modes and folders never change (defect 10)', async () => {
      const c = await clients.login(fx);
      expectCode(await upload(c, 'mode.zip', Buffer.from('PK mode')), 226);
      const file = path.join(domainDir(fx, 'district'), 'mode.zip');
      const mode = fs.statSync(file).mode & 0o7777;
      assert.equal(mode & 0o7111, 0, `an upload is not executable or setuid: ${mode.toString(8)}`);
      for (const cmd of ['SITE CHMOD 4777 mode.zip', 'SITE CHMOD 777 legit.zip', 'SITE CHMOD 6777 /mode.zip', 'SITE UMASK 000', 'SITE EXEC sh', 'CHMOD 777 mode.zip',
        'MKD evil', 'XMKD evil', 'MKD /domains/other/evil', 'RMD validate', 'XRMD results', 'RNFR mode.zip', 'RNTO moved.zip', 'APPE mode.zip', 'STOU', 'REST 100', 'ALLO 10']) {
        const r = await c.cmd(cmd);
        assert5xx(r, cmd);
        assert.doesNotMatch(r.text, /\//, `${cmd}: the reply names no path: ${r.text}`);
      }
      assert.equal(fs.statSync(file).mode & 0o7777, mode);
      assert.equal(fs.statSync(path.join(domainDir(fx, 'district'), 'legit.zip')).mode & 0o7000, 0);
      assert.ok(!fs.existsSync(path.join(domainDir(fx, 'district'), 'evil')));
      assert.ok(fs.statSync(path.join(domainDir(fx, 'district'), 'validate')).isDirectory());
      assert.ok(fs.existsSync(file) && !fs.existsSync(path.join(domainDir(fx, 'district'), 'moved.zip')));
      expectCode(await c.cmd('DELE mode.zip'), 250);
      fx.uploads.length = 0;
    });

    it('drops a data connection from another address before TLS; the victim\'s upload still succeeds (defect 5)', async () => {
      const victim = await clients.login(fx);
      const port = await pasv(victim);
      const attack = await attemptData(port, { localAddress: '127.0.0.2', payload: Buffer.from('stolen slot') });
      assert.equal(attack.secured, false, 'the foreign connection must not get a TLS handshake');
      assert.equal(attack.bytesReceived, 0, 'not a byte (no ServerHello) for the foreign address');
      assert.equal(attack.closed, true, 'the server drops the foreign connection');
      const content = Buffer.alloc(100_000, 'v');
      await victim.send('STOR theft.zip');
      const data = await DataConn.open(port, { session: victim.session });
      expectCode(await victim.reply(), 150);
      await data.write(content);
      await data.end();
      expectCode(await victim.reply(), 226);
      assert.equal(fx.uploads.length, 1);
      assert.equal(fx.uploads[0].sha256, sha256(content));
      assert.ok(fs.readFileSync(path.join(domainDir(fx, 'district'), 'theft.zip')).equals(content));
      // and the same again while the victim waits for its data connection after STOR
      const port2 = await pasv(victim);
      await victim.send('STOR theft2.zip');
      const attack2 = await attemptData(port2, { localAddress: '127.0.0.2', payload: Buffer.from('stolen slot') });
      assert.equal(attack2.secured, false);
      assert.equal(attack2.bytesReceived, 0);
      const data2 = await DataConn.open(port2, { session: victim.session });
      expectCode(await victim.reply(), 150);
      await data2.write(content);
      await data2.end();
      expectCode(await victim.reply(), 226);
      assert.ok(fs.readFileSync(path.join(domainDir(fx, 'district'), 'theft2.zip')).equals(content));
      for (const f of ['theft.zip', 'theft2.zip']) expectCode(await victim.cmd(`DELE ${f}`), 250);
      fx.uploads.length = 0;
    });

    it('discards a truncated upload (TCP closed without close_notify): no file, no temp file, no sink call, a 4xx (defect 16)', async () => {
      const c = await clients.login(fx);
      const dir = domainDir(fx, 'district');
      for (const sent of [150_000, 1, 0]) {
        const port = await pasv(c);
        await c.send('STOR truncated.zip');
        const data = await DataConn.open(port, { session: c.session });
        expectCode(await c.reply(), 150);
        if (sent) await data.write(Buffer.alloc(sent, 'z'));
        await data.truncate();
        const r = await c.reply();
        assert.ok(r.code >= 400 && r.code < 500, `after ${sent} bytes: expected a 4xx, got ${r.text}`);
        assert.ok(!visibleFiles(dir).includes('truncated.zip'), `after ${sent} bytes the file must not appear`);
        assert.deepEqual(hiddenFiles(dir), [], 'no temp file remains');
        assert.equal(fx.uploads.length, 0, 'the sink must not be called');
        await assertAlive(c, 'after a truncated upload');
      }
      // a broken TLS record followed by FIN is no better
      const port = await pasv(c);
      await c.send('STOR truncated.zip');
      const data = await DataConn.open(port, { session: c.session });
      expectCode(await c.reply(), 150);
      await data.write(Buffer.alloc(30_000, 'z'));
      await new Promise<void>((resolve) => data.raw.write(Buffer.from([0x17, 0x03, 0x03, 0x40, 0x00, 1, 2, 3]), () => resolve()));
      await data.truncate();
      assert.ok((await c.reply()).code >= 400);
      assert.ok(!visibleFiles(dir).includes('truncated.zip'));
      assert.deepEqual(hiddenFiles(dir), []);
      assert.equal(fx.uploads.length, 0);
    });

    it('never takes a fast complete upload (data, close_notify and FIN back to back) for a truncated one (defect 16)', async () => {
      // The flip side of the truncation check: a client that sends everything at once, before the
      // server has even opened its temp file, must get 226 every time (it once hung or got 426).
      const c = await clients.login(fx);
      const dir = domainDir(fx, 'district');
      const results: string[] = [];
      for (let i = 0; i < 24; i++) {
        const content = Buffer.alloc([7, 20_000, 100_000, 250_000][i % 4], i);
        const port = await pasv(c);
        await c.send(`STOR fast-${i}.zip`);
        const data = await DataConn.open(port, { session: c.session });
        await data.write(content);
        await data.end();
        const replies = [await c.reply(), await c.reply()];
        results.push(`${content.length}:${replies.map((r) => r.code).join('/')}`);
        if (replies[1].code === 226) assert.ok(fs.readFileSync(path.join(dir, `fast-${i}.zip`)).equals(content));
      }
      assert.deepEqual(results.filter((r) => !r.endsWith(':150/226')), [], results.join(' '));
      assert.equal(fx.uploads.length, 24);
      for (let i = 0; i < 24; i++) fs.unlinkSync(path.join(dir, `fast-${i}.zip`));
      fx.uploads.length = 0;
    });

    it('refuses an upload over maxUploadBytes with 552 and leaves nothing; exactly the limit is accepted', async () => {
      const c = await clients.login(fx);
      const dir = domainDir(fx, 'district');
      const r = await transfer(c, 'STOR big.zip', { upload: Buffer.alloc(fx.config.maxUploadBytes + 1, 'b') });
      expectCode(r.first, 150);
      expectCode(r.final as FtpReply, 552);
      assert.ok(!visibleFiles(dir).includes('big.zip'));
      assert.deepEqual(hiddenFiles(dir), []);
      assert.equal(fx.uploads.length, 0);
      const huge = await transfer(c, 'STOR big.zip', { upload: Buffer.alloc(4 * fx.config.maxUploadBytes, 'b') });
      expectCode(huge.final as FtpReply, 552);
      assert.ok(!visibleFiles(dir).includes('big.zip'));
      assert.deepEqual(hiddenFiles(dir), []);
      await assertAlive(c, 'after 552');
      expectCode(await upload(c, 'big.zip', Buffer.alloc(fx.config.maxUploadBytes, 'b')), 226);
      assert.equal(fs.statSync(path.join(dir, 'big.zip')).size, fx.config.maxUploadBytes);
      expectCode(await c.cmd('DELE big.zip'), 250);
      fx.uploads.length = 0;
    });

    it('takes passwords verbatim: quotes, spaces, -x words and leading spaces (defect 13)', async () => {
      const district = await fx.db.ds.getRepository(Domain).findOneByOrFail({ userspace: 'district' });
      const odd = `  lead "quoted" -x --y 'single' \\back trail  `;
      await createUser(fx.db.ds, { domainId: district.id, username: 'odd name', admin: true, password: odd });
      (await clients.login(fx)).destroy();
      (await clients.login(fx, 'district/odd name', odd)).destroy();
      // what stock ftp-srv's parser made of them is not the password
      for (const [login, mangled] of [[ADMIN_LOGIN, ADMIN_PASSWORD.replace(/"/g, '')], [ADMIN_LOGIN, ADMIN_PASSWORD.replace(' -x', '')],
        ['district/odd name', odd.trim()], ['district/odd name', odd.replace(/"/g, '')]]) {
        const c = await clients.secure(fx.port);
        expectCode(await c.cmd(`USER ${login}`), 331);
        expectCode(await c.cmd(`PASS ${mangled}`), 530);
        c.destroy();
      }
    });

    it('never logs a password, successful or not (defect 14)', async () => {
      const wrong = 'Wr0ng-"secret" -x sentinel-7731';
      (await clients.login(fx)).destroy();
      (await clients.login(fx, 'school-a/admin', 'school-password')).destroy();
      for (const [login, password] of [[ADMIN_LOGIN, wrong], ['district/teacher', 'teacher-password'], ['nobody/admin', wrong]]) {
        const c = await clients.secure(fx.port);
        await c.cmd(`USER ${login}`);
        expectCode(await c.cmd(`PASS ${password}`), 530);
        c.destroy();
      }
      await sleep(50);
      const text = log.lines.join('');
      assert.match(text, /login failed/, 'failed logins are logged');
      assert.match(text, /"login":"district\/admin"/, 'logins are logged by name');
      for (const secret of [ADMIN_PASSWORD, wrong, 'teacher-password', 'school-password', 'sentinel-7731', 'w0rd -x']) {
        assert.ok(!text.includes(secret), `the log contains ${secret}`);
        assert.ok(!text.includes(JSON.stringify(secret).slice(1, -1)), `the log contains ${secret} (JSON-escaped)`);
      }
      assert.doesNotMatch(text, /PASS /);
    });

    it('closes the connection with 500 on a command line over 4096 bytes; 4000 bytes is fine (defect 12)', async () => {
      const plain = await clients.connect(fx.port);
      expectCode(await plain.reply(), 220);
      await plain.write('A'.repeat(5000));
      expectCode(await plain.reply(), 500);
      assert.ok(await plain.waitClosed());

      const plainLine = await clients.connect(fx.port);
      expectCode(await plainLine.reply(), 220);
      await plainLine.write(`NOOP ${'x'.repeat(4100)}\r\n`);
      expectCode(await plainLine.reply(), 500);
      assert.ok(await plainLine.waitClosed());

      const c = await clients.login(fx);
      expectCode(await c.cmd(`SIZE ${'a'.repeat(4000)}.zip`), 550);
      for (let i = 0; i < 5; i++) await c.write('b'.repeat(1000)).catch(() => undefined); // in pieces, never a line end
      expectCode(await c.reply(), 500);
      assert.ok(await c.waitClosed());
    });

    it('assembles commands split across TCP segments and runs pipelined ones in order', async () => {
      const plain = await clients.connect(fx.port);
      expectCode(await plain.reply(), 220);
      await plain.write('FE');
      await sleep(30);
      await plain.write('AT\r');
      await sleep(30);
      await plain.write('\n');
      expectCode(await plain.reply(), 211);
      await plain.write('NOOP\r\nSYST\nHELP\r\n');
      assert.deepEqual([(await plain.reply()).code, (await plain.reply()).code, (await plain.reply()).code], [200, 215, 214]);

      const c = await clients.secure(fx.port);
      const user = `USER ${ADMIN_LOGIN}\r\n`;
      const pass = `PASS ${ADMIN_PASSWORD}\r\n`;
      for (const piece of [user.slice(0, 3), user.slice(3, 9), user.slice(9), pass.slice(0, 6), pass.slice(6, 12), pass.slice(12, -1), pass.slice(-1)]) {
        await c.write(piece);
        await sleep(20);
      }
      expectCode(await c.reply(), 331);
      expectCode(await c.reply(), 230);
      await c.write('PBSZ 0\r\nPROT P\r\nPWD\r\nCWD validate\r\nPWD\r\nCDUP\r\nNOOP\r\n');
      const codes: number[] = [];
      for (let i = 0; i < 7; i++) codes.push((await c.reply()).code);
      assert.deepEqual(codes, [200, 200, 257, 250, 257, 250, 200]);
      assert.match(c.transcript.filter((l) => l.startsWith('257')).join('|'), /^257 "\/"[^|]*\|257 "\/validate"/);
    });

    it('answers commands with a missing argument with a 5xx, never silence or a crash (defect 12)', async () => {
      const plain = await clients.connect(fx.port);
      expectCode(await plain.reply(), 220);
      for (const cmd of ['AUTH', 'AUTH ', '', ' ', 'PORT', 'OPTS', 'SITE']) assert5xx(await plain.cmd(cmd), `plaintext ${JSON.stringify(cmd)}`);
      await assertAlive(plain, 'plaintext');

      const pre = await clients.secure(fx.port);
      for (const cmd of ['OPTS', 'OPTS ', 'PBSZ', 'PROT', 'PROT ', 'PASS', 'AUTH', 'CLNT x']) {
        const r = await pre.cmd(cmd);
        if (cmd === 'CLNT x') expectCode(r, 200);
        else assert5xx(r, `before login ${cmd}`);
      }
      await assertAlive(pre, 'before login');

      const c = await clients.login(fx);
      for (const cmd of ['PORT', 'PORT ', 'EPRT', 'OPTS', 'OPTS UTF8', 'OPTS FOO BAR', 'SITE', 'SITE ', 'SITE CHMOD', 'SITE CHMOD 777', 'CWD', 'CWD ', 'XCWD', 'DELE', 'DELE ',
        'STOR', 'STOR ', 'RETR', 'SIZE', 'MDTM', 'TYPE', 'TYPE Z', 'MODE', 'MODE Z', 'STRU', 'STRU R', 'PROT', 'PBSZ', 'AUTH', 'USER', 'PASS', 'RNFR', 'RNTO', 'MKD', 'RMD',
        'APPE', 'STOU', 'REST', '', '\u0000\u00ff\u00fe', 'PORT 1,2,3', 'PORT a,b,c,d,e,f', 'EPRT ||||', 'EPRT |9|127.0.0.1|4000|']) {
        const r = await c.cmd(cmd);
        assert5xx(r, JSON.stringify(cmd));
      }
      await assertAlive(c, 'after the bad commands');
      expectCode(await c.cmd('OPTS UTF8 ON'), 200);
      expectCode(await c.cmd('TYPE I'), 200);
      assert.deepEqual(await names(c), ['domains', 'force', 'legit.zip', 'results', 'validate']);
    });

    it('never names a server path or a Node error in any reply of this suite (defect 9)', () => {
      const all = clients.transcripts().join('\n');
      assert.ok(all.length > 1000, 'the suite produced replies');
      for (const leak of [fx.dataDir, fx.dropRoot, os.tmpdir() + '/', 'ENOENT', 'EACCES', 'ELOOP', 'EEXIST', 'ENOTDIR', 'EISDIR', 'EPERM', 'Error:', ' at ']) {
        assert.ok(!all.includes(leak), `a reply contains ${JSON.stringify(leak)}: ${all.split('\n').find((l) => l.includes(leak)) ?? ''}`);
      }
    });
  });

  describe('failed logins: delay, per-connection limit, ban, allow-list (defect 8)', { concurrency: 1 }, () => {
    let fx: FtpsFixture;
    const clients = new Clients();
    const delay = 300;
    // long enough that the refusals below fit on a loaded CI machine
    const banMs = 5000;
    before(async () => {
      fx = await fixture({
        implicitPort: 0,
        login: { failureDelayMs: delay, maxFailuresPerConnection: 3, banAfterFailures: 5, banWindowMs: 60_000, banDurationMs: banMs, allowList: ['127.0.0.3'] },
      });
    });
    afterEach(() => clients.closeAll());
    after(async () => { await fx?.stop(); });

    async function fail(c: RawFtp, login: string, password: string): Promise<{ user: FtpReply; pass: FtpReply; ms: number }> {
      const user = await c.cmd(`USER ${login}`);
      const t0 = process.hrtime.bigint();
      const pass = await c.cmd(`PASS ${password}`);
      return { user, pass, ms: elapsedSince(t0) };
    }

    it('delays every failure by failureDelayMs and closes the connection after 3', async () => {
      const c = await clients.secure(fx.port, '127.0.0.4');
      for (let i = 1; i <= 3; i++) {
        const r = await fail(c, ADMIN_LOGIN, `wrong-${i}`);
        expectCode(r.pass, 530);
        assert.ok(r.ms >= delay - 2, `failure ${i} answered after ${r.ms.toFixed(0)} ms, before the ${delay} ms delay`);
        if (i < 3) await assertAlive(c, `after failure ${i}`);
      }
      expectCode(await c.reply(), 421);
      assert.ok(await c.waitClosed(), 'the connection is closed after the third failure');
    });

    it('answers unknown user, wrong password, non-administrator and malformed logins identically', async () => {
      const cases: Array<[string, string, string]> = [
        ['unknown user', 'district/nobody', 'whatever'],
        ['wrong password', ADMIN_LOGIN, 'not-the-password'],
        ['not an administrator (right password)', 'district/teacher', 'teacher-password'],
        ['unknown domain', 'nowhere/admin', 'other-password'],
        ['no domain', 'admin', 'school-password'],
      ];
      const seen: Array<{ what: string; user: string; pass: string; after: string }> = [];
      for (const [i, [what, login, password]] of cases.entries()) {
        const c = await clients.secure(fx.port, i < 3 ? '127.0.0.5' : '127.0.0.6');
        const r = await fail(c, login, password);
        assert.ok(r.ms >= delay - 2, `${what}: answered after ${r.ms.toFixed(0)} ms`);
        seen.push({ what, user: r.user.text, pass: r.pass.text, after: (await c.cmd('PWD')).text });
        c.destroy();
      }
      for (const s of seen.slice(1)) {
        assert.deepEqual({ user: s.user, pass: s.pass, after: s.after }, { user: seen[0].user, pass: seen[0].pass, after: seen[0].after }, `${s.what} vs ${seen[0].what}`);
      }
      assert.match(seen[0].pass, /^530 /);
    });

    it('bans an IP after banAfterFailures failures until banDurationMs; refused connections do not extend it; other IPs are unaffected', async () => {
      const ip = '127.0.0.2';
      const first = await clients.secure(fx.port, ip);
      for (let i = 0; i < 3; i++) expectCode((await fail(first, ADMIN_LOGIN, `guess-${i}`)).pass, 530);
      assert.ok(await first.waitClosed());
      const second = await clients.secure(fx.port, ip);
      expectCode((await fail(second, ADMIN_LOGIN, 'guess-3')).pass, 530);
      await assertAlive(second, 'after the fourth failure');
      const t0 = Date.now(); // the ban starts when the server has checked this fifth guess: after t0
      expectCode((await fail(second, ADMIN_LOGIN, 'guess-4')).pass, 530);
      const t1 = Date.now(); // ... and before this reply
      expectCode(await second.reply(), 421);
      assert.ok(await second.waitClosed());

      // another IP logs in while this one is banned
      const other = await clients.login(fx, 'other/admin', 'other-password', { localAddress: '127.0.0.1' });
      other.destroy();

      // Refusals spread over the ban; the login after the ban proves that none extended it. The
      // ban ends between t0 + banMs and t1 + banMs: a connection answered before t0 + banMs must
      // be refused; one answered later may be either, and ends the loop (a slow machine fits in
      // fewer refusals, not wrong ones).
      let refused = 0;
      for (;;) {
        const c = await clients.connect(fx.port, ip);
        const r = await c.reply();
        if (Date.now() >= t0 + banMs) break;
        assert.equal(r.code, 421, `during the ban: ${r.text}`);
        assert.match(r.text, /failed logins/i);
        assert.ok(await c.waitClosed());
        const implicit = await attemptData(fx.implicitPort as number, { localAddress: ip, timeoutMs: 1000 });
        assert.deepEqual([implicit.secured, implicit.bytesReceived], [false, 0], 'the implicit port refuses without a plaintext reply');
        refused++;
        await sleep(200);
      }
      assert.ok(refused >= 1, `refused ${refused} connections during the ban`);
      await sleep(Math.max(0, t1 + banMs + 200 - Date.now()));
      const back = await clients.login(fx, ADMIN_LOGIN, ADMIN_PASSWORD, { localAddress: ip });
      await assertAlive(back, 'after the ban');
    });

    it('never bans an allow-listed IP (but still closes after 3 failures per connection)', async () => {
      const ip = '127.0.0.3';
      for (let round = 0; round < 2; round++) {
        const c = await clients.secure(fx.port, ip);
        for (let i = 0; i < 3; i++) expectCode((await fail(c, ADMIN_LOGIN, `allowed-guess-${i}`)).pass, 530);
        expectCode(await c.reply(), 421);
        assert.ok(await c.waitClosed());
      }
      const c = await clients.login(fx, ADMIN_LOGIN, ADMIN_PASSWORD, { localAddress: ip });
      await assertAlive(c, 'allow-listed after 6 failures');
    });
  });

  describe('connection limits (defect 8)', { concurrency: 1 }, () => {
    let fx: FtpsFixture;
    let stopped = false;
    const clients = new Clients();
    before(async () => { fx = await fixture({ connections: { maxConnections: 3, maxConnectionsPerIp: 2 } }); });
    afterEach(() => clients.closeAll());
    after(async () => { if (!stopped) await fx?.stop(); });

    it('refuses with 421 over the per-IP and the global limit, and admits again when a connection ends', async () => {
      const a1 = await clients.connect(fx.port, '127.0.0.1');
      expectCode(await a1.reply(), 220);
      const a2 = await clients.connect(fx.port, '127.0.0.1');
      expectCode(await a2.reply(), 220);
      const a3 = await clients.connect(fx.port, '127.0.0.1');
      const r3 = expectCode(await a3.reply(), 421);
      assert.match(r3.text, /from your address/);
      assert.ok(await a3.waitClosed());

      const b1 = await clients.connect(fx.port, '127.0.0.2');
      expectCode(await b1.reply(), 220);
      const c1 = await clients.connect(fx.port, '127.0.0.3');
      const rc = expectCode(await c1.reply(), 421);
      assert.match(rc.text, /Too many connections/);
      assert.ok(await c1.waitClosed());
      assert.equal(fx.server.connectionCount, 3, 'refused connections are not counted');

      a1.destroy();
      let admitted: FtpReply | null = null;
      for (let i = 0; i < 40 && admitted?.code !== 220; i++) {
        await sleep(50);
        const c = await clients.connect(fx.port, '127.0.0.3');
        admitted = await c.reply();
        if (admitted.code !== 220) c.destroy();
      }
      expectCode(admitted as FtpReply, 220);
      // logged-in sessions count the same
      await b1.authTls();
      expectCode(await b1.cmd('USER other/admin'), 331);
      expectCode(await b1.cmd('PASS other-password'), 230);
      const b2 = await clients.connect(fx.port, '127.0.0.2');
      expectCode(await b2.reply(), 421);

      // refused sockets are closed once their clients go, not left open: stop() completes
      clients.closeAll();
      stopped = true;
      let timer: NodeJS.Timeout | undefined;
      const outcome = await Promise.race([
        fx.stop().then(() => 'stopped'),
        new Promise<string>((resolve) => { timer = setTimeout(() => resolve('stop() still waiting for connections after 5 s'), 5000); }),
      ]);
      clearTimeout(timer);
      assert.equal(outcome, 'stopped');
    });
  });

  describe('transfer timeouts (defect 7)', { concurrency: 1 }, () => {
    let fx: FtpsFixture;
    const clients = new Clients();
    // the slow upload below writes every stallMs / 20: a machine would have to stall the test for
    // 2 s to cut it; the idle timeout stays above the stall timeout, as in the defaults
    const stallMs = 2000;
    const idleMs = 3000;
    before(async () => { fx = await fixture({ timeouts: { transferStallMs: stallMs, idleMs, dataConnectMs: 1000 } }); });
    afterEach(() => clients.closeAll());
    after(async () => { await fx?.stop(); });

    it('cuts a stalled upload after transferStallMs and discards it', async () => {
      const c = await clients.login(fx);
      const dir = domainDir(fx, 'district');
      const port = await pasv(c);
      await c.send('STOR stalled.zip');
      const data = await DataConn.open(port, { session: c.session });
      expectCode(await c.reply(), 150);
      await data.write(Buffer.alloc(20_000, 's'));
      const t0 = process.hrtime.bigint();
      const r = await c.reply();
      const ms = elapsedSince(t0);
      assert.ok(r.code >= 400 && r.code < 500, r.text);
      assert.ok(ms >= stallMs - 50, `cut after ${ms.toFixed(0)} ms, before the stall timeout`);
      assert.ok(!visibleFiles(dir).includes('stalled.zip'));
      assert.deepEqual(hiddenFiles(dir), []);
      assert.equal(fx.uploads.length, 0);
      data.destroy();
      await assertAlive(c, 'after the stall');
    });

    it('does not cut a slow upload that keeps moving for longer than idleMs', async () => {
      const c = await clients.login(fx);
      const port = await pasv(c);
      await c.send('STOR slow.zip');
      const data = await DataConn.open(port, { session: c.session });
      expectCode(await c.reply(), 150);
      const chunks: Buffer[] = [];
      const started = Date.now();
      for (let i = 0; Date.now() - started < idleMs + 1000; i++) {
        const chunk = Buffer.alloc(2048, i % 256);
        chunks.push(chunk);
        await data.write(chunk);
        await sleep(stallMs / 20);
      }
      await data.end();
      expectCode(await c.reply(), 226);
      const content = Buffer.concat(chunks);
      assert.equal(fx.uploads.length, 1);
      assert.equal(fx.uploads[0].sha256, sha256(content));
      assert.ok(fs.readFileSync(path.join(domainDir(fx, 'district'), 'slow.zip')).equals(content));
      assert.equal(c.closed, false);
      await assertAlive(c, 'after the slow upload');
    });

    it('answers 425 when the data connection never comes, and closes an idle control connection after idleMs', async () => {
      const c = await clients.login(fx);
      await pasv(c);
      const t0 = process.hrtime.bigint();
      const r = await c.cmd('STOR never.zip');
      expectCode(r, 425);
      assert.ok(elapsedSince(t0) >= 900);
      assert.ok(!visibleFiles(domainDir(fx, 'district')).includes('never.zip'));
      assert.deepEqual(hiddenFiles(domainDir(fx, 'district')), []);
      const t1 = process.hrtime.bigint();
      expectCode(await c.reply(), 421);
      assert.ok(await c.waitClosed());
      assert.ok(elapsedSince(t1) >= idleMs - 100);
    });
  });

  describe('login timeout, TLS versions, upload names', { concurrency: 1 }, () => {
    let fx: FtpsFixture;
    const clients = new Clients();
    // the server's clock starts at the connect; the client's TLS handshake runs inside it
    const loginMs = 2500;
    before(async () => { fx = await fixture({ timeouts: { loginMs } }); });
    afterEach(() => clients.closeAll());
    after(async () => { await fx?.stop(); });

    it('closes a connection that has not logged in within loginMs with 421', async () => {
      // from before the connect: the server's clock starts at the connect, the TLS handshake is inside it
      const t0 = process.hrtime.bigint();
      const c = await clients.secure(fx.port);
      expectCode(await c.reply(), 421);
      assert.ok(await c.waitClosed());
      assert.ok(elapsedSince(t0) >= loginMs - 5, `closed after ${elapsedSince(t0)} ms`);
    });

    it('refuses TLS older than 1.2 on the control connection; TLS 1.2 and 1.3 are accepted', async () => {
      const handshake = async (maxVersion: tls.SecureVersion): Promise<string> => {
        const c = await clients.connect(fx.port);
        expectCode(await c.reply(), 220);
        expectCode(await c.cmd('AUTH TLS'), 234);
        c.raw.removeAllListeners('data');
        // SECLEVEL=0 lets this client offer TLS 1.0/1.1 at all: the refusal must come from the server.
        const secure = tls.connect({ socket: c.raw, rejectUnauthorized: false, minVersion: 'TLSv1', maxVersion, ciphers: 'DEFAULT@SECLEVEL=0' });
        return new Promise((resolve) => {
          secure.once('secureConnect', () => { resolve(secure.getProtocol() ?? ''); secure.destroy(); });
          secure.once('error', (err: NodeJS.ErrnoException) => resolve(`error ${err.code ?? err.message}`));
        });
      };
      assert.match(await handshake('TLSv1.1'), /^error ERR_SSL_TLSV1_ALERT_PROTOCOL_VERSION$/);
      assert.match(await handshake('TLSv1'), /^error ERR_SSL_TLSV1_ALERT_PROTOCOL_VERSION$/);
      assert.equal(await handshake('TLSv1.2'), 'TLSv1.2');
      assert.equal(await handshake('TLSv1.3'), 'TLSv1.3');
    });

  });

  describe('upload names', { concurrency: 1 }, () => {
    // default timeouts: the login (TLS and a password check) must not race a short login timeout
    let fx: FtpsFixture;
    const clients = new Clients();
    before(async () => { fx = await fixture({}); });
    afterEach(() => clients.closeAll());
    after(async () => { await fx?.stop(); });

    it('takes only .zip uploads with a name that is not hidden, and none into results/ or results/validate/', async () => {
      const c = await clients.login(fx);
      for (const name of ['roster.csv', 'roster', '.hidden.zip', 'validate/.x.zip', 'roster.zip.part']) {
        expectCode(await c.cmd(`STOR ${name}`), 553);
      }
      expectCode(await c.cmd('STOR results/r.zip'), 550);
      expectCode(await c.cmd('STOR results/validate/r.zip'), 550);
      expectCode(await c.cmd('DELE results/validate/r.zip.txt'), 550);
      expectCode(await c.cmd('STOR validate'), 553);
      assert.deepEqual(visibleFiles(domainDir(fx, 'district')).filter((n) => !['results', 'validate'].includes(n)), []);
      assert.equal(fx.uploads.length, 0);
      await assertAlive(c, 'after refused names');
    });
  });

  describe('required TLS session reuse on data connections (defect 5)', { concurrency: 1 }, () => {
    let fx: FtpsFixture;
    const clients = new Clients();
    before(async () => { fx = await fixture({ requireTlsSessionReuse: true, timeouts: { dataConnectMs: 1000 } }); });
    afterEach(() => clients.closeAll());
    after(async () => { await fx?.stop(); });

    it('a same-address attacker connecting first without the session cannot hijack the upload', async () => {
      const victim = await clients.login(fx);
      assert.ok(victim.session, 'the control connection got a session ticket');
      const content = Buffer.alloc(200_000, 'victim');
      const port = await pasv(victim);
      const evil = Buffer.from('attacker bytes '.repeat(100));
      const attack = await attemptData(port, { payload: evil, timeoutMs: 2000 });
      assert.deepEqual([attack.resumed, attack.closed], [false, true], 'the attacker cannot resume and is disconnected');
      await victim.send('STOR victim.zip');
      // a second attacker arrives while the victim's STOR waits
      const attack2 = attemptData(port, { payload: evil, timeoutMs: 2000 });
      const data = await DataConn.open(port, { session: victim.session });
      assert.equal(data.resumed, true);
      expectCode(await victim.reply(), 150);
      await data.write(content);
      await data.end();
      expectCode(await victim.reply(), 226);
      assert.deepEqual([(await attack2).resumed, (await attack2).closed], [false, true]);
      assert.equal(fx.uploads.length, 1);
      assert.equal(fx.uploads[0].sha256, sha256(content));
      const stored = fs.readFileSync(path.join(domainDir(fx, 'district'), 'victim.zip'));
      assert.ok(stored.equals(content), 'the victim\'s bytes, intact');
      assert.ok(!stored.includes(Buffer.from('attacker')));
    });

    it('a data connection that does not resume the session is refused: 425, nothing stored', async () => {
      const c = await clients.login(fx);
      const port = await pasv(c);
      await c.send('STOR fresh.zip');
      const attempt = await attemptData(port, { payload: Buffer.from('no session'), timeoutMs: 2000 });
      assert.deepEqual([attempt.resumed, attempt.closed], [false, true]);
      // 150 may come first (it goes out on TCP connect, before the handshake shows no resumption)
      expectCode(await finalReply(c), 425);
      assert.ok(!visibleFiles(domainDir(fx, 'district')).includes('fresh.zip'));
      // another connection's session does not resume this one's
      const other = await clients.login(fx, 'other/admin', 'other-password');
      const port2 = await pasv(c);
      await c.send('STOR fresh.zip');
      const foreign = await attemptData(port2, { session: other.session, payload: Buffer.from('foreign session'), timeoutMs: 2000 });
      assert.deepEqual([foreign.resumed, foreign.closed], [false, true], 'another control connection\'s session does not resume here');
      expectCode(await finalReply(c), 425);
      assert.ok(!visibleFiles(domainDir(fx, 'district')).includes('fresh.zip'));
      assert.equal(fx.uploads.filter((u) => u.name === 'fresh.zip').length, 0);
    });

    it('a TLS 1.2 client without tickets resumes by session ID, on every data connection; another connection\'s session ID is refused', async () => {
      // curl and other OpenSSL-based clients turn tickets off: under TLS 1.2 they resume by session ID only
      const noTickets: ConnectOptions = { tls: { maxVersion: 'TLSv1.2', secureOptions: constants.SSL_OP_NO_TICKET } };
      const c = await clients.login(fx, ADMIN_LOGIN, ADMIN_PASSWORD, noTickets);
      assert.equal(c.tlsSocket?.getProtocol(), 'TLSv1.2');
      const content = Buffer.alloc(100_000, 'tls12');
      for (const name of ['id-one.zip', 'id-two.zip']) {
        const port = await pasv(c);
        await c.send(`STOR ${name}`);
        const data = await DataConn.open(port, { ...noTickets, session: c.session });
        assert.equal(data.resumed, true, `${name}: the data connection resumed the control session`);
        expectCode(await c.reply(), 150);
        await data.write(content);
        await data.end();
        expectCode(await c.reply(), 226);
      }
      const other = await clients.login(fx, 'other/admin', 'other-password', noTickets);
      const port = await pasv(c);
      await c.send('STOR id-three.zip');
      const foreign = await attemptData(port, { ...noTickets, session: other.session, payload: Buffer.from('foreign session'), timeoutMs: 2000 });
      assert.deepEqual([foreign.resumed, foreign.closed], [false, true], 'another control connection\'s session ID does not resume here');
      expectCode(await finalReply(c), 425);
      assert.deepEqual(fx.uploads.filter((u) => u.name.startsWith('id-')).map((u) => [u.name, u.sha256]),
        [['id-one.zip', sha256(content)], ['id-two.zip', sha256(content)]]);
    });
  });

  describe('passive port range (defect 6)', { concurrency: 1 }, () => {
    let fx: FtpsFixture;
    const clients = new Clients();
    before(async () => { fx = await fixture({ passive: await freePortRange(3), allowActiveMode: true }); });
    afterEach(() => clients.closeAll());
    after(async () => { await fx?.stop(); });

    it('many PASV/EPSV in a row never exhaust a 3-port range; two users still transfer; no listener is left', async () => {
      const a = await clients.login(fx);
      const ports = new Set<number>();
      for (let i = 0; i < 30; i++) {
        const r = await a.cmd(i % 2 ? 'EPSV' : 'PASV');
        ports.add(passivePort(r));
      }
      for (const p of ports) assert.ok(p >= fx.config.passive.minPort && p <= fx.config.passive.maxPort, `port ${p} outside the range`);
      const b = await clients.login(fx, 'other/admin', 'other-password');
      for (let i = 0; i < 10; i++) passivePort(await b.cmd('EPSV'));
      const contentA = Buffer.alloc(300_000, 'a');
      const contentB = Buffer.alloc(300_000, 'b');
      const [ra, rb] = await Promise.all([upload(a, 'a.zip', contentA), upload(b, 'b.zip', contentB)]);
      expectCode(ra, 226);
      expectCode(rb, 226);
      assert.deepEqual(fx.uploads.map((u) => [u.userspace, u.sha256]).sort(), [['district', sha256(contentA)], ['other', sha256(contentB)]]);
      for (let p = fx.config.passive.minPort; p <= fx.config.passive.maxPort; p++) assert.ok(await portFree(p), `passive port ${p} is still bound`);
    });

    it('active mode connects only to the control peer\'s own address and ports >= 1024', async () => {
      const c = await clients.login(fx);
      for (const cmd of ['PORT 127,0,0,2,156,64', 'PORT 10,0,0,1,156,64', 'PORT 127,0,0,1,0,21', 'PORT 127,0,0,1,3,255', 'EPRT |1|127.0.0.2|40000|',
        'EPRT |1|127.0.0.1|80|', 'EPRT |2|::1|40000|', 'PORT 127,0,0,1,300,1']) {
        assert5xx(await c.cmd(cmd), cmd);
      }
      await assertAlive(c, 'after PORT refusals');
    });
  });
});
