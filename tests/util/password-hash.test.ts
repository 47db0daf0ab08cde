/**
 * Password hashes (issue 18, "First sync of a big district"): new ones are Argon2id with one of
 * OWASP's settings in PHC format; the scrypt hashes stored before keep verifying; a damaged or
 * foreign stored string is a refusal, never an exception in the login path. End to end: a synced
 * user's password logs in over the FTPS authenticator, on both databases.
 */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { setAdministrator } from '../../src/db/users';
import { User } from '../../src/db/entities';
import { LmsAuthenticator } from '../../src/ftps/lms-authenticator';
import { ARGON2ID, OWASP_ARGON2ID, hashPassword, verifyPassword } from '../../src/util/password-hash';
import { databaseKinds } from '../helpers/db';
import { domainByExt, mustUser, newRoot, useDatabase } from '../helpers/lms';
import { standardRoster } from '../helpers/roster';

/** Made once by the scrypt hashPassword that rosterdrop used before Argon2id (main at 2a4442e). */
const SCRYPT_FIXTURE = {
  password: 'Fixture-Pass-2026',
  stored: 'scrypt$16384$8$5$PYTcv6zo+KukmmgObGX3IA==$OaLMm6THUO/Np+0BGA1TQYv4l/vqLhPSRwKLka1664I=',
};

const PHC = /^\$argon2id\$v=19\$m=(\d+),t=(\d+),p=(\d+)\$([A-Za-z0-9+/]+)\$([A-Za-z0-9+/]+)$/;

function phc(stored: string): { m: number; t: number; p: number; saltBytes: number; hashBytes: number } {
  const m = PHC.exec(stored);
  assert.ok(m, `a PHC Argon2id string: ${stored}`);
  return { m: Number(m[1]), t: Number(m[2]), p: Number(m[3]), saltBytes: Buffer.from(m[4], 'base64').length, hashBytes: Buffer.from(m[5], 'base64').length };
}

test('a new hash is Argon2id in PHC format with the chosen OWASP setting (m=7168 KiB, t=5, p=1), 16-byte salt, 32-byte hash', async () => {
  const a = await hashPassword('Correct-Horse-7');
  const b = await hashPassword('Correct-Horse-7');
  assert.deepEqual(phc(a), { m: 7168, t: 5, p: 1, saltBytes: 16, hashBytes: 32 });
  assert.deepEqual({ m: ARGON2ID.m, t: ARGON2ID.t, p: ARGON2ID.p }, { m: 7168, t: 5, p: 1 });
  assert.ok(OWASP_ARGON2ID.some((o) => o.m === ARGON2ID.m && o.t === ARGON2ID.t && o.p === ARGON2ID.p), 'one of OWASP\'s equivalent settings');
  assert.notEqual(a, b, 'a fresh salt each time');
  assert.equal(await verifyPassword('Correct-Horse-7', a), true);
  assert.equal(await verifyPassword('Correct-Horse-7', b), true);
  assert.equal(await verifyPassword('correct-Horse-7', a), false);
  assert.equal(await verifyPassword('Correct-Horse-7 ', a), false);
  assert.equal(await verifyPassword('', a), false);
});

test('a scrypt hash stored by the earlier code still verifies; a wrong password is refused', async () => {
  assert.equal(await verifyPassword(SCRYPT_FIXTURE.password, SCRYPT_FIXTURE.stored), true);
  assert.equal(await verifyPassword('fixture-Pass-2026', SCRYPT_FIXTURE.stored), false);
  assert.equal(await verifyPassword(`${SCRYPT_FIXTURE.password}\n`, SCRYPT_FIXTURE.stored), false);
});

