/**
 * The FTPS server's plain rules, without sockets: command framing, the policy gate, admission
 * (limits and bans, on a fake clock), the virtual folder tree, active-mode address parsing,
 * settings, and the authenticator's domain tree.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { ConfigError, loadFtpsSettings } from '../../src/config/ftps';
import { Admission, normalizeIp } from '../../src/ftps/admission';
import { LineBuffer, LineTooLongError, parseCommand, stripListOptions } from '../../src/ftps/command-line';
import { parseEprt, parsePort } from '../../src/ftps/commands/transfer';
import { isUploadName, resolveVirtual } from '../../src/ftps/drop-fs';
import { descendants, parseLogin } from '../../src/ftps/lms-authenticator';
import { gateCommand } from '../../src/ftps/policy';

/** Every complete line of `chunk` (and what was buffered before it). */
function lines(buffer: LineBuffer, chunk: string): string[] {
  buffer.push(Buffer.from(chunk));
  const out: string[] = [];
  for (let line = buffer.next(); line !== null; line = buffer.next()) out.push(String(line));
  return out;
}

describe('command framing', () => {
  it('joins a command split across segments and splits pipelined ones; CRLF or bare LF', () => {
    const buffer = new LineBuffer(100);
    assert.deepEqual(lines(buffer, 'US'), []);
    assert.deepEqual(lines(buffer, 'ER a/b\r\nNOOP\nPA'), ['USER a/b', 'NOOP']);
    assert.deepEqual(lines(buffer, 'SS x\r\n'), ['PASS x']);
  });

  it('refuses a line over the limit, even before its end arrives', () => {
    assert.throws(() => lines(new LineBuffer(10), 'x'.repeat(11)), LineTooLongError);
    assert.throws(() => lines(new LineBuffer(10), `${'x'.repeat(11)}\r\n`), LineTooLongError);
    assert.deepEqual(lines(new LineBuffer(10), `${'x'.repeat(10)}\r\n`), ['x'.repeat(10)]);
  });

  it('keeps pipelined lines as bytes until they are taken, one at a time', () => {
    const buffer = new LineBuffer(100);
    buffer.push(Buffer.from('NOOP\r\nHELP\r\nSY'));
    assert.equal(buffer.buffered, 14);
    assert.equal(String(buffer.next()), 'NOOP');
    assert.equal(buffer.buffered, 8);
  });

  it('takeRest() hands over and forgets what followed the lines taken (plaintext behind AUTH TLS)', () => {
    const buffer = new LineBuffer(100);
    buffer.push(Buffer.from('AUTH TLS\r\nUSER inj'));
    assert.equal(String(buffer.next()), 'AUTH TLS');
    assert.equal(String(buffer.takeRest()), 'USER inj');
    assert.deepEqual(lines(buffer, 'ected\r\n'), ['ected']);
  });

  it('keeps arguments verbatim: quotes, spaces, -x words (stock ftp-srv mangled them)', () => {
    assert.deepEqual(parseCommand(`PASS pa"ss w0rd -x 'q `), { directive: 'PASS', arg: `pa"ss w0rd -x 'q `, flags: [], raw: `PASS pa"ss w0rd -x 'q ` });
    assert.equal(parseCommand('stor My File.zip').directive, 'STOR');
    assert.equal(parseCommand('stor My File.zip').arg, 'My File.zip');
    assert.equal(parseCommand('NOOP').arg, null);
    assert.equal(parseCommand('\u00ff\u00f4\u00ff\u00f2ABOR').directive, 'ABOR');
  });

  it('LIST options are not paths', () => {
    assert.equal(stripListOptions('-la'), null);
    assert.equal(stripListOptions('-a results'), 'results');
    assert.equal(stripListOptions('results'), 'results');
    assert.equal(stripListOptions(null), null);
  });
});

describe('policy gate', () => {
  const clear = { secure: false, authenticated: false, protectedData: false };
  it('before TLS only AUTH, FEAT, SYST, NOOP, QUIT, HELP', () => {
    for (const d of ['AUTH', 'FEAT', 'SYST', 'NOOP', 'QUIT', 'HELP']) assert.deepEqual(gateCommand(d, clear), { allow: true }, d);
    for (const d of ['USER', 'PASS', 'STOR', 'PASV', 'LIST', 'PBSZ', 'OPTS']) assert.equal(gateCommand(d, clear).allow, false, d);
    assert.deepEqual(gateCommand('USER', clear), { allow: false, code: 530, message: 'TLS required: send AUTH TLS first' });
  });

  it('after TLS: login first, then data only with PROT P', () => {
    const tls = { ...clear, secure: true };
    assert.equal(gateCommand('USER', tls).allow, true);
    assert.equal(gateCommand('PBSZ', tls).allow, true);
    assert.equal(gateCommand('CWD', tls).allow, false);
    const loggedIn = { ...tls, authenticated: true };
    assert.equal(gateCommand('CWD', loggedIn).allow, true);
    for (const d of ['PASV', 'EPSV', 'PORT', 'EPRT', 'LIST', 'NLST', 'RETR', 'STOR']) {
      const decision = gateCommand(d, loggedIn);
      assert.equal(decision.allow, false, d);
      assert.equal(!decision.allow && decision.code, 521, d);
      assert.equal(gateCommand(d, { ...loggedIn, protectedData: true }).allow, true, d);
    }
  });
});

