import path from 'node:path';
import type { DatabaseOptions } from '../db/data-source';

/** The project folder (two levels above dist/src/config or src/config). */
export const PROJECT_ROOT = path.resolve(__dirname, __dirname.includes(`${path.sep}dist${path.sep}`) ? '../../..' : '../..');

export function defaultDataDir(env: NodeJS.ProcessEnv): string {
  return path.resolve(env.ROSTERDROP_DATA_DIR ?? path.join(PROJECT_ROOT, 'data'));
}

/** DATABASE_URL selects PostgreSQL; without it the embedded database lives in the data directory. */
export function loadDatabaseOptions(env: NodeJS.ProcessEnv): DatabaseOptions {
  const databaseUrl = env.DATABASE_URL?.trim() || undefined;
  return databaseUrl ? { databaseUrl } : { sqlitePath: path.join(defaultDataDir(env), 'rosterdrop.sqlite') };
}
