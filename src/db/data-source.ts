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

/**
 * What the entities cannot say, because a decorator names one type and default for every driver:
 * how the migrations spelled a column per driver. Instants are `timestamptz` on PostgreSQL; on
 * SQLite they default to the time with milliseconds, and boolean defaults are `false`, not 0.
 * External IDs are hash-indexed on PostgreSQL (migration ExternalIdHashIndexes); SQLite has only
 * B-trees, and TypeORM refuses an index type there.
 * Fixed in the metadata once it is built (and validated), so that the entities describe the
 * migrated schema exactly: TypeORM's schema builder finds nothing to change (tests/db/schema.test.ts)
 * and `migration:generate` writes only what an entity really added.
 */
export class RosterDataSource extends DataSource {
  protected override async buildMetadatas(): Promise<void> {
    await super.buildMetadatas();
    const pg = this.options.type === 'postgres';
    for (const column of this.entityMetadatas.flatMap((m) => m.columns)) {
      const stamp = column.isCreateDate || column.isUpdateDate;
      if (pg && (stamp || column.type === Date)) column.type = 'timestamptz';
      if (!pg && stamp) column.default = () => "(strftime('%Y-%m-%d %H:%M:%f', 'now'))";
      if (!pg && column.default === false) column.default = () => 'false';
    }
    if (!pg) return;
    for (const index of this.entityMetadatas.flatMap((m) => m.indices)) {
      if (index.columns.length === 1 && index.columns[0].databaseName === 'external_id' && !index.isUnique) index.type = 'hash';
    }
  }
}

/** Where `ds` connects, as options another connection (a worker thread's) can be opened with. */
export function connectionOptionsOf(ds: DataSource): Pick<DatabaseOptions, 'databaseUrl' | 'sqlitePath'> {
  if (ds.options.type === 'postgres') return { databaseUrl: ds.options.url };
  const file = ds.options.database;
  if (typeof file !== 'string') throw new Error('the embedded database has no file name');
  return { sqlitePath: file };
}

/** Connects (and migrates when asked). The caller owns the DataSource and destroys it. */
export async function openDatabase(opts: DatabaseOptions): Promise<DataSource> {
  const ds = new RosterDataSource(dataSourceOptions(opts));
  await ds.initialize();
  if (opts.migrate) await ds.runMigrations({ transaction: 'each' });
  return ds;
}