describe('admission', () => {
  const login = { maxFailuresPerConnection: 3, failureDelayMs: 0, banAfterFailures: 3, banWindowMs: 60_000, banDurationMs: 10_000, allowList: ['10.0.0.9'] };

  it('limits connections per IP and overall, and releases them', () => {
    const a = new Admission({ maxConnections: 3, maxConnectionsPerIp: 2 }, login);
    assert.equal(a.admit('1.1.1.1'), null);
    assert.equal(a.admit('1.1.1.1'), null);
    assert.equal(a.admit('1.1.1.1'), 'too-many-from-ip');
    assert.equal(a.admit('2.2.2.2'), null);
    assert.equal(a.admit('3.3.3.3'), 'too-many-connections');
    a.release('1.1.1.1');
    assert.equal(a.admit('3.3.3.3'), null);
    assert.equal(a.connectionCount, 3);
  });

  it('bans after repeated failures until a fixed time that refused connections do not extend', () => {
    let now = 1_000_000;
    const a = new Admission({ maxConnections: 100, maxConnectionsPerIp: 100 }, login, () => now);
    assert.equal(a.recordFailure('1.1.1.1'), false);
    assert.equal(a.recordFailure('1.1.1.1'), false);
    assert.equal(a.recordFailure('1.1.1.1'), true);
    const until = a.bannedUntil('1.1.1.1');
    assert.equal(until, now + 10_000);
    now += 9_000;
    assert.equal(a.admit('1.1.1.1'), 'banned');
    assert.equal(a.recordFailure('1.1.1.1'), false, 'a failure during the ban does not start another');
    assert.equal(a.bannedUntil('1.1.1.1'), until);
    now += 1_001;
    assert.equal(a.admit('1.1.1.1'), null);
  });

  it('failures outside the window and the allow-list do not ban', () => {
    let now = 0;
    const a = new Admission({ maxConnections: 100, maxConnectionsPerIp: 100 }, login, () => now);
    a.recordFailure('1.1.1.1');
    a.recordFailure('1.1.1.1');
    now += 61_000;
    assert.equal(a.recordFailure('1.1.1.1'), false);
    for (let i = 0; i < 10; i++) assert.equal(a.recordFailure('10.0.0.9'), false);
    assert.equal(a.admit('10.0.0.9'), null);
  });

  it('normalizes IPv4-mapped IPv6 addresses', () => {
    assert.equal(normalizeIp('::ffff:127.0.0.1'), '127.0.0.1');
    assert.equal(normalizeIp('::1'), '::1');
  });
});

describe('virtual folders', () => {
  const grant = { home: 'district', subdomains: ['school-a'] };
  const at = (cwd: string, p: string | null) => resolveVirtual(grant, cwd, p).location;

  it('maps the domain folder, its areas, files and subdomains', () => {
    assert.deepEqual(at('/', null), { kind: 'dir', userspace: 'district', area: '' });
    assert.deepEqual(at('/', 'a.zip'), { kind: 'file', userspace: 'district', area: '', name: 'a.zip' });
    assert.deepEqual(at('/', '/validate/a.zip'), { kind: 'file', userspace: 'district', area: 'validate', name: 'a.zip' });
    assert.deepEqual(at('/results', 'r.json'), { kind: 'file', userspace: 'district', area: 'results', name: 'r.json' });
    assert.deepEqual(at('/results', 'validate/r.json'), { kind: 'file', userspace: 'district', area: 'results/validate', name: 'r.json' });
    assert.deepEqual(at('/results/validate', '..'), { kind: 'dir', userspace: 'district', area: 'results' });
    assert.deepEqual(at('/', 'domains'), { kind: 'domains' });
    assert.deepEqual(at('/domains', 'school-a/validate'), { kind: 'dir', userspace: 'school-a', area: 'validate' });
  });

  it('clamps ../ at the virtual root and refuses what is not in the tree', () => {
    assert.deepEqual(at('/validate', '../../../x.zip'), { kind: 'file', userspace: 'district', area: '', name: 'x.zip' });
    assert.throws(() => at('/', '../../../etc/passwd'), /No such file/);
    assert.throws(() => at('/', '/domains/other/a.zip'), /No such file/);
    assert.throws(() => at('/', 'a\\..\\b.zip'), /No such file/);
    assert.throws(() => at('/', 'validate/deeper/a.zip'), /No such file/);
    assert.throws(() => resolveVirtual({ home: 'x', subdomains: [] }, '/', 'domains/school-a'), /No such file/);
  });

  it('upload names: .zip, not hidden, no separators or control characters', () => {
    for (const ok of ['roster.zip', 'ROSTER.ZIP', 'export 2026-11-23.zip']) assert.equal(isUploadName(ok), true, ok);
    for (const bad of ['roster.csv', '.roster.zip', 'a/b.zip', 'a\\b.zip', 'a\u0001.zip', `${'x'.repeat(256)}.zip`]) assert.equal(isUploadName(bad), false, bad);
  });
});

