/**
 * Crash safety: a sync killed with SIGKILL in the middle of its apply leaves the LMS exactly as it
 * was, and a later sync of the same file succeeds. The sync runs in a child process
 * (crash-child.ts) against the suite's database (the SQLite file, or the PostgreSQL database),
 * on a generated roster of a few thousand rows:
 *
 * 1. killed when every row of the apply is written but not committed (the worst moment: the child
 *    hangs synchronously at that point, then is killed);
 * 2. killed when the apply phase starts (the domains already written in the transaction);
 * 3. killed after a random delay once the apply phase started (a real, unsynchronized crash):
 *    the file's entities are then all there or none (if the commit won the race), never part.
 *
 * And the other side of the commit: a failure while adding the commit's time to the run's record
 * (a trigger in the database refuses the update) is only logged; the sync stays succeeded.
 */
import { describe, test, before } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import * as path from 'node:path';
import type { DataSource } from 'typeorm';
import { databaseKinds, type DbKind } from '../helpers/db';
import { brief, ext, newRoot, runRow, runSync, runsOf, snapshot, useDatabase, usersUnder, type Snapshot } from '../helpers/lms';
import { memoryLogger } from '../helpers/memory-logger';
import { largeRoster, standardRoster } from '../helpers/roster';

const CLASSES = 60;
const PER_CLASS = 40;
const BIG_USERS = CLASSES * (PER_CLASS + 1);

interface Child {
  proc: ChildProcess;
  lines: string[];
  /** resolves with the first line matching, rejects if the child exits first */
  waitFor(re: RegExp, timeoutMs?: number): Promise<string>;
  exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
}

function startChild(args: Record<string, unknown>): Child {
  const proc = spawn(process.execPath, [path.join(__dirname, 'crash-child.js'), JSON.stringify(args)], { stdio: ['ignore', 'pipe', 'pipe'] });
  const lines: string[] = [];
  const waiters: Array<{ re: RegExp; resolve: (l: string) => void }> = [];
  let buf = '';
  let stderr = '';
  proc.stdout!.on('data', (chunk: Buffer) => {
    buf += chunk.toString('utf8');
    let nl: number;
    while ((nl = buf.indexOf('\n')) >= 0) {
      const line = buf.slice(0, nl);
      buf = buf.slice(nl + 1);
      lines.push(line);
      for (const w of waiters.filter((x) => x.re.test(line))) {
        waiters.splice(waiters.indexOf(w), 1);
        w.resolve(line);
      }
    }
  });
  proc.stderr!.on('data', (chunk: Buffer) => { stderr += chunk.toString('utf8'); });
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) => {
    proc.on('exit', (code, signal) => resolve({ code, signal }));
  });
  return {
    proc, lines, exited,
    waitFor(re, timeoutMs = 60_000) {
      const seen = lines.find((l) => re.test(l));
      if (seen) return Promise.resolve(seen);
      return new Promise<string>((resolve, reject) => {
        const timer = setTimeout(() => reject(new Error(`child: no line ${re} within ${timeoutMs} ms; got ${lines.join(' | ')} ${stderr}`)), timeoutMs);
        waiters.push({ re, resolve: (l) => { clearTimeout(timer); resolve(l); } });
        void exited.then(({ code, signal }) => {
          clearTimeout(timer);
          reject(new Error(`child exited (${code ?? signal}) before ${re}; output: ${lines.join(' | ')} ${stderr}`));
        });
      });
    },
  };
}

async function kill(child: Child): Promise<void> {
  child.proc.kill('SIGKILL');
  const { signal } = await child.exited;
  assert.equal(signal, 'SIGKILL');
}

