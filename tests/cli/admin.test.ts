/**
 * The administrative verbs of the real CLI (migrate, domain, user, settings; serve's settings check). What touches
 * the database runs on both databases; input checks that do not depend on the database run on
 * SQLite only (every CLI call is a process start, and the suite must stay quick).
 */
import assert from 'node:assert/strict';
import os from 'node:os';
import { after, before, describe, it } from 'node:test';
import { Client } from 'pg';
import { SettingsChange, User } from '../../src/db/entities';
import { MIGRATIONS } from '../../src/db/migrations';
import { DEFAULT_SETTINGS } from '../../src/sync/settings';
import { verifyPassword } from '../../src/util/password-hash';
import { ADMIN_URL, databaseKinds } from '../helpers/db';
import { assertExit, childEnv, cliDatabase, parseJson, runCli, type CliDatabase } from './harness';

const PASSWORD = 'Correct-Horse-7f3a';
const NEW_PASSWORD = 'Battery-Staple-91c2';

describe('rosterdrop admin verbs', { concurrency: true }, () => {
  for (const kind of databaseKinds()) {
    describe(kind, { concurrency: 1 }, () => {
      let db: CliDatabase;
      before(async () => { db = await cliDatabase(kind); });
      after(async () => { await db?.close(); });

      it('works on a fresh database (the embedded one migrates itself); migrate then has nothing to do', async () => {
        const list = await db.cli(['domain', 'list']);
        assert.equal(list.code, 0, list.stderr);
        assert.match(list.stdout, /no domains yet/);
        const migrate = await db.cli(['migrate']);
        assert.equal(migrate.code, 0, migrate.stderr);
        assert.match(migrate.stdout, new RegExp(`the schema is up to date \\(${MIGRATIONS.length} migrations applied\\)`));
      });

      it('adds and lists domains; a duplicate exits 2', async () => {
        assertExit(await db.cli(['domain', 'add', 'gb', '--name', 'Grand Bend']), 0);
        const child = await db.cli(['domain', 'add', 'gb-hs', '--name', 'Grand Bend High', '--parent', 'gb']);
        assert.equal(child.code, 0, child.stderr);
        assert.match(child.stdout, /^created domain gb-hs \(id \d+\) under gb\n$/);
        const dup = await db.cli(['domain', 'add', 'gb', '--name', 'Again']);
        assert.equal(dup.code, 2);
        assert.equal(dup.stderr, 'rosterdrop: domain "gb" already exists\n');
        const json = parseJson<{ domains: Array<{ userspace: string; name: string; parent: string | null }> }>(await db.cli(['domain', 'list', '--json']));
        assert.deepEqual(json.domains.map((d) => [d.userspace, d.name, d.parent]), [['gb', 'Grand Bend', null], ['gb-hs', 'Grand Bend High', 'gb']]);
      });

      it('adds an Administrator with a password from stdin: a verifiable Argon2id hash, never echoed; a duplicate exits 2', async () => {
        const r = await db.cli(['--verbose', 'user', 'add', 'gb/admin', '--given', 'Ada', '--family', 'Lovelace',
          '--email', 'ada@example.org', '--admin', '--password-stdin'], `${PASSWORD}\n`);
        assert.equal(r.code, 0, r.stderr);
        assert.match(r.stdout, /^created user gb\/admin \(id \d+\) with the Administrator role\n$/);
        assert.ok(!r.stdout.includes(PASSWORD) && !r.stderr.includes(PASSWORD), 'the password must never be printed or logged');

        const user = await (await db.ds()).getRepository(User).findOneByOrFail({ username: 'admin' });
        assert.deepEqual(JSON.parse(user.roles), ['Administrator']);
        assert.equal(user.givenName, 'Ada');
        assert.equal(user.email, 'ada@example.org');
        assert.match(user.passwordHash ?? '', /^\$argon2id\$v=19\$m=7168,t=5,p=1\$/);
        assert.equal(await verifyPassword(PASSWORD, user.passwordHash), true);
        assert.equal(await verifyPassword(`${PASSWORD}\n`, user.passwordHash), false, 'the trailing line break is not part of it');

        const dup = await db.cli(['user', 'add', 'gb/admin', '--password-stdin'], `${PASSWORD}\n`);
        assert.equal(dup.code, 2);
        assert.equal(dup.stderr, 'rosterdrop: the username "admin" is already taken in gb\n');
      });

      it('adds a user without a password or the role, sets passwords, grants and revokes the role', async () => {
        const add = await db.cli(['user', 'add', 'gb/Mary Archer', '--given', 'Mary', '--family', 'Archer']);
        assert.equal(add.code, 0, add.stderr);
        assert.match(add.stdout, /no password yet/);
        const repo = (await db.ds()).getRepository(User);
        let mary = await repo.findOneByOrFail({ username: 'Mary Archer' });
        assert.equal(mary.passwordHash, null);
        assert.deepEqual(JSON.parse(mary.roles), []);

        const passwd = await db.cli(['user', 'passwd', 'gb/Mary Archer', '--password-stdin'], NEW_PASSWORD);
        assert.equal(passwd.code, 0, passwd.stderr);
        assert.ok(!passwd.stdout.includes(NEW_PASSWORD) && !passwd.stderr.includes(NEW_PASSWORD));
        mary = await repo.findOneByOrFail({ id: mary.id });
        assert.equal(await verifyPassword(NEW_PASSWORD, mary.passwordHash), true);

        const oldHash = (await repo.findOneByOrFail({ username: 'admin' })).passwordHash;
        assertExit(await db.cli(['user', 'passwd', 'gb/admin'], `${NEW_PASSWORD}\n`), 0);
        const admin = await repo.findOneByOrFail({ username: 'admin' });
        assert.notEqual(admin.passwordHash, oldHash);
        assert.equal(await verifyPassword(NEW_PASSWORD, admin.passwordHash), true);

        assertExit(await db.cli(['user', 'grant-admin', 'gb/Mary Archer']), 0);
        assert.deepEqual(JSON.parse((await repo.findOneByOrFail({ id: mary.id })).roles), ['Administrator']);
        assertExit(await db.cli(['user', 'revoke-admin', 'gb/admin']), 0);
        assert.deepEqual(JSON.parse((await repo.findOneByOrFail({ id: admin.id })).roles), []);

        type Listed = { users: Array<{ login: string; admin: boolean; hasPassword: boolean }> };
        const all = parseJson<Listed>(await db.cli(['user', 'list', 'gb', '--json']));
        assert.deepEqual(all.users.map((u) => [u.login, u.admin, u.hasPassword]), [['gb/Mary Archer', true, true], ['gb/admin', false, true]]);
      });

      it('shows and changes settings; a bad value exits 2 and changes nothing', async () => {
        const shown = parseJson<{ domain: string; settings: Record<string, unknown> }>(await db.cli(['settings', 'show', 'gb', '--json']));
        assert.deepEqual(shown.settings, { ...DEFAULT_SETTINGS });
        const badValue = await db.cli(['settings', 'set', 'gb', 'unsharedUsers', 'purge']);
        assert.equal(badValue.code, 2);
        assert.match(badValue.stderr, /^rosterdrop: unsharedUsers must be one of nothing, inactive, delete/);
        const set = await db.cli(['settings', 'set', 'gb', 'unsharedUsers', 'inactive']);
        assert.equal(set.code, 0, set.stderr);
        assert.equal(set.stdout, 'gb: unsharedUsers nothing → inactive\n');
        assertExit(await db.cli(['settings', 'set', 'gb', 'notificationEmails', 'a@x.org, b@y.org']), 0);
        assertExit(await db.cli(['settings', 'set', 'gb', 'safetyThresholdPercent', '25']), 0);
        const changed = parseJson<{ settings: Record<string, unknown> }>(await db.cli(['settings', 'show', 'gb', '--json']));
        assert.deepEqual(changed.settings, { ...DEFAULT_SETTINGS, unsharedUsers: 'inactive', notificationEmails: ['a@x.org', 'b@y.org'], safetyThresholdPercent: 25 });
        // through the settings service: one audit row per change, by the OS user, via cli; the refused value left none
        const ds = await db.ds();
        const audit = await ds.getRepository(SettingsChange).find({ order: { id: 'ASC' } });
        assert.deepEqual(audit.map((c) => [c.setting, c.via, c.oldValue, c.newValue]), [
          ['unsharedUsers', 'cli', '"nothing"', '"inactive"'],
          ['notificationEmails', 'cli', '[]', '["a@x.org","b@y.org"]'],
          ['safetyThresholdPercent', 'cli', '10', '25'],
        ]);
        assert.ok(audit.every((c) => c.changedBy === (os.userInfo().username || 'cli')));
        assertExit(await db.cli(['settings', 'set', 'gb', 'safetyThresholdPercent', '25']), 0);
        assert.equal(await ds.getRepository(SettingsChange).count(), 3, 'setting the same value again records nothing');
      });

      if (kind === 'sqlite') {
        it('checks input before it stores anything (exit 2 with one clear line)', async () => {
          const cases: Array<[string[], RegExp, string?]> = [
            [['domain', 'add', 'Bad Name', '--name', 'x'], /userspace "Bad Name" must be 1-64 characters/],
            [['domain', 'add', 'x1', '--name', 'x', '--parent', 'nowhere'], /unknown domain "nowhere"/],
            [['domain', 'add', 'x2'], /required option '--name <name>' not specified/],
            [['user', 'add', 'nowhere/x'], /unknown domain "nowhere"/],
            [['user', 'add', 'gb'], /"gb" is not a login: expected userspace\/username/],
            [['user', 'add', 'gb/shorty', '--password-stdin'], /the password must have at least 8 characters/, 'abc\n'],
            [['user', 'add', 'gb/empty', '--password-stdin'], /no password on stdin/, ''],
            [['user', 'passwd', 'gb/admin'], /the password on stdin must be a single line/, 'line-one-pw\nline-two-pw\n'],
            [['user', 'passwd', 'gb/nobody'], /unknown user "gb\/nobody"/, `${NEW_PASSWORD}\n`],
            [['user', 'list', 'nowhere'], /unknown domain "nowhere"/],
            [['settings', 'set', 'gb', 'unsharedPeople', 'delete'], /unknown setting "unsharedPeople"; known: timeZone, .*unsharedUsers/],
            [['settings', 'set', 'gb', 'timeZone', 'Mars/Olympus'], /timeZone must be an IANA time zone/],
            [['settings', 'set', 'gb', 'safetyThresholdPercent', '12.5'], /safetyThresholdPercent must be a whole number/],
            [['settings', 'show', 'nowhere'], /unknown domain "nowhere"/],
          ];
          for (const [args, expected, input] of cases) {
            const r = await db.cli(args, input);
            assert.equal(r.code, 2, `${args.join(' ')}: ${r.stderr}`);
            assert.match(r.stderr, expected);
            assert.equal(r.stdout, '', args.join(' '));
          }
          const users = await (await db.ds()).getRepository(User).find();
          assert.deepEqual(users.map((u) => u.username).sort(), ['Mary Archer', 'admin']);
        });

        it('prints readable tables', async () => {
          const domains = await db.cli(['domain', 'list']);
          assert.match(domains.stdout, /^id\s+userspace\s+name\s+parent/);
          assert.match(domains.stdout, /gb-hs\s+Grand Bend High\s+gb/);
          const users = await db.cli(['user', 'list', 'gb', '--admins']);
          assert.match(users.stdout, /^id\s+username\s+name\s+email\s+admin/);
          assert.match(users.stdout, /Mary Archer\s+Mary Archer\s+yes\s+active\s+set/);
          assert.doesNotMatch(users.stdout, /Lovelace/);
          const settings = await db.cli(['settings', 'show', 'gb']);
          assert.match(settings.stdout, /unsharedUsers\s+inactive\s+managed users missing/);
          assert.match(settings.stdout, /timeZone\s+UTC\s+\(default\)/);
        });
      }

      if (kind === 'postgres') {
        it('on PostgreSQL, a command finding pending migrations tells the operator to run `rosterdrop migrate`', async () => {
          const name = `rd_cli_${process.pid}_${Math.random().toString(36).slice(2, 8)}`;
          const admin = new Client(ADMIN_URL);
          await admin.connect();
          await admin.query(`CREATE DATABASE ${name}`);
          try {
            const url = new URL(ADMIN_URL);
            url.pathname = `/${name}`;
            const env = childEnv({ DATABASE_URL: url.toString() });
            const pending = await runCli(env, ['domain', 'list']);
            assert.equal(pending.code, 6);
            assert.match(pending.stderr, /has pending migrations: run `rosterdrop migrate` first/);
            assert.equal(pending.stdout, '');
            const migrate = await runCli(env, ['migrate']);
            assert.equal(migrate.code, 0, migrate.stderr);
            assert.match(migrate.stdout, /applied InitialSchema1795392000000/);
            assert.equal((await runCli(env, ['domain', 'list'])).code, 0);
          } finally {
            await admin.query(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`);
            await admin.end();
          }
        });
      }
    });
  }
});

describe('rosterdrop without a database', () => {
  const env = childEnv({ DATABASE_URL: 'postgres://postgres@127.0.0.1:1/none' });

  it('exits 6 when the database cannot be opened, without printing the password', async () => {
    const r = await runCli(childEnv({ DATABASE_URL: 'postgres://someone:s3cr3t-pw@127.0.0.1:1/none' }), ['domain', 'list']);
    assert.equal(r.code, 6);
    assert.match(r.stderr, /^rosterdrop: cannot open the database postgres:\/\/someone@127\.0\.0\.1:1\/none: /);
    assert.ok(!r.stderr.includes('s3cr3t-pw'));
    const wrong = await runCli(childEnv({ DATABASE_URL: 'mysql://x@y/z' }), ['domain', 'list']);
    assert.equal(wrong.code, 6);
    assert.match(wrong.stderr, /DATABASE_URL must start with postgres:\/\//);
  });

  it('serve refuses an invalid setting naming it (exit 2); usage errors exit 2; --help exits 0 with the exit codes', async () => {
    const serve = await runCli({ ...env, ROSTERDROP_FTPS_PORT: 'twenty-one' }, ['serve']);
    assert.equal(serve.code, 2);
    assert.equal(serve.stderr, 'rosterdrop: invalid setting: ROSTERDROP_FTPS_PORT=twenty-one: expected a whole number from 0 to 65535\n');
    const unknown = await runCli(env, ['frobnicate']);
    assert.equal(unknown.code, 2);
    assert.match(unknown.stderr, /unknown command 'frobnicate'/);
    const badNumber = await runCli(env, ['run', 'show', 'abc']);
    assert.equal(badNumber.code, 2);
    assert.match(badNumber.stderr, /must be a whole number/);
    const help = await runCli(env, ['--help']);
    assert.equal(help.code, 0);
    assert.match(help.stdout, /Exit codes:\n {2}0 {2}done/);
    assert.match(help.stdout, /5 {2}sync held for review \(over the safety threshold, or autoCommit off\)/);
  });
});
