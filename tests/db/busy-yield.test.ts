/**
 * The embedded database while a sync in a worker thread holds its write lock: the daemon's writes
 * (an upload's queued run, a claim, a transaction) wait for it without holding the event loop, and
 * go through once the lock is free. Another connection holds the lock here, as the worker's does.
 */
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { monitorEventLoopDelay } from 'node:perf_hooks';
import { setTimeout as sleep } from 'node:timers/promises';
import { after, before, describe, it } from 'node:test';
import Database from 'better-sqlite3';
import type { DataSource } from 'typeorm';
import { yieldWhileBusy } from '../../src/db/busy-yield';
import { openDatabase } from '../../src/db/data-source';
import { createDomain } from '../../src/db/domains';
import { SyncRun } from '../../src/db/entities';
import { claimRun, enqueueRun } from '../../src/queue/job-store';

describe('the daemon\'s writes to a busy embedded database', () => {
  let dir: string;
  let ds: DataSource;
  let domainId: number;
  before(async () => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'rosterdrop-busy-'));
    ds = await openDatabase({ sqlitePath: path.join(dir, 'rosterdrop.sqlite'), migrate: true });
    yieldWhileBusy(ds); // what the daemon's WorkerEngine installs
    domainId = (await createDomain(ds, { userspace: 'd', name: 'd' })).id;
  });
  after(async () => { await ds?.destroy(); fs.rmSync(dir, { recursive: true, force: true }); });

  it('wait for another connection\'s write lock with the event loop free, then succeed', async () => {
    const sync = new Database(path.join(dir, 'rosterdrop.sqlite'));
    sync.exec('BEGIN IMMEDIATE');
    sync.prepare("UPDATE domain SET name = 'held' WHERE id = ?").run(domainId);
    const delay = monitorEventLoopDelay({ resolution: 10 });
    delay.enable();
    let settled = false;
    const writes = Promise.all([
      enqueueRun(ds, { domainId, source: 'test', fileName: 'a.zip', uploadPath: '/x/a.zip', validateOnly: false, forced: false, uploadedBy: null, sha256: null, size: null }),
      ds.transaction(async (m) => { await m.getRepository(SyncRun).count(); }),
    ]).finally(() => { settled = true; });
    // the loop turns while they wait: a second's worth of timer ticks (a blocked loop gets none)
    let ticks = 0;
    while (ticks < 50) {
      await sleep(20);
      ticks++;
      assert.equal(settled, false, 'nothing can be written while the lock is held');
    }
    sync.exec('COMMIT');
    sync.close();
    const [queued] = await writes;
    delay.disable();
    assert.ok(await claimRun(ds, queued.id), 'and the queued run can be claimed');
    const maxMs = delay.max / 1e6;
    // a try blocks for busy_timeout (20 ms); the old 10 s busy wait held the loop for all of it
    assert.ok(maxMs < 250, `the event loop was held for ${maxMs.toFixed(0)} ms`);
  });
});