describe('active mode addresses', () => {
  it('parses PORT and EPRT and rejects malformed ones', () => {
    assert.deepEqual(parsePort('127,0,0,1,4,1'), { ip: '127.0.0.1', port: 1025 });
    assert.equal(parsePort('127,0,0,1,4'), null);
    assert.equal(parsePort('300,0,0,1,4,1'), null);
    assert.deepEqual(parseEprt('|1|127.0.0.1|2000|'), { ip: '127.0.0.1', port: 2000 });
    assert.deepEqual(parseEprt('|2|::1|2000|'), { ip: '::1', port: 2000 });
    assert.equal(parseEprt('|3|x|1|'), null);
    assert.equal(parseEprt(''), null);
  });
});

describe('logins and the domain tree', () => {
  it('parses userspace/username; the username may contain a slash', () => {
    assert.deepEqual(parseLogin('District/ad/min'), { userspace: 'district', username: 'ad/min' });
    assert.equal(parseLogin('admin'), null);
    assert.equal(parseLogin('/admin'), null);
    assert.equal(parseLogin('district/'), null);
  });

  it('descendants: children and grandchildren, sorted, cycle-safe', () => {
    const domains = [
      { id: 1, parentId: null, userspace: 'd' }, { id: 2, parentId: 1, userspace: 's2' }, { id: 3, parentId: 1, userspace: 's1' },
      { id: 4, parentId: 2, userspace: 'g' }, { id: 5, parentId: null, userspace: 'other' }, { id: 6, parentId: 7, userspace: 'c1' }, { id: 7, parentId: 6, userspace: 'c2' },
    ];
    assert.deepEqual(descendants(domains, 1), ['g', 's1', 's2']);
    assert.deepEqual(descendants(domains, 2), ['g']);
    assert.deepEqual(descendants(domains, 5), []);
    assert.deepEqual(descendants(domains, 6), ['c2']);
  });
});

describe('FTPS settings', () => {
  it('defaults work on a fresh machine', () => {
    const s = loadFtpsSettings({ ROSTERDROP_DATA_DIR: '/tmp/rd' });
    assert.equal(s.explicitPort, 2121);
    assert.equal(s.implicitPort, null);
    assert.equal(s.dropRoot, '/tmp/rd/drop');
    assert.equal(s.requireTlsSessionReuse, false);
    assert.equal(s.allowActiveMode, false);
    assert.equal(s.login.maxFailuresPerConnection, 3);
  });

  it('environment overrides, and a clear error naming the variable', () => {
    const s = loadFtpsSettings({ ROSTERDROP_FTPS_PORT: '21', ROSTERDROP_FTPS_IMPLICIT_PORT: '990', ROSTERDROP_FTPS_REQUIRE_TLS_REUSE: 'yes', ROSTERDROP_FTPS_BAN_ALLOW: '10.0.0.1, 10.0.0.2' });
    assert.equal(s.explicitPort, 21);
    assert.equal(s.implicitPort, 990);
    assert.equal(s.requireTlsSessionReuse, true);
    assert.deepEqual(s.login.allowList, ['10.0.0.1', '10.0.0.2']);
    assert.throws(() => loadFtpsSettings({ ROSTERDROP_FTPS_PORT: 'ftp' }), (err: unknown) => err instanceof ConfigError && /ROSTERDROP_FTPS_PORT=ftp/.test(err.message));
    assert.throws(() => loadFtpsSettings({ ROSTERDROP_FTPS_PASV_MIN: '60000', ROSTERDROP_FTPS_PASV_MAX: '50000' }), ConfigError);
    assert.throws(() => loadFtpsSettings({ ROSTERDROP_FTPS_ACTIVE_MODE: 'maybe' }), /expected true or false/);
    assert.throws(() => loadFtpsSettings({ ROSTERDROP_TLS_MIN_VERSION: 'TLSv1.1' }), /TLSv1.2 or TLSv1.3/);
  });
});
