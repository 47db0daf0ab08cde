/**
 * Liveness and readiness for load balancers and orchestrators, both public and cheap:
 * /healthz answers when the process does; /readyz when the database answers a query, every
 * migration this build knows has run, and FTPS is listening. Each check is bounded by a timeout,
 * so a hung database turns into a 503 instead of a hung probe.
 */
import type { FastifyInstance } from 'fastify';
import type { DataSource } from 'typeorm';
import type { WebContext } from '../context';

export const READY_CHECK_TIMEOUT_MS = 2000;

export type CheckResult = 'ok' | string;

export interface Readiness {
  ready: boolean;
  checks: { database: CheckResult; migrations: CheckResult; ftps: CheckResult };
}

export function registerHealth(app: FastifyInstance, ctx: WebContext): void {
  const statusSchema = { type: 'object', properties: { status: { type: 'string' } }, required: ['status'] } as const;
  app.get('/healthz', {
    config: { public: true },
    schema: { summary: 'Liveness: the process answers', tags: ['operations'], response: { 200: statusSchema } },
  }, async () => ({ status: 'ok' }));

  const checkSchema = { type: 'string', description: '"ok", or why the check failed' } as const;
  const readySchema = {
    type: 'object',
    properties: {
      status: { type: 'string', enum: ['ready', 'not ready'] },
      checks: { type: 'object', properties: { database: checkSchema, migrations: checkSchema, ftps: checkSchema }, required: ['database', 'migrations', 'ftps'] },
    },
    required: ['status', 'checks'],
  } as const;
  app.get('/readyz', {
    config: { public: true },
    schema: { summary: 'Readiness: database reachable, migrations current, FTPS listening', tags: ['operations'], response: { 200: readySchema, 503: readySchema } },
  }, async (_req, reply) => {
    const r = await readiness(ctx.ds, ctx.ftpsListening);
    return reply.code(r.ready ? 200 : 503).send({ status: r.ready ? 'ready' : 'not ready', checks: r.checks });
  });
}

export async function readiness(ds: DataSource, ftpsListening: () => boolean): Promise<Readiness> {
  const [database, migrations] = await Promise.all([
    check(async () => { await ds.query('SELECT 1'); }),
    check(() => migrationsCurrent(ds)),
  ]);
  const ftps = ftpsListening() ? 'ok' : 'FTPS is not listening';
  return { ready: database === 'ok' && migrations === 'ok' && ftps === 'ok', checks: { database, migrations, ftps } };
}

/**
 * One small read of the migrations table against the migrations of this build. Not
 * DataSource.showMigrations(): it creates the table when missing (a write from a probe).
 */
async function migrationsCurrent(ds: DataSource): Promise<void> {
  const table = ds.options.migrationsTableName ?? 'migrations';
  const rows: Array<{ name: string }> = await ds.query(`SELECT name FROM ${ds.driver.escape(table)}`);
  const done = new Set(rows.map((r) => r.name));
  const pending = ds.migrations.map((m) => m.name ?? m.constructor.name).filter((name) => !done.has(name));
  if (pending.length) throw new Error(`${pending.length} migration(s) pending: ${pending.join(', ')} (run \`rosterdrop migrate\`)`);
}

async function check(fn: () => Promise<void>): Promise<CheckResult> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`no answer within ${READY_CHECK_TIMEOUT_MS} ms`)), READY_CHECK_TIMEOUT_MS);
  });
  try {
    await Promise.race([fn(), timeout]);
    return 'ok';
  } catch (err) {
    return err instanceof Error ? err.message : String(err);
  } finally {
    clearTimeout(timer);
  }
}
