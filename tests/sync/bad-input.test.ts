/**
 * Bad input. Structural problems (the upload as a whole is unusable) fail the sync and change
 * nothing at all, compared table by table. Row-level problems skip the row with an error that
 * names file, line (header = line 1), column and code; rows that depend on it are skipped too and
 * say why; everything else is applied (completed_with_errors).
 */
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { databaseKinds } from '../helpers/db';
import { makeZip, patchZip, renameEntry, setEncryptedFlag } from '../helpers/zip';
import {
  brief, coursesUnder, domainByExt, domainsUnder, enrollmentsUnder, errorsOf, ext, issueRows, mustUser, newRoot, runRow, snapshot, useDatabase,
  userByExt, usersUnder, type SyncEnv,
} from '../helpers/lms';
import { Roster, standardRoster } from '../helpers/roster';
import { User } from '../../src/db/entities';
import type { SyncResult } from '../../src/sync/types';

/** Applies the standard roster first, so a failed sync has something to leave alone. */
async function seeded(env: SyncEnv): Promise<number> {
  const root = await newRoot(env.ds, { unsharedUsers: 'delete', unsharedCourses: 'delete', unsharedEnrollments: 'delete', safetyThresholdPercent: 100 });
  const r = await env.sync(root.id, standardRoster());
  assert.equal(r.status, 'succeeded', JSON.stringify(r.issues));
  return root.id;
}

/** Runs a broken upload: it must fail with the code, on the file, and change nothing. */
async function assertRejected(env: SyncEnv, zipPath: string, code: string, file: string | null): Promise<SyncResult> {
  const rootId = await seeded(env);
  const before = await snapshot(env.ds);
  const result = await env.sync(rootId, zipPath);
  assert.equal(result.status, 'failed', `${code}: ${result.message}`);
  const errors = result.issues.filter((i) => i.severity === 'error');
  assert.ok(errors.some((i) => i.code === code && i.file === file), `expected ${code} on ${file}; got ${result.issues.map(brief).join('; ')}`);
  assert.match(result.message, /^rejected: /);
  assert.deepEqual(await snapshot(env.ds), before, 'a rejected upload changes nothing');
  const run = await runRow(env.ds, result.runId);
  assert.equal(run.status, 'failed');
  assert.equal(run.errorCount, result.issueTotals.error);
  assert.ok(run.errorCount >= 1);
  assert.deepEqual((await issueRows(env.ds, result.runId)).map((i) => `${i.seq} ${brief(i)}`), result.issues.map((i, k) => `${k + 1} ${brief(i)}`),
    'the issues of a failed run are kept too');
  return result;
}

/** The standard roster's zip entries, some renamed or replaced. */
function entries(roster: Roster, rename: (name: string) => string = (n) => n): Array<[string, string]> {
  return roster.toFiles().map(([n, c]) => [rename(n), c]);
}

