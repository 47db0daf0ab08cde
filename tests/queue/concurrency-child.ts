/**
 * Child process for queue.test.ts: `concurrency` domains each upload a roster at once, and one
 * runner with that concurrency runs them on a DataSource with `poolSize` connections. Prints one
 * JSON line with the runs. In a child so that a deadlock (every sync waiting for a connection
 * the others hold) fails the test when the parent kills it, instead of hanging the test process.
 *
 *   node dist/tests/queue/concurrency-child.js '{"databaseUrl":…,"dir":…,"concurrency":6,"poolSize":20}'
 */
import fs from 'node:fs';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { openDatabase } from '../../src/db/data-source';
import { SyncRun } from '../../src/db/entities';
import { domainLocks } from '../../src/queue/domain-lock';
import { UploadIntake } from '../../src/queue/intake';
import { markMailed } from '../../src/queue/report-state';
import { SyncRunner } from '../../src/queue/runner';
import { WorkerEngine } from '../../src/queue/engine-worker/client';
import type { SyncRequest, SyncResult } from '../../src/sync/types';
import { silentLogger } from '../../src/util/logger';
import { newRoot } from '../helpers/lms';
import { standardRoster } from '../helpers/roster';

interface Args { databaseUrl: string; dir: string; concurrency: number; poolSize: number }

async function main(args: Args): Promise<void> {
  const ds = await openDatabase({ databaseUrl: args.databaseUrl, migrate: false, poolSize: args.poolSize });
  const paths = { dropRoot: path.join(args.dir, 'drop'), queueDir: path.join(args.dir, 'queue') };
  const intake = new UploadIntake(ds, paths, silentLogger(), () => undefined);
  const zip = await standardRoster(3).zip(args.dir, 'r.zip');
  const ids: number[] = [];
  for (let i = 0; i < args.concurrency; i++) {
    const d = await newRoot(ds, {}, `qn${i}`);
    const file = path.join(paths.dropRoot, d.userspace, 'r.zip');
    fs.mkdirSync(path.dirname(file), { recursive: true });
    fs.copyFileSync(zip, file);
    ids.push((await intake.accept(file, { source: 'test' }))!.id);
  }
  let reported = 0;
  // every sync starts only once all of them have been given a slot, so that they really run at
  // once however slow the machine is (else the first could end before the last starts)
  let arrived = 0;
  let allArrived: () => void = () => undefined;
  const barrier = new Promise<void>((resolve) => { allArrived = resolve; });
  class AllAtOnce extends WorkerEngine {
    override async run(req: SyncRequest): Promise<SyncResult> {
      if (++arrived === ids.length) allArrived();
      await barrier;
      return super.run(req);
    }
  }
  const runner = new SyncRunner(ds, new AllAtOnce(ds, silentLogger()), domainLocks(ds), {
    concurrency: args.concurrency, ...paths, archiveDir: path.join(args.dir, 'archive'), failedDir: path.join(args.dir, 'failed'), pollMs: 200,
  }, async (run, outcome) => {
    if (outcome !== 'stored' && ids.includes(run.id)) reported++;
    await markMailed(ds, run.id);
    return true;
  }, silentLogger());
  await runner.start();
  while (reported < ids.length) await sleep(50);
  await runner.stop(10_000);
  const runs = await ds.getRepository(SyncRun).findBy(ids.map((id) => ({ id })));
  process.stdout.write(`${JSON.stringify(runs.map((r) => ({ status: r.status, startedAt: r.startedAt, finishedAt: r.finishedAt })))}\n`);
  await ds.destroy();
}

main(JSON.parse(process.argv[2]) as Args).catch((err: unknown) => {
  process.stderr.write(`${(err as Error).stack ?? String(err)}\n`);
  process.exit(1);
});
