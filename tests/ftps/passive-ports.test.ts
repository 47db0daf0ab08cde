/**
 * Issue 17 #2: one tenant could hold every passive port (three IPs' idle PASVs held the range and
 * another domain got 425). Passive ports are capped per user and per domain, a refusal is a clear
 * 425 logged with the login, a finished transfer or a closed connection gives its port back, and a
 * PASV nobody uses is closed after a while. Raw clients against the real server.
 */
import assert from 'node:assert/strict';
import net from 'node:net';
import { after, afterEach, before, describe, it } from 'node:test';
import { Domain } from '../../src/db/entities';
import { createUser } from '../../src/db/users';
import { DataConn, expectCode, loggedIn, passivePort, type FtpReply, type RawFtp } from '../helpers/ftp-raw';
import { ADMIN_LOGIN, ADMIN_PASSWORD, startFtps, type FtpsFixture } from '../helpers/ftps';
import { memoryLogger, type MemoryLogger } from '../helpers/memory-logger';

const SECOND_LOGIN = 'district/admin2';
const SECOND_PASSWORD = 'second-admin-password';
const OTHER_LOGIN = 'other/admin';
const OTHER_PASSWORD = 'other-password';

class Clients {
  private open: RawFtp[] = [];

  async login(fx: FtpsFixture, login: string, password: string): Promise<RawFtp> {
    const c = await loggedIn(fx.port, login, password);
    this.open.push(c);
    return c;
  }

  closeAll(): void {
    for (const c of this.open.splice(0)) c.destroy();
  }
}

/** Resolves once the in-process server has let go of closed connections. */
async function connectionsDownTo(fx: FtpsFixture, count: number): Promise<void> {
  const deadline = Date.now() + 60_000; // a hang guard
  while (fx.server.connectionCount > count) {
    if (Date.now() > deadline) throw new Error(`still ${fx.server.connectionCount} connections`);
    await new Promise((resolve) => setImmediate(resolve));
  }
}

function connectRefused(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const s = net.connect({ host: '127.0.0.1', port });
    s.once('connect', () => { s.destroy(); resolve(false); });
    s.once('error', (err: NodeJS.ErrnoException) => resolve(err.code === 'ECONNREFUSED'));
  });
}

function assertRefused(r: FtpReply, what: RegExp): void {
  assert.equal(r.code, 425, r.text);
  assert.match(r.text, what);
  assert.match(r.text, /close one first/);
}

describe('passive ports per user and per domain (issue 17 #2)', { concurrency: 1 }, () => {
  let fx: FtpsFixture;
  let log: MemoryLogger;
  const clients = new Clients();

  before(async () => {
    log = memoryLogger();
    fx = await startFtps({ passive: { maxPerUser: 2, maxPerDomain: 3 }, timeouts: { passiveUnusedMs: 600_000 } }, { logger: log.logger });
    const district = await fx.db.ds.getRepository(Domain).findOneByOrFail({ userspace: 'district' });
    await createUser(fx.db.ds, { domainId: district.id, username: 'admin2', admin: true, password: SECOND_PASSWORD });
  });
  afterEach(async () => {
    clients.closeAll();
    await connectionsDownTo(fx, 0); // their ports are given back before the next test counts
  });
  after(async () => { await fx?.stop(); });

  it('refuses a user past its cap and a domain past its cap with 425, logged with the login; another domain still gets a port', async () => {
    const [a1, a2, a3] = [await clients.login(fx, ADMIN_LOGIN, ADMIN_PASSWORD), await clients.login(fx, ADMIN_LOGIN, ADMIN_PASSWORD), await clients.login(fx, ADMIN_LOGIN, ADMIN_PASSWORD)];
    expectCode(await a1.cmd('PASV'), 227);
    expectCode(await a1.cmd('EPSV'), 229); // replaces a1's own listener: still one port for a1
    expectCode(await a2.cmd('PASV'), 227);
    assertRefused(await a3.cmd('PASV'), /for this account/);
    assertRefused(await a3.cmd('EPSV'), /for this account/);
    const refusal = log.entries.find((e) => e.message === 'passive port refused');
    assert.ok(refusal, log.raw.join(''));
    assert.deepEqual({ login: refusal.login, domain: refusal.domain, limit: refusal.limit, max: refusal.max }, { login: ADMIN_LOGIN, domain: 'district', limit: 'user', max: 2 });

    const [b1, b2] = [await clients.login(fx, SECOND_LOGIN, SECOND_PASSWORD), await clients.login(fx, SECOND_LOGIN, SECOND_PASSWORD)];
    expectCode(await b1.cmd('PASV'), 227); // the domain's third
    assertRefused(await b2.cmd('PASV'), /for this domain/);
    assert.ok(log.entries.some((e) => e.message === 'passive port refused' && e.login === SECOND_LOGIN && e.limit === 'domain'), log.raw.join(''));

    const other = await clients.login(fx, OTHER_LOGIN, OTHER_PASSWORD);
    expectCode(await other.cmd('PASV'), 227);
  });

  it('gives a port back when its transfer ends and when its connection closes', async () => {
    const [a1, a2, a3] = [await clients.login(fx, ADMIN_LOGIN, ADMIN_PASSWORD), await clients.login(fx, ADMIN_LOGIN, ADMIN_PASSWORD), await clients.login(fx, ADMIN_LOGIN, ADMIN_PASSWORD)];
    const b1 = await clients.login(fx, SECOND_LOGIN, SECOND_PASSWORD);
    const port = passivePort(expectCode(await a1.cmd('PASV'), 227));
    expectCode(await a2.cmd('PASV'), 227);
    expectCode(await b1.cmd('PASV'), 227);
    assertRefused(await a3.cmd('PASV'), /for this account/);

    // a1's listing ends its transfer, and with it its hold on the port
    await a1.send('NLST');
    const data = await DataConn.open(port, { session: a1.session });
    expectCode(await a1.reply(), 150);
    await data.readAll();
    expectCode(await a1.reply(), 226);
    expectCode(await a3.cmd('PASV'), 227);

    // the domain is full again (a2, a3, b1); a2 leaving frees one for b2
    const b2 = await clients.login(fx, SECOND_LOGIN, SECOND_PASSWORD);
    assertRefused(await b2.cmd('PASV'), /for this domain/);
    const before = fx.server.connectionCount;
    a2.destroy();
    await connectionsDownTo(fx, before - 1);
    expectCode(await b2.cmd('PASV'), 227);
  });
});