for (const kind of databaseKinds()) {
  describe(`structural bad input [${kind}]`, () => {
    const env = useDatabase(kind);

    test('a required file missing from the zip', async () => {
      const r = await assertRejected(env, await env.zip(standardRoster().omit('users')), 'manifest.file_missing', 'manifest.csv');
      assert.match(r.issues.find((i) => i.code === 'manifest.file_missing')!.message, /users\.csv/);
    });

    test('a file a bulk upload needs marked absent in the manifest', async () => {
      // courses.csv may be left out of a bulk upload (structure.test.ts), users.csv may not
      const roster = standardRoster().mode('users', 'absent');
      await assertRejected(env, await env.zip(roster), 'manifest.required_file', 'manifest.csv');
    });

    test('manifest.csv missing', async () => {
      const zip = await makeZip(path.join(env.dir, 'no-manifest.zip'), entries(standardRoster()).filter(([n]) => n !== 'manifest.csv'));
      await assertRejected(env, zip, 'manifest.missing', 'manifest.csv');
    });

    test('bad manifest: oneroster.version 1.0', async () => {
      const r = await assertRejected(env, await env.zip(standardRoster().manifestProperty('oneroster.version', '1.0')),
        'manifest.oneroster_version', 'manifest.csv');
      assert.equal(r.issues.find((i) => i.code === 'manifest.oneroster_version')!.line, 3);
    });

    test('bad manifest: a file mode in capitals', async () => {
      await assertRejected(env, await env.zip(standardRoster().manifestProperty('file.orgs', 'Bulk')), 'manifest.invalid_mode', 'manifest.csv');
    });

    test('wrong header order (givenName and familyName swapped)', async () => {
      const header = 'sourcedId,status,dateLastModified,enabledUser,orgSourcedIds,role,username,userIds,familyName,givenName,middleName,' +
        'identifier,email,sms,phone,agentSourcedIds,grades,password';
      const r = await assertRejected(env, await env.zip(standardRoster().header('users', header)), 'csv.header_mismatch', 'users.csv');
      const issue = r.issues.find((i) => i.code === 'csv.header_mismatch')!;
      assert.equal(issue.line, 1);
      assert.equal(issue.column, 'givenName');
    });

    test('a header in the wrong case, in the last file read (after the others were staged)', async () => {
      const header = 'sourcedId,status,dateLastModified,classSourcedId,schoolSourcedId,userSourcedId,Role,primary,beginDate,endDate';
      await assertRejected(env, await env.zip(standardRoster().header('enrollments', header)), 'csv.header_mismatch', 'enrollments.csv');
    });

    test('a header-only bulk file', async () => {
      const roster = standardRoster().filter('enrollments', () => false);
      await assertRejected(env, await env.zip(roster), 'csv.no_rows', 'enrollments.csv');
    });

    test('an encrypted entry', async () => {
      const zip = await makeZip(path.join(env.dir, 'encrypted.zip'), entries(standardRoster()), { compress: false });
      patchZip(zip, (b) => setEncryptedFlag(b, 'users.csv'));
      await assertRejected(env, zip, 'zip.encrypted', 'users.csv');
    });

    test('path traversal (../users.csv)', async () => {
      const zip = await makeZip(path.join(env.dir, 'traversal.zip'), entries(standardRoster(), (n) => (n === 'users.csv' ? 'ab/users.csv' : n)));
      patchZip(zip, (b) => renameEntry(b, 'ab/users.csv', '../users.csv'));
      await assertRejected(env, zip, 'zip.unsafe_path', '../users.csv');
    });

    test('CSV files inside a folder', async () => {
      const zip = await makeZip(path.join(env.dir, 'nested.zip'), entries(standardRoster(), (n) => `export/${n}`), { directories: ['export/'] });
      const result = await assertRejected(env, zip, 'zip.nested_path', 'export/users.csv');
      assert.match(result.issues.find((i) => i.code === 'zip.nested_path')!.message, /root of the zip/);
    });

    test('not a zip at all', async () => {
      const file = path.join(env.dir, 'roster.zip');
      fs.writeFileSync(file, standardRoster().csv('users'));
      await assertRejected(env, file, 'zip.unreadable', null);
    });

    test('a corrupt entry (CRC mismatch) in the last file read', async () => {
      const zip = await makeZip(path.join(env.dir, 'corrupt.zip'), entries(standardRoster()), { compress: false });
      patchZip(zip, (b) => {
        // flip one byte of enrollments.csv's stored data: the first "student" becomes "studenu"
        const at = b.indexOf('student', b.indexOf('e-s1-math-1'));
        b[at + 6] = 'u'.charCodeAt(0);
        return b;
      });
      await assertRejected(env, zip, 'zip.unreadable', 'enrollments.csv');
    });
  });

  describe(`row-level bad input [${kind}]`, () => {
    const env = useDatabase(kind);

    /** Syncs on a fresh root and checks the outcome of a file with row errors. */
    async function syncBroken(roster: Roster): Promise<{ rootId: number; result: SyncResult }> {
      const root = await newRoot(env.ds);
      const result = await env.sync(root.id, roster);
      assert.equal(result.status, 'completed_with_errors', result.issues.map(brief).join('\n'));
      return { rootId: root.id, result };
    }

    const enrollmentsOf = (roster: Roster, pick: (e: Record<string, string>) => boolean) =>
      roster.rows('enrollments').filter(pick).map((e) => e.sourcedId);

    async function assertApplied(rootId: number, roster: Roster, skip: { users?: string[]; classes?: string[]; enrollments?: string[] }) {
      const sids = (file: 'users' | 'classes' | 'enrollments') => [...new Set(roster.sids(file))];
      const users = (await usersUnder(env.ds, rootId)).map((u) => u.externalId).sort();
      assert.deepEqual(users, sids('users').filter((s) => !(skip.users ?? []).includes(s)).map(ext).sort(), 'users applied');
      const sections = (await coursesUnder(env.ds, rootId)).filter((c) => c.kind === 'section').map((c) => c.externalId).sort();
      assert.deepEqual(sections, sids('classes').filter((s) => !(skip.classes ?? []).includes(s)).map(ext).sort(), 'sections applied');
      const enr = (await enrollmentsUnder(env.ds, rootId)).map((e) => e.externalId).sort();
      assert.deepEqual(enr, sids('enrollments').filter((s) => !(skip.enrollments ?? []).includes(s)).map(ext).sort(), 'enrollments applied');
    }

    test('an invalid enumeration (role "pupil") skips the user and their enrollments', async () => {
      const roster = standardRoster().set('users', 's2', { role: 'pupil' });
      const { rootId, result } = await syncBroken(roster);
      const skipped = enrollmentsOf(roster, (e) => e.userSourcedId === 's2');
      sameIssues(errorsOf(result), [
        `error value.enum users.csv:${roster.lineOf('users', 's2')} role s2`,
        ...skipped.map((sid) => `error ref.rejected enrollments.csv:${roster.lineOf('enrollments', sid)} userSourcedId ${sid}`),
      ]);
      assert.match(result.issues.find((i) => i.code === 'value.enum')!.message, /users\.csv line \d+/);
      await assertApplied(rootId, roster, { users: ['s2'], enrollments: skipped });
    });

    test('a bad date skips the session, the classes of that term and their enrollments', async () => {
      const roster = standardRoster().set('academicSessions', 'fall', { startDate: '2024-8-15' });
      const { rootId, result } = await syncBroken(roster);
      const classes = ['math-1', 'eng-1']; // both list fall (math-1 as its first term)
      const skipped = enrollmentsOf(roster, (e) => classes.includes(e.classSourcedId));
      sameIssues(errorsOf(result), [
        `error value.date academicSessions.csv:${roster.lineOf('academicSessions', 'fall')} startDate fall`,
        ...classes.map((c) => `error ref.rejected classes.csv:${roster.lineOf('classes', c)} termSourcedIds ${c}`),
        ...skipped.map((sid) => `error ref.rejected enrollments.csv:${roster.lineOf('enrollments', sid)} classSourcedId ${sid}`),
      ]);
      await assertApplied(rootId, roster, { classes, enrollments: skipped });
    });

    test('a blank required value skips the row and its dependents', async () => {
      const roster = standardRoster().set('users', 's3', { givenName: '' });
      const { rootId, result } = await syncBroken(roster);
      const skipped = enrollmentsOf(roster, (e) => e.userSourcedId === 's3');
      assert.equal(skipped.length, 2);
      sameIssues(errorsOf(result), [
        `error value.required users.csv:${roster.lineOf('users', 's3')} givenName s3`,
        ...skipped.map((sid) => `error ref.rejected enrollments.csv:${roster.lineOf('enrollments', sid)} userSourcedId ${sid}`),
      ]);
      await assertApplied(rootId, roster, { users: ['s3'], enrollments: skipped });
    });

    test('a duplicate sourcedId: the first row wins, the later one is skipped', async () => {
      const roster = standardRoster();
      const dupLine = roster.nextLine('users');
      roster.add('users', { ...roster.row('users', 's1'), sourcedId: 's1', username: 'someone.else', givenName: 'Impostor' });
      const { rootId, result } = await syncBroken(roster);
      sameIssues(errorsOf(result), [`error ref.duplicate_id users.csv:${dupLine} sourcedId s1`]);
      assert.match(result.issues[0].message, new RegExp(`line ${roster.lineOf('users', 's1')}`));
      const s1 = await mustUser(env.ds, rootId, 's1');
      assert.equal(s1.username, 'student.1');
      assert.equal(s1.givenName, 'Stu1');
      await assertApplied(rootId, roster, {});
    });

    test('an unknown reference skips the row; a class at an unknown school takes its enrollments along', async () => {
      const roster = standardRoster()
        .enrollment('e-ghost', 'math-1', 'ghost', 'sch1')
        .set('classes', 'math-2', { schoolSourcedId: 'sch9' });
      const { rootId, result } = await syncBroken(roster);
      const math2 = enrollmentsOf(roster, (e) => e.classSourcedId === 'math-2');
      sameIssues(errorsOf(result), [
        `error ref.unknown classes.csv:${roster.lineOf('classes', 'math-2')} schoolSourcedId math-2`,
        ...math2.map((sid) => `error ref.rejected enrollments.csv:${roster.lineOf('enrollments', sid)} classSourcedId ${sid}`),
        `error ref.unknown enrollments.csv:${roster.lineOf('enrollments', 'e-ghost')} userSourcedId e-ghost`,
      ]);
      assert.match(result.issues.find((i) => i.sourcedId === 'e-ghost')!.message, /"ghost"/);
      await assertApplied(rootId, roster, { classes: ['math-2'], enrollments: [...math2, 'e-ghost'] });
    });

    test('an org parent cycle rejects the orgs on it and what lives in them', async () => {
      const roster = standardRoster()
        .org('cyc-a', { parentSourcedId: 'cyc-b' })
        .org('cyc-b', { parentSourcedId: 'cyc-a' })
        .user('c1', 'cyc-a');
      const { rootId, result } = await syncBroken(roster);
      sameIssues(errorsOf(result), [
        `error ref.org_cycle orgs.csv:${roster.lineOf('orgs', 'cyc-a')} parentSourcedId cyc-a`,
        `error ref.org_cycle orgs.csv:${roster.lineOf('orgs', 'cyc-b')} parentSourcedId cyc-b`,
        `error ref.rejected users.csv:${roster.lineOf('users', 'c1')} orgSourcedIds c1`,
      ]);
      assert.deepEqual((await domainsUnder(env.ds, rootId)).map((d) => d.externalId).sort(), ['dist', 'sch1', 'sch2'].map(ext).sort());
      await assertApplied(rootId, roster, { users: ['c1'] });
    });

    test('a bad org skips its users, classes and enrollments', async () => {
      const roster = standardRoster().set('orgs', 'sch2', { type: 'charter' });
      const { rootId, result } = await syncBroken(roster);
      const errors = result.issues.filter((i) => i.severity === 'error');
      assert.equal(brief(errors[0]), `error value.enum orgs.csv:${roster.lineOf('orgs', 'sch2')} type sch2`);
      const users = ['t2', 's2-1'];
      const enr = enrollmentsOf(roster, (e) => e.classSourcedId === 'math-2' || users.includes(e.userSourcedId));
      // every dependent row is reported once, as rejected because of what it refers to
      const dependents = errors.slice(1);
      assert.ok(dependents.every((i) => i.code === 'ref.rejected'), dependents.map(brief).join('; '));
      const reported = dependents.map((i) => `${i.file}:${i.sourcedId}`).sort();
      assert.deepEqual(reported, [
        'classes.csv:math-2', ...users.map((u) => `users.csv:${u}`), ...enr.map((e) => `enrollments.csv:${e}`),
      ].sort());
      for (const i of dependents) assert.equal(i.line, roster.lineOf(i.file!.replace('.csv', '') as 'users', i.sourcedId!));
      assert.deepEqual((await domainsUnder(env.ds, rootId)).map((d) => d.externalId).sort(), ['dist', 'sch1'].map(ext).sort());
      await assertApplied(rootId, roster, { users, classes: ['math-2'], enrollments: enr });
    });

    test('a row with a wrong number of fields (a non-empty one past the header) is skipped with its dependents', async () => {
      const roster = standardRoster();
      const line = roster.nextLine('users');
      roster.rawLine('users', 'x9,,,true,sch1,student,user.x9,,X,Nine,,,,,,,,,x')
        .enrollment('e-x9', 'math-1', 'x9', 'sch1');
      const { rootId, result } = await syncBroken(roster);
      sameIssues(errorsOf(result), [
        `error csv.row_width users.csv:${line} - x9`,
        `error ref.rejected enrollments.csv:${roster.lineOf('enrollments', 'e-x9')} userSourcedId e-x9`,
      ]);
      await assertApplied(rootId, roster, { enrollments: ['e-x9'] });
    });

    test('a username taken by a hand-made user in the same domain: apply.username_taken, the hand-made user untouched', async () => {
      const root = await newRoot(env.ds);
      const roster = standardRoster();
      assert.equal((await env.sync(root.id, roster)).status, 'succeeded');
      const school = await domainByExt(env.ds, root.id, 'sch1');
      const repo = env.ds.getRepository(User);
      const hand = await repo.save(repo.create({
        domainId: school.id, username: 'new.kid', givenName: 'Hand', familyName: 'Made', email: 'hand@example.org',
        passwordHash: null, roles: '[]', status: 'active', externalId: null, metadata: null,
      }));
      const handBefore = await repo.findOneByOrFail({ id: hand.id });

      roster.user('s9', 'sch1', { username: 'new.kid', givenName: 'New', familyName: 'Kid' }).enrollment('e-s9', 'math-1', 's9', 'sch1')
        .user('s10', 'sch1', { username: 'twin' }).user('s11', 'sch1', { username: 'twin' });
      const result = await env.sync(root.id, roster);
      assert.equal(result.status, 'completed_with_errors');
      sameIssues(errorsOf(result), [
        `error apply.username_taken users.csv:${roster.lineOf('users', 's9')} username s9`,
        `error apply.username_taken users.csv:${roster.lineOf('users', 's11')} username s11`,
        `error ref.rejected enrollments.csv:${roster.lineOf('enrollments', 'e-s9')} userSourcedId e-s9`,
      ]);
      assert.match(result.issues.find((i) => i.sourcedId === 's11')!.message, new RegExp(`line ${roster.lineOf('users', 's10')}`));
      assert.deepEqual(await repo.findOneByOrFail({ id: hand.id }), handBefore);
      assert.equal(await userByExt(env.ds, root.id, 's9'), null);
      assert.equal(await userByExt(env.ds, root.id, 's11'), null);
      assert.equal((await mustUser(env.ds, root.id, 's10')).username, 'twin');
      assert.equal(result.counts.users.created, 1);
    });

    test('a synced user renamed, or moved to another school, onto a username a hand-made user holds there: apply.username_taken, both untouched', async () => {
      const root = await newRoot(env.ds);
      const roster = standardRoster();
      assert.equal((await env.sync(root.id, roster)).status, 'succeeded');
      const repo = env.ds.getRepository(User);
      const handUser = async (sid: string, username: string) => repo.save(repo.create({
        domainId: (await domainByExt(env.ds, root.id, sid)).id, username, givenName: 'Hand', familyName: 'Made', email: null,
        passwordHash: null, roles: '[]', status: 'active', externalId: null, metadata: null,
      }));
      const hands = [await handUser('sch1', 'taken.one'), await handUser('sch2', 'student.3')];
      const snapshot = async () => [await mustUser(env.ds, root.id, 's2'), await mustUser(env.ds, root.id, 's3'),
        ...await Promise.all(hands.map((h) => repo.findOneByOrFail({ id: h.id })))];
      const before = await snapshot();

      // s2 keeps its school and renames; s3 keeps its username and moves to where a hand-made user holds it
      roster.set('users', 's2', { username: 'taken.one' }).set('users', 's3', { orgSourcedIds: 'sch2' });
      const result = await env.sync(root.id, roster);
      assert.equal(result.status, 'completed_with_errors');
      const taken = errorsOf(result).filter((e) => e.startsWith('error apply.username_taken'));
      assert.deepEqual(taken.sort(), [
        `error apply.username_taken users.csv:${roster.lineOf('users', 's2')} username s2`,
        `error apply.username_taken users.csv:${roster.lineOf('users', 's3')} username s3`,
      ].sort());
      assert.deepEqual(await snapshot(), before);
    });
  });
}

/** The same issues, in any order (the order of checks is not a rule). */
function sameIssues(actual: string[], expected: string[]): void {
  assert.deepEqual([...actual].sort(), [...expected].sort());
}
