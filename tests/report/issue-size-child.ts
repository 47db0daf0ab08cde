/**
 * Child process for issue-size.test.ts: one sync of an upload and its report as the daemon makes
 * it (engine, then the reporter: result files and the mail over SMTP), in a process of its own so
 * that its peak memory (VmHWM) is the sync's and the report's alone. Prints one JSON line:
 *
 *   node dist/tests/report/issue-size-child.js '{"sqlitePath":…|"databaseUrl":…,"domainId":1,"zipPath":…,…}'
 *   → {"status":"completed_with_errors","runId":3,"vmHwmKb":123456}  or  {"error":"…","vmHwmKb":…}
 */
import * as fs from 'node:fs';
import { makeReporter } from '../../src/daemon/reporter';
import { openDatabase } from '../../src/db/data-source';
import { SyncRun } from '../../src/db/entities';
import { Notifier } from '../../src/notify/mailer';
import { SyncEngine } from '../../src/sync/engine';
import { silentLogger } from '../../src/util/logger';

interface ChildArgs {
  sqlitePath?: string;
  databaseUrl?: string;
  domainId: number;
  zipPath: string;
  fileName: string;
  dropRoot: string;
  smtpPort: number;
}

/** the process's peak resident set so far, in KiB (Linux) */
function vmHwmKb(): number {
  const m = /^VmHWM:\s+(\d+) kB$/m.exec(fs.readFileSync('/proc/self/status', 'utf8'));
  return m ? Number(m[1]) : -1;
}

async function main(): Promise<void> {
  const args = JSON.parse(process.argv[2] ?? '{}') as ChildArgs;
  const ds = await openDatabase({ sqlitePath: args.sqlitePath, databaseUrl: args.databaseUrl });
  const logger = silentLogger();
  const notifier = new Notifier({
    transport: 'smtp', outboxDir: '/nonexistent-outbox', from: 'rosterdrop@test.invalid', retries: 0, retryDelayMs: 0,
    smtp: { host: '127.0.0.1', port: args.smtpPort, secure: false, requireTLS: false, user: null, password: null, rejectUnauthorized: true },
  }, logger);
  try {
    const result = await new SyncEngine(ds, { logger }).run({
      domainId: args.domainId, zipPath: args.zipPath, fileName: args.fileName, source: 'test', reportPending: true,
    });
    const run = await ds.getRepository(SyncRun).findOneByOrFail({ id: result.runId });
    const reporter = makeReporter(ds, args.dropRoot, notifier, logger);
    const written = await reporter.report(run, { result });
    await reporter.drain(120_000);
    fs.writeSync(1, `${JSON.stringify({ status: result.status, message: result.message.slice(0, 500), runId: result.runId, written, vmHwmKb: vmHwmKb() })}\n`);
  } finally {
    notifier.close();
    await ds.destroy();
  }
}

main().catch((err: unknown) => {
  fs.writeSync(1, `${JSON.stringify({ error: err instanceof Error ? err.message.slice(0, 2000) : String(err), vmHwmKb: vmHwmKb() })}\n`);
  process.exit(2);
});
