import 'reflect-metadata';
import fs from 'node:fs';
import path from 'node:path';
import { DataSource, type DataSourceOptions } from 'typeorm';
import { ENTITIES } from './entities';
import { MIGRATIONS } from './migrations';

export interface DatabaseOptions {
  /** postgres://… selects PostgreSQL; otherwise the embedded SQLite file is used */
  databaseUrl?: string;
  /** the embedded database file (created with its folder when missing) */
  sqlitePath?: string;
  /** run pending migrations after connecting */
  migrate?: boolean;
  /** PostgreSQL connections at most (default 10); the daemon sizes it to its concurrency */
  poolSize?: number;
  logging?: boolean;
}

export function isPostgresUrl(url: string | undefined): url is string {
  return !!url && /^postgres(ql)?:\/\//.test(url);
}

export function dataSourceOptions(opts: DatabaseOptions): DataSourceOptions {
  const common = { entities: ENTITIES, migrations: MIGRATIONS, synchronize: false, logging: opts.logging ?? false };
  if (isPostgresUrl(opts.databaseUrl)) {
    return { ...common, type: 'postgres', url: opts.databaseUrl, extra: { max: opts.poolSize ?? 10 } };
  }
  if (opts.databaseUrl) throw new Error('DATABASE_URL must start with postgres:// (leave it unset for the embedded database)');
  if (!opts.sqlitePath) throw new Error('sqlitePath is required for the embedded database');
  fs.mkdirSync(path.dirname(opts.sqlitePath), { recursive: true });
  return {
    ...common,
    type: 'better-sqlite3',
    database: opts.sqlitePath,
    enableWAL: true,
    // NORMAL is durable across application crashes in WAL mode; a power loss may drop the last commit
    prepareDatabase: (db: { pragma(sql: string): unknown }) => {
      db.pragma('synchronous = NORMAL');
      db.pragma('busy_timeout = 10000');
      db.pragma('foreign_keys = ON');
    },
  };
}

/** Connects (and migrates when asked). The caller owns the DataSource and destroys it. */
export async function openDatabase(opts: DatabaseOptions): Promise<DataSource> {
  const ds = new DataSource(dataSourceOptions(opts));
  await ds.initialize();
  if (opts.migrate) await ds.runMigrations({ transaction: 'each' });
  return ds;
}
