/**
 * A held run's list of removals (held_removal): planned inside the sync's transaction, which then
 * rolls back, and stored after it. Rows planned in a transaction that rolls back go with it, so the
 * list is spooled to a file in between: pages of a few thousand rows, never the whole list in
 * memory (a district's 1M enrollments can all be on it).
 */
import { createReadStream, createWriteStream } from 'node:fs';
import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { createInterface } from 'node:readline';
import type { SqlSession, SqlValue } from '../db/sql-session';
import { count, type ApplyContext } from './apply/context';
import { plannedCourseRemovalRows } from './apply/courses';
import { plannedEnrollmentRemovalRows } from './apply/enrollments';
import { plannedUserRemovalRows } from './apply/users';

const PAGE = 5000;

/** Plans the list into the work table held_plan (seq, entity, external_id, name); before the apply changes anything. */
export async function planHeldList(ctx: ApplyContext): Promise<number> {
  const parts: Array<[string, string[]]> = [
    ['users', plannedUserRemovalRows(ctx)],
    ['courses', plannedCourseRemovalRows(ctx)],
    ['enrollments', await plannedEnrollmentRemovalRows(ctx)],
  ];
  const union = parts.flatMap(([entity, selects]) => selects.map((sql) => `SELECT '${entity}' AS entity, r.external_id, r.name FROM (${sql}) r`)).join('\nUNION ALL\n');
  await ctx.db.run('DROP TABLE IF EXISTS held_plan');
  await ctx.db.run(`CREATE ${ctx.db.scratch} held_plan AS SELECT row_number() OVER () AS seq, entity, external_id, coalesce(name, '') AS name FROM (${union}) p`);
  await ctx.db.run('CREATE INDEX ix_held_plan_seq ON held_plan (seq)');
  return count(ctx.db, 'SELECT count(*) AS n FROM held_plan');
}

/** True when held_plan is not the list the run was held with (something else changed the domain since). */
export async function heldListDiffers(db: SqlSession, runId: number): Promise<boolean> {
  const planned = await count(db, 'SELECT count(*) AS n FROM held_plan');
  const stored = await count(db, 'SELECT count(*) AS n FROM held_removal WHERE run_id = $1', [runId]);
  if (planned !== stored) return true;
  // same size, and every planned removal on the stored list: the same list (each entity is on it once)
  const added = await count(db, `SELECT count(*) AS n FROM held_plan p WHERE NOT EXISTS (SELECT 1 FROM held_removal h
    WHERE h.run_id = $1 AND h.entity = p.entity AND h.external_id = p.external_id)`, [runId]);
  return added > 0;
}

export interface SpooledList {
  rows: number;
  /** stores the spooled list as the run's (replacing an earlier one); inside the transaction that records the run */
  store(db: SqlSession, runId: number): Promise<number>;
  remove(): Promise<void>;
}

/** Reads held_plan out, page by page, into a file: it outlives the rollback. */
export async function spoolHeldList(db: SqlSession): Promise<SpooledList> {
  const dir = await fs.mkdtemp(path.join(os.tmpdir(), 'rosterdrop-held-'));
  const file = path.join(dir, 'removals.jsonl');
  const out = createWriteStream(file, { mode: 0o600 });
  let rows = 0;
  try {
    let last = 0;
    for (;;) {
      const page = await db.query<{ seq: number | string; entity: string; external_id: string; name: string }>(
        'SELECT seq, entity, external_id, name FROM held_plan WHERE seq > $1 ORDER BY seq LIMIT $2', [last, PAGE]);
      if (!page.length) break;
      const text = page.map((r) => JSON.stringify([r.entity, r.external_id, r.name])).join('\n') + '\n';
      if (!out.write(text)) await new Promise<void>((resolve) => out.once('drain', resolve));
      last = Number(page[page.length - 1].seq);
      rows += page.length;
    }
  } finally {
    await new Promise<void>((resolve, reject) => out.end((err?: Error | null) => (err ? reject(err) : resolve())));
  }
  return {
    rows,
    async store(session, runId) {
      await session.run('DELETE FROM held_removal WHERE run_id = $1', [runId]);
      return session.load('held_removal', ['run_id', 'entity', 'external_id', 'name'], batches(file, runId));
    },
    remove: () => fs.rm(dir, { recursive: true, force: true }),
  };
}

async function* batches(file: string, runId: number): AsyncGenerator<SqlValue[][]> {
  let batch: SqlValue[][] = [];
  for await (const line of createInterface({ input: createReadStream(file), crlfDelay: Infinity })) {
    if (!line) continue;
    const [entity, externalId, name] = JSON.parse(line) as [string, string, string];
    batch.push([runId, entity, externalId, name]);
    if (batch.length >= PAGE) { yield batch; batch = []; }
  }
  if (batch.length) yield batch;
}
