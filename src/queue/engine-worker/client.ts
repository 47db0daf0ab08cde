/**
 * The sync engine as the daemon's runner uses it (run, resumePasswords), each call in a worker
 * thread of its own (thread.ts): the daemon's event loop, which answers FTPS for every tenant,
 * only passes messages. A worker that dies (an uncaught error, out of memory) fails its call: the
 * runner records the run as failed ("sync crashed"), and its transaction, never committed, went
 * with the worker's connection. A worker that dies after the run was recorded (while hashing
 * passwords) leaves the run as recorded: the hashing is resumed like any cut short.
 */
import path from 'node:path';
import { Worker } from 'node:worker_threads';
import type { DataSource } from 'typeorm';
import { yieldWhileBusy } from '../../db/busy-yield';
import { connectionOptionsOf } from '../../db/data-source';
import type { SyncRun } from '../../db/entities';
import type { ResumeOutcome } from '../../sync/password-resume';
import type { SyncRequest, SyncResult } from '../../sync/types';
import type { Logger } from '../../util/logger';
import type { RunEngine } from '../runner';
import { writeRelayed } from './log-relay';
import type { FromWorker, ToWorker, WorkerInit, WorkerJob } from './protocol';

const THREAD = path.join(__dirname, 'thread.js');

export class WorkerEngine implements RunEngine {
  private readonly database: WorkerInit['database'];

  constructor(ds: DataSource, private readonly logger: Logger) {
    this.database = connectionOptionsOf(ds);
    // the workers' connections write beside `ds`: on SQLite its writes must not block this thread
    yieldWhileBusy(ds);
  }

  run(req: SyncRequest): Promise<SyncResult> {
    const { signal, hashInBackground, onProgress, onResult, ...plain } = req;
    const worker = this.spawn({ kind: 'run', req: plain, abortable: !!signal, progress: !!onProgress, hashInBackground: !!hashInBackground });
    const tell = (m: ToWorker): void => worker.postMessage(m);
    const reason = (s: AbortSignal): string => (typeof s.reason === 'string' ? s.reason : 'aborted');
    const onAbort = (): void => { if (signal) tell({ type: 'abort', reason: reason(signal) }); };
    const onStopHashing = (): void => { if (hashInBackground) tell({ type: 'stop-hashing', reason: reason(hashInBackground.signal) }); };
    return new Promise<SyncResult>((resolve, reject) => {
      let recorded: SyncResult | null = null;
      let returned = false;
      let hashing: { resolve: (left: number) => void; reject: (err: Error) => void } | null = null;
      const settle = (): void => {
        returned = true;
        signal?.removeEventListener('abort', onAbort);
      };
      worker.on('message', (m: FromWorker) => {
        switch (m.type) {
          case 'log': writeRelayed(this.logger, m); break;
          case 'progress': onProgress?.(m.progress); break;
          case 'result': recorded = m.result; onResult?.(m.result); break;
          case 'hash-started':
            hashInBackground?.started(new Promise<number>((res, rej) => { hashing = { resolve: res, reject: rej }; }));
            break;
          case 'hash-done': hashing?.resolve(m.left); hashing = null; break;
          case 'hash-failed': hashing?.reject(new Error(m.error)); hashing = null; break;
          case 'done': settle(); resolve(m.result); break;
          case 'failed': settle(); reject(new Error(m.error)); break;
          case 'resumed': break; // not a run's
        }
      });
      const died = (why: string): void => {
        hashInBackground?.signal.removeEventListener('abort', onStopHashing);
        hashing?.reject(new Error(`the sync worker died while hashing passwords: ${why}`));
        hashing = null;
        if (returned) return;
        settle();
        if (recorded) {
          // committed and reported: a failure now would contradict the record
          this.logger.error('the sync worker died after the run was recorded; its password hashing resumes later', { runId: recorded.runId, error: why });
          resolve(recorded);
        } else {
          reject(new Error(`the sync worker died: ${why}`));
        }
      };
      worker.on('error', (err) => died(err.message));
      worker.on('exit', (code) => died(`it exited with code ${code}`));
      if (signal?.aborted) onAbort();
      else signal?.addEventListener('abort', onAbort, { once: true });
      if (hashInBackground?.signal.aborted) onStopHashing();
      else hashInBackground?.signal.addEventListener('abort', onStopHashing, { once: true });
    });
  }

  resumePasswords(run: SyncRun, signal?: AbortSignal): Promise<ResumeOutcome> {
    const worker = this.spawn({ kind: 'resume', run });
    const onAbort = (): void => worker.postMessage({ type: 'stop-hashing', reason: 'aborted' } satisfies ToWorker);
    return new Promise<ResumeOutcome>((resolve, reject) => {
      worker.on('message', (m: FromWorker) => {
        if (m.type === 'log') writeRelayed(this.logger, m);
        else if (m.type === 'resumed') resolve(m.outcome);
        else if (m.type === 'failed') reject(new Error(m.error));
      });
      // a promise settles once: these only count when no answer came
      worker.on('error', (err) => reject(new Error(`the hashing worker died: ${err.message}`)));
      worker.on('exit', (code) => { signal?.removeEventListener('abort', onAbort); reject(new Error(`the hashing worker exited (code ${code}) without an answer`)); });
      if (signal?.aborted) onAbort();
      else signal?.addEventListener('abort', onAbort, { once: true });
    });
  }

  private spawn(job: WorkerJob): Worker {
    const init: WorkerInit = { database: this.database, logLevel: this.logger.level, job };
    return new Worker(THREAD, { workerData: init });
  }
}
