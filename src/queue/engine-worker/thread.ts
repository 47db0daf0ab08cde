/**
 * A worker thread that runs one sync (or one resume of cut-short password hashing) for the daemon,
 * so that the engine's work, synchronous SQLite statements above all, never holds the daemon's
 * event loop. It opens a database connection of its own (migrated already by the daemon) and ends
 * with its job: its memory and connections go with it. See client.ts for the other side.
 */
import { parentPort, workerData } from 'node:worker_threads';
import type { DataSource } from 'typeorm';
import { openDatabase } from '../../db/data-source';
import { SyncEngine } from '../../sync/engine';
import { relayLogger } from './log-relay';
import type { FromWorker, ToWorker, WorkerInit } from './protocol';

/**
 * A session, a second connection for the run's records and one for cancelling a statement
 * (sync/interrupt.ts): what a run needs at most.
 */
const POOL_SIZE = 3;

async function main(port: NonNullable<typeof parentPort>, init: WorkerInit): Promise<void> {
  const send = (m: FromWorker): void => port.postMessage(m);
  const abort = new AbortController();
  const stopHashing = new AbortController();
  port.on('message', (m: ToWorker) => {
    if (m.type === 'abort') abort.abort(m.reason);
    else stopHashing.abort(m.reason);
  });
  let ds: DataSource | null = null;
  let hashing: Promise<void> = Promise.resolve();
  try {
    ds = await openDatabase({ ...init.database, migrate: false, poolSize: POOL_SIZE });
    const engine = new SyncEngine(ds, { logger: relayLogger(port, init.logLevel) });
    const job = init.job;
    if (job.kind === 'resume') {
      send({ type: 'resumed', outcome: await engine.resumePasswords(job.run, stopHashing.signal) });
      return;
    }
    const result = await engine.run({
      ...job.req,
      signal: job.abortable ? abort.signal : undefined,
      onResult: (r) => send({ type: 'result', result: r }),
      onProgress: job.progress ? (p) => send({ type: 'progress', progress: p }) : undefined,
      hashInBackground: job.hashInBackground ? {
        signal: stopHashing.signal,
        started: (left) => {
          send({ type: 'hash-started' });
          hashing = left.then((n) => send({ type: 'hash-done', left: n }), (err: unknown) => send({ type: 'hash-failed', error: message(err) }));
        },
      } : undefined,
    });
    send({ type: 'done', result });
    await hashing;
  } catch (err) {
    send({ type: 'failed', error: message(err) });
  } finally {
    await ds?.destroy().catch(() => undefined);
    port.close(); // nothing else keeps the thread: it ends
  }
}

function message(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}

if (parentPort) void main(parentPort, workerData as WorkerInit);