describe('an unused passive port is closed (issue 17 #2)', () => {
  it('closes the listener after the unused timeout, logs it with the login, frees the slot, and a late transfer gets 425', async () => {
    const log = memoryLogger();
    const fx = await startFtps({ passive: { maxPerUser: 1 }, timeouts: { passiveUnusedMs: 300 } }, { logger: log.logger });
    const clients = new Clients();
    try {
      const a1 = await clients.login(fx, ADMIN_LOGIN, ADMIN_PASSWORD);
      const port = passivePort(expectCode(await a1.cmd('PASV'), 227));
      const closed = await log.waitFor((e) => e.message === 'passive port closed unused');
      assert.deepEqual({ login: closed.login, port: closed.port }, { login: ADMIN_LOGIN, port });
      assert.equal(await connectRefused(port), true, 'the listener is closed');

      const a2 = await clients.login(fx, ADMIN_LOGIN, ADMIN_PASSWORD);
      expectCode(await a2.cmd('PASV'), 227); // the user's only slot is free again
      const late = await a1.cmd('NLST');
      assert.equal(late.code, 425, late.text);
      assert.match(late.text, /PASV/);
    } finally {
      clients.closeAll();
      await fx.stop();
    }
  });

  it('does not close a passive port whose transfer command is waiting for the data connection', async () => {
    const log = memoryLogger();
    const fx = await startFtps({ timeouts: { passiveUnusedMs: 1000, dataConnectMs: 60_000 } }, { logger: log.logger });
    const clients = new Clients();
    try {
      const a1 = await clients.login(fx, ADMIN_LOGIN, ADMIN_PASSWORD);
      // EPSV and NLST in one segment; the data connection comes only after the unused timeout has passed
      await a1.write('EPSV\r\nNLST\r\n');
      const port = passivePort(expectCode(await a1.reply(), 229));
      const a2 = await clients.login(fx, ADMIN_LOGIN, ADMIN_PASSWORD);
      const probe = passivePort(expectCode(await a2.cmd('PASV'), 227));
      await log.waitFor((e) => e.message === 'passive port closed unused' && e.port === probe); // a2's, which nothing used
      const data = await DataConn.open(port, { session: a1.session });
      expectCode(await a1.reply(), 150);
      await data.readAll();
      expectCode(await a1.reply(), 226);
      assert.ok(!log.entries.some((e) => e.message === 'passive port closed unused' && e.port === port), log.raw.join(''));
    } finally {
      clients.closeAll();
      await fx.stop();
    }
  });
});
