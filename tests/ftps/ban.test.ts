/**
 * The login ban cannot be sidestepped (issue 17, defect 3): failures count per IP over every
 * account and are not cleared by a valid login; a ban ends every connection of the IP that has not
 * logged in, so connections opened before it cannot go on guessing; and no password of a banned IP
 * is checked at all. Raw TLS clients: a stock client gives up too politely to probe this.
 */
import assert from 'node:assert/strict';
import { after, afterEach, before, describe, it } from 'node:test';
import { LmsAuthenticator } from '../../src/ftps/lms-authenticator';
import { expectCode, loggedIn, RawFtp, secureConnect } from '../helpers/ftp-raw';
import { ADMIN_LOGIN, startFtps, type FtpsFixture } from '../helpers/ftps';

const OTHER_LOGIN = 'other/admin';
const OTHER_PASSWORD = 'other-password';
const BAN_AFTER = 5;

describe('the login ban has no way around it', { concurrency: 1 }, () => {
  let fx: FtpsFixture;
  const checked: string[] = []; // every login whose password was checked, with its IP
  let open: RawFtp[] = [];
  const track = (c: RawFtp): RawFtp => { open.push(c); return c; };

  before(async () => {
    fx = await startFtps({
      // a ban far longer than the test: nothing here may depend on it ending
      login: { failureDelayMs: 20, maxFailuresPerConnection: 3, banAfterFailures: BAN_AFTER, banWindowMs: 600_000, banDurationMs: 600_000, allowList: [] },
      connections: { maxConnectionsPerIp: 50 },
      // no connection here may close for lack of a login or of commands: only the ban closes them
      timeouts: { loginMs: 600_000, idleMs: 600_000 },
    }, {
      authenticator: (db) => {
        const lms = new LmsAuthenticator(db.ds);
        return { authenticate: async (login, password) => { checked.push(login); return lms.authenticate(login, password); } };
      },
    });
  });
  afterEach(() => { for (const c of open) c.destroy(); open = []; });
  after(async () => { await fx?.stop(); });

  async function guess(c: RawFtp, password: string): Promise<number> {
    expectCode(await c.cmd(`USER ${ADMIN_LOGIN}`), 331);
    return (await c.cmd(`PASS ${password}`)).code;
  }

  /** a new connection from `ip` is refused at once with 421 (the IP is banned) */
  async function refusedAtConnect(ip: string): Promise<boolean> {
    const c = track(await RawFtp.connect(fx.port, { localAddress: ip }));
    return (await c.reply()).code === 421;
  }

  it('a valid login of another account in between does not wipe the failures: the IP is banned at the fifth', async () => {
    const ip = '127.0.0.31';
    let failures = 0;
    while (failures < BAN_AFTER) {
      // a guess at one account, then a valid login of another, from the same address
      const c = track(await secureConnect(fx.port, { localAddress: ip }));
      assert.equal(await guess(c, `guess-${failures}`), 530);
      failures++;
      c.destroy();
      if (failures < BAN_AFTER) track(await loggedIn(fx.port, OTHER_LOGIN, OTHER_PASSWORD, { localAddress: ip })).destroy();
    }
    assert.equal(await refusedAtConnect(ip), true, 'banned after 5 failures, logins in between notwithstanding');
    assert.equal(await refusedAtConnect('127.0.0.32'), false, 'another address is not');
  });

  it('the ban closes every unauthenticated connection of the IP, logged-in ones stay; no password of a banned IP is checked', async () => {
    const ip = '127.0.0.33';
    const waiting: RawFtp[] = [];
    for (let i = 0; i < 6; i++) waiting.push(track(await secureConnect(fx.port, { localAddress: ip })));
    const halfway = waiting[5];
    expectCode(await halfway.cmd(`USER ${ADMIN_LOGIN}`), 331); // USER sent, PASS not yet
    const inside = track(await loggedIn(fx.port, OTHER_LOGIN, OTHER_PASSWORD, { localAddress: ip }));

    const [first, second] = waiting;
    for (let i = 0; i < 3; i++) assert.equal(await guess(first, `a-${i}`), 530);
    assert.equal(await guess(second, 'b-0'), 530);
    const before = checked.length;
    assert.equal(await guess(second, 'b-1'), 530, 'the fifth failure, which starts the ban');
    assert.equal(checked.length, before + 1);
    expectCode(await second.reply(), 421);

    for (const [i, c] of waiting.slice(2).entries()) {
      assert.equal(await c.waitClosed(), true, `connection ${i + 3}, opened before the ban, is closed by it`);
      assert.ok(c.transcript.includes('421 Too many failed logins'), `and told why: ${c.transcript.join(' | ')}`);
    }
    expectCode(await inside.cmd('NOOP'), 200); // a session that logged in before is not cut
    assert.equal(await refusedAtConnect(ip), true);
    assert.equal(checked.length, before + 1, 'nothing more was checked for the banned address');
  });
});