for (const kind of databaseKinds()) {
  describe(`crash safety [${kind}]`, () => {
    const env = useDatabase(kind);
    let bigZip = '';

    before(async () => {
      bigZip = await env.zip(largeRoster(CLASSES, PER_CLASS), 'big.zip');
    });

    /** A root with a small roster already applied; returns it and the snapshot to compare with. */
    async function seeded(): Promise<{ rootId: number; before: Snapshot }> {
      const root = await newRoot(env.ds, { orgBaseCourses: true, teacherBaseCourses: true, termBaseCourses: true, unsharedUsers: 'delete',
        unsharedEnrollments: 'delete', unsharedCourses: 'delete', safetyThresholdPercent: 100 });
      // the big roster replaces the small one: a crash must not half-delete it either
      const r = await env.sync(root.id, standardRoster(3));
      assert.equal(r.status, 'succeeded');
      return { rootId: root.id, before: await snapshot(env.ds) };
    }

    const childArgs = (rootId: number, blockAt: string) => ({ ...env.db.options, domainId: rootId, zipPath: bigZip, blockAt });

    async function assertUntouched(rootId: number, before: Snapshot): Promise<void> {
      assert.deepEqual(await snapshot(env.ds), before, 'the LMS is exactly as before the crashed sync');
      assert.ok(!(await usersUnder(env.ds, rootId)).some((u) => u.externalId?.startsWith(ext('b'))), 'no user of the crashed file');
      const runs = await runsOf(env.ds, rootId);
      assert.equal((await runRow(env.ds, runs[runs.length - 1].id)).status, 'running', 'the crashed run never finished');
    }

    async function assertLaterSyncSucceeds(rootId: number): Promise<void> {
      const r = await env.sync(rootId, bigZip);
      assert.equal(r.status, 'succeeded', r.issues.map(brief).join('\n'));
      assert.equal(r.counts.users.created, BIG_USERS);
      assert.equal((await usersUnder(env.ds, rootId)).filter((u) => u.status === 'active').length, BIG_USERS);
    }

    test('killed with every row written but not committed: nothing changed; a later sync succeeds', async () => {
      const { rootId, before } = await seeded();
      const child = startChild(childArgs(rootId, 'apply-done'));
      await child.waitFor(/^BLOCKED apply-done$/);
      await kill(child);
      await assertUntouched(rootId, before);
      await assertLaterSyncSucceeds(rootId);
    });

    test('killed as the apply starts: nothing changed', async () => {
      const { rootId, before } = await seeded();
      const child = startChild(childArgs(rootId, 'apply-start'));
      await child.waitFor(/^BLOCKED apply-start$/);
      await kill(child);
      await assertUntouched(rootId, before);
    });

    test('killed at a random moment of the apply: all of the file or nothing', async (t) => {
      const { rootId, before } = await seeded();
      const child = startChild(childArgs(rootId, 'none'));
      await child.waitFor(/^PHASE apply /);
      await new Promise((r) => setTimeout(r, 5 + Math.floor(Math.random() * 60)));
      child.proc.kill('SIGKILL');
      const { signal } = await child.exited;
      t.diagnostic(`child output: ${child.lines.join(' | ')}; ${signal ?? 'exited'}`);
      const finished = child.lines.some((l) => l.startsWith('DONE'));
      const users = await usersUnder(env.ds, rootId);
      const big = users.filter((u) => u.externalId?.startsWith(ext('b')) && u.status === 'active').length;
      if (big === 0) {
        assert.deepEqual(await snapshot(env.ds), before, `killed (${signal}) before the commit: nothing changed`);
        await assertLaterSyncSucceeds(rootId);
      } else {
        assert.equal(big, BIG_USERS, `the commit won the race (${child.lines.join(' | ')}): all of the file`);
        const r = await env.sync(rootId, bigZip);
        assert.equal(r.status, 'succeeded');
      }
      assert.ok(signal === 'SIGKILL' || finished);
    });

    test('a failure after the commit, while adding its time to the record, is logged and does not fail the sync', async () => {
      const root = await newRoot(env.ds);
      const zip = await env.zip(standardRoster(2), 'after-commit.zip');
      const drop = await refuseUpdatesOfFinishedRuns(env.ds, kind, root.id);
      try {
        const log = memoryLogger();
        const r = await runSync(env.ds, root.id, zip, { engine: { logger: log.logger } });
        assert.equal(r.status, 'succeeded', r.issues.map(brief).join('\n'));
        const warning = log.entries.find((e) => e.message === 'could not record the commit time');
        assert.ok(warning, 'the failure is logged');
        assert.match(String(warning.error), /refused by the test/);
        assert.equal(warning.runId, r.runId);
        // the record committed with the changes stands
        const row = await runRow(env.ds, r.runId);
        assert.equal(row.status, 'succeeded');
        assert.ok(row.finishedAt, 'finished when it committed');
        assert.equal((await usersUnder(env.ds, root.id)).length, r.counts.users.created);
        assert.ok(r.counts.users.created > 0);
      } finally {
        await drop();
      }
    });
  });
}

/** A trigger that makes every update of the domain's finished runs fail; returns its removal. */
async function refuseUpdatesOfFinishedRuns(ds: DataSource, kind: DbKind, domainId: number): Promise<() => Promise<void>> {
  if (kind === 'postgres') {
    await ds.query(`CREATE FUNCTION rd_test_refuse() RETURNS trigger LANGUAGE plpgsql AS $$
      BEGIN RAISE EXCEPTION 'refused by the test'; END $$`);
    await ds.query(`CREATE TRIGGER rd_test_refuse BEFORE UPDATE ON sync_run FOR EACH ROW
      WHEN (OLD.status <> 'running' AND OLD.domain_id = ${domainId}) EXECUTE FUNCTION rd_test_refuse()`);
    return async () => {
      await ds.query('DROP TRIGGER rd_test_refuse ON sync_run');
      await ds.query('DROP FUNCTION rd_test_refuse()');
    };
  }
  await ds.query(`CREATE TRIGGER rd_test_refuse BEFORE UPDATE ON sync_run FOR EACH ROW
    WHEN OLD.status <> 'running' AND OLD.domain_id = ${domainId} BEGIN SELECT RAISE(ABORT, 'refused by the test'); END`);
  return async () => { await ds.query('DROP TRIGGER rd_test_refuse'); };
}
