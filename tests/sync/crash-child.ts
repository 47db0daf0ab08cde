/**
 * Child process for the crash tests (crash.test.ts): runs one sync against a database given on
 * the command line and reports its progress on stdout, one line per phase, so the parent can
 * SIGKILL it at a chosen moment:
 *
 *   node dist/tests/sync/crash-child.js '{"sqlitePath":…|"databaseUrl":…,"domainId":1,"zipPath":…,"blockAt":…}'
 *
 * blockAt:
 * - "apply-start": when the engine reports the apply phase (inside the transaction, after the
 *   domains were written), print "BLOCKED apply-start" and hang;
 * - "apply-done": when the engine logs that the apply phase is done (every row written, nothing
 *   committed), print "BLOCKED apply-done" and hang;
 * - "none": run to the end; prints "PHASE <name> <ms since start>" lines and "DONE <status>".
 * Hanging is synchronous (Atomics.wait), so nothing else of the sync can run meanwhile.
 */
import * as fs from 'node:fs';
import { openDatabase } from '../../src/db/data-source';
import { SyncEngine } from '../../src/sync/engine';
import type { Logger } from '../../src/util/logger';

interface ChildArgs {
  sqlitePath?: string;
  databaseUrl?: string;
  domainId: number;
  zipPath: string;
  blockAt: 'apply-start' | 'apply-done' | 'none';
}

const t0 = Date.now();

function say(line: string): void {
  fs.writeSync(1, `${line}\n`);
}

function hang(point: string): never {
  say(`BLOCKED ${point}`);
  Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, 120_000);
  say('TIMEOUT');
  process.exit(3);
}

async function main(): Promise<void> {
  const args = JSON.parse(process.argv[2] ?? '{}') as ChildArgs;
  const ds = await openDatabase({ sqlitePath: args.sqlitePath, databaseUrl: args.databaseUrl });
  // a minimal logger: the engine only logs through child/info/debug/warn/error
  const logger = {
    child: () => logger,
    info: () => logger,
    warn: () => logger,
    error: (msg: string, meta?: { error?: string }) => { say(`ERROR ${msg} ${meta?.error ?? ''}`); return logger; },
    debug: (msg: string, meta?: { phase?: string }) => {
      if (msg === 'phase done' && meta?.phase === 'apply' && args.blockAt === 'apply-done') hang('apply-done');
      return logger;
    },
  };
  let phase = '';
  const result = await new SyncEngine(ds, { logger: logger as unknown as Logger }).run({
    domainId: args.domainId, zipPath: args.zipPath, source: 'test',
    onProgress: (p) => {
      if (p.phase === phase) return;
      phase = p.phase;
      say(`PHASE ${p.phase} ${Date.now() - t0}`);
      if (p.phase === 'apply' && args.blockAt === 'apply-start') hang('apply-start');
    },
  });
  say(`DONE ${result.status} ${Date.now() - t0}`);
  await ds.destroy();
}

main().catch((err: unknown) => {
  say(`FAILED ${err instanceof Error ? err.stack ?? err.message : String(err)}`);
  process.exit(2);
});