test('damaged, foreign or out-of-bounds stored strings are refused without throwing', async () => {
  const good = await hashPassword('pw-Known-1');
  const flip = (s: string, at: number): string => s.slice(0, at) + (s[at] === 'A' ? 'B' : 'A') + s.slice(at + 1);
  const salt22 = 'AAAAAAAAAAAAAAAAAAAAAA';
  const cases: Array<[string, string | null]> = [
    ['null', null],
    ['empty', ''],
    ['the password itself (plain text is not a hash)', 'pw-Known-1'],
    ['argon2id, last hash character changed', flip(good, good.length - 2)],
    ['argon2id, salt changed', flip(good, good.indexOf('$', 30) + 2)],
    ['argon2id, truncated', good.slice(0, -10)],
    ['argon2id, no hash', good.slice(0, good.lastIndexOf('$'))],
    ['argon2id, trailing $', `${good}$`],
    ['argon2id, m=2^32-1 KiB (4 TiB)', good.replace(/m=\d+/, 'm=4294967295')],
    ['argon2id, t=1000000 passes', good.replace(/t=\d+/, 't=1000000')],
    ['argon2id, p=0', good.replace(/p=\d+/, 'p=0')],
    ['argon2id, v=16', good.replace('v=19', 'v=16')],
    ['argon2i (another variant)', good.replace('$argon2id$', '$argon2i$')],
    ['argon2d (another variant)', good.replace('$argon2id$', '$argon2d$')],
    ['bcrypt', '$2b$10$N9qo8uLOickgx2ZMRZoMyeIjZAgcfl7p92ldGxad68LJZdL17lhWy'],
    ['scrypt, N not a number', `scrypt$abc$8$5$${salt22}==$${'A'.repeat(43)}=`],
    ['scrypt, N = 2^30 (128 GiB)', `scrypt$1073741824$8$5$${salt22}==$${'A'.repeat(43)}=`],
    ['scrypt, N not a power of two', `scrypt$16383$8$5$${salt22}==$${'A'.repeat(43)}=`],
    ['scrypt, a hash that decodes to nothing (would match any password)', `scrypt$16384$8$5$${salt22}==$=`],
    ['scrypt, a hash of characters base64 ignores', `scrypt$16384$8$5$${salt22}==$${'!'.repeat(44)}`],
    ['scrypt, a 4-byte hash', `scrypt$16384$8$5$${salt22}==$AAAAAA==`],
    ['scrypt, truncated', SCRYPT_FIXTURE.stored.slice(0, 30)],
    ['scrypt, a field missing', SCRYPT_FIXTURE.stored.replace('$8$', '$')],
    ['scrypt, upper-case name', SCRYPT_FIXTURE.stored.replace('scrypt', 'SCRYPT')],
  ];
  for (const [what, stored] of cases) {
    // a rejection would fail the test here: verifyPassword must resolve false, never throw
    const password = what.startsWith('scrypt') ? SCRYPT_FIXTURE.password : 'pw-Known-1';
    assert.equal(await verifyPassword(password, stored), false, what);
    assert.equal(await verifyPassword('anything at all', stored), false, what);
  }
});

for (const kind of databaseKinds()) {
  describe(`a synced password logs in over FTPS [${kind}]`, () => {
    const env = useDatabase(kind);

    test('the sync stores an Argon2id hash; the FTPS authenticator accepts it and a kept scrypt hash, and refuses wrong passwords', async () => {
      const root = await newRoot(env.ds);
      const roster = standardRoster(2).set('users', 's1', { password: 'Synced-Pass-1' }).set('users', 's2', { password: 'Synced-Pass-2' });
      const result = await env.sync(root.id, roster);
      assert.equal(result.status, 'succeeded');
      assert.equal(result.passwordsPending, 2);
      const s1 = await mustUser(env.ds, root.id, 's1');
      const s2 = await mustUser(env.ds, root.id, 's2');
      assert.deepEqual(phc(s1.passwordHash ?? ''), { m: 7168, t: 5, p: 1, saltBytes: 16, hashBytes: 32 });
      // an account from before the switch: its scrypt hash stays as it was stored
      await env.ds.getRepository(User).update({ id: s2.id }, { passwordHash: SCRYPT_FIXTURE.stored });
      for (const u of [s1, s2]) await setAdministrator(env.ds, u.id, true); // only administrators log in to FTPS
      const userspace = (await domainByExt(env.ds, root.id, 'sch1')).userspace;
      const auth = new LmsAuthenticator(env.ds);
      const grant = await auth.authenticate(`${userspace}/student.1`, 'Synced-Pass-1');
      assert.equal(grant?.userId, s1.id);
      assert.equal(grant?.home, userspace);
      assert.equal(await auth.authenticate(`${userspace}/student.2`, 'Synced-Pass-2'), null, 'the file\'s password no longer applies to the kept hash');
      assert.equal((await mustUser(env.ds, root.id, 's2')).passwordHash, SCRYPT_FIXTURE.stored, 'a refused password changes no hash');
      assert.equal((await auth.authenticate(`${userspace}/student.2`, SCRYPT_FIXTURE.password))?.userId, s2.id);
      // the proven password's scrypt hash is replaced by an Argon2id one, which lets the same password in
      const upgraded = (await mustUser(env.ds, root.id, 's2')).passwordHash!;
      assert.deepEqual(phc(upgraded), { m: 7168, t: 5, p: 1, saltBytes: 16, hashBytes: 32 });
      assert.equal((await auth.authenticate(`${userspace}/student.2`, SCRYPT_FIXTURE.password))?.userId, s2.id);
      assert.equal((await mustUser(env.ds, root.id, 's2')).passwordHash, upgraded, 'a current hash is kept as it is');
      assert.equal(await auth.authenticate(`${userspace}/student.1`, 'Synced-Pass-2'), null);
      assert.equal(await auth.authenticate(`${userspace}/nobody`, 'Synced-Pass-1'), null);
    });
  });
}
