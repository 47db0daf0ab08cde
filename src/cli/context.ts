/**
 * What every command shares: the logger (stderr, so stdout stays clean for results and --json),
 * the database (opened per command, always closed), the exit code, and stdout/stderr writers.
 */
import type { DataSource } from 'typeorm';
import { loadDatabaseOptions } from '../config/database';
import type { DatabaseOptions } from '../db/data-source';
import type { Domain } from '../db/entities';
import type { Logger } from '../util/logger';
import { CliError, EXIT, type ExitCode } from './errors';
import { jsonText } from './output';

// TypeORM, winston and the engine load lazily (`await import`): `--help` and usage errors stay fast.

export type Migrations = 'auto' | 'none';

export class CliContext {
  exitCode: ExitCode = EXIT.ok;
  verbose = false;
  /** log level without --verbose or LOG_LEVEL: commands keep quiet, the daemon reports (setDefaultLogLevel) */
  private defaultLogLevel = 'warn';
  /** called before each log line (the progress bar wipes itself) */
  beforeLog: (() => void) | null = null;
  private log: Logger | null = null;

  constructor(readonly env: NodeJS.ProcessEnv = process.env) {}

  /** Wraps a command's action: what it returns becomes the exit code. */
  act<A extends unknown[]>(fn: (...args: A) => Promise<ExitCode | void>): (...args: A) => Promise<void> {
    return async (...args: A) => {
      const code = await fn(...args);
      if (code !== undefined) this.exitCode = code;
    };
  }

  /** The level used unless --verbose or LOG_LEVEL say otherwise; also for a logger already made. */
  setDefaultLogLevel(level: string): void {
    this.defaultLogLevel = level;
    if (this.log) this.log.level = this.logLevel();
  }

  private logLevel(): string {
    return this.verbose ? 'debug' : this.env.LOG_LEVEL ?? this.defaultLogLevel;
  }

  async logger(): Promise<Logger> {
    if (!this.log) {
      const [{ createLogger }, winston] = await Promise.all([import('../util/logger'), import('winston')]);
      const log = createLogger({
        stderr: true,
        level: this.logLevel(),
        json: this.env.NODE_ENV === 'production' || !process.stderr.isTTY,
      });
      const verbose = this.verbose;
      const hook = winston.format((info) => {
        this.beforeLog?.();
        if (!verbose) delete info.stack;
        return info;
      });
      log.format = winston.format.combine(hook(), log.format);
      this.log = log;
    }
    return this.log;
  }

  out(text: string): void {
    process.stdout.write(text.endsWith('\n') ? text : `${text}\n`);
  }

  json(value: unknown): void {
    process.stdout.write(jsonText(value));
  }

  err(text: string): void {
    process.stderr.write(text.endsWith('\n') ? text : `${text}\n`);
  }

  /**
   * Opens the database for one command and closes it afterwards. `auto`: the embedded database is
   * migrated on the spot, PostgreSQL must already be migrated (`rosterdrop migrate`). `none`: as is.
   */
  async withDatabase<T>(fn: (ds: DataSource) => Promise<T>, migrations: Migrations = 'auto', poolSize?: number): Promise<T> {
    const options = { ...loadDatabaseOptions(this.env), poolSize };
    const ds = await openOrExplain(options);
    try {
      if (migrations === 'auto') await this.prepareSchema(ds, options);
      return await fn(ds);
    } finally {
      await ds.destroy().catch(() => undefined);
    }
  }

  async requireDomain(ds: DataSource, userspace: string): Promise<Domain> {
    const { findDomain } = await import('../db/domains');
    const domain = await findDomain(ds, userspace);
    if (!domain) throw new CliError(`unknown domain "${userspace}" (see \`rosterdrop domain list\`)`);
    return domain;
  }

  private async prepareSchema(ds: DataSource, options: DatabaseOptions): Promise<void> {
    if (ds.options.type === 'postgres') {
      if (await ds.showMigrations()) {
        throw new CliError(`the database ${describeDatabase(options)} has pending migrations: run \`rosterdrop migrate\` first`, EXIT.database);
      }
      return;
    }
    try {
      const ran = await ds.runMigrations({ transaction: 'each' });
      if (ran.length) (await this.logger()).info('migrated the embedded database', { path: options.sqlitePath, migrations: ran.map((m) => m.name) });
    } catch (err) {
      // another rosterdrop process may have migrated the fresh file at the same moment
      if (await ds.showMigrations().catch(() => true)) {
        throw new CliError(`cannot migrate the embedded database ${options.sqlitePath}: ${message(err)}`, EXIT.database);
      }
    }
  }
}

export async function openOrExplain(options: DatabaseOptions): Promise<DataSource> {
  const { openDatabase } = await import('../db/data-source');
  try {
    return await openDatabase({ ...options, migrate: false });
  } catch (err) {
    throw new CliError(`cannot open the database ${describeDatabase(options)}: ${message(err)}`, EXIT.database);
  }
}

/** Where the data lives, without the password of a DATABASE_URL. */
export function describeDatabase(options: DatabaseOptions): string {
  if (options.databaseUrl) {
    try {
      const url = new URL(options.databaseUrl);
      url.password = '';
      return url.toString();
    } catch {
      return 'DATABASE_URL';
    }
  }
  return options.sqlitePath ?? '(embedded)';
}

export function message(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}
