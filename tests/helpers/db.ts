/**
 * The two databases every engine test runs against: the embedded SQLite file and a real
 * PostgreSQL (a fresh database per suite, dropped afterwards). PostgreSQL is mandatory under CI:
 * when it cannot be reached there, the suite fails instead of skipping.
 */
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { Client } from 'pg';
import type { DataSource } from 'typeorm';
import { openDatabase } from '../../src/db/data-source';

export type DbKind = 'sqlite' | 'postgres';

export const ADMIN_URL = process.env.TEST_DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/postgres';

let reachable: boolean | undefined;

/** Synchronous, so suites can be declared per database at load time. */
export function postgresReachable(): boolean {
  if (reachable === undefined) {
    const probe = `const { Client } = require('pg'); const c = new Client(${JSON.stringify(ADMIN_URL)});
      c.connect().then(() => c.end()).then(() => process.exit(0), () => process.exit(1));`;
    reachable = spawnSync(process.execPath, ['-e', probe], { cwd: path.resolve(__dirname, '../..'), timeout: 10_000 }).status === 0;
  }
  return reachable;
}

/** The databases to run on: both, or SQLite alone outside CI when PostgreSQL is down (said loudly). */
export function databaseKinds(): DbKind[] {
  if (postgresReachable()) return ['sqlite', 'postgres'];
  if (process.env.CI) return ['sqlite', 'postgres']; // the postgres suite then fails in openTestDatabase
  process.stderr.write(`\n!! PostgreSQL at ${ADMIN_URL} is not reachable: running SQLite only (CI would fail)\n\n`);
  return ['sqlite'];
}

export interface TestDatabase {
  kind: DbKind;
  ds: DataSource;
  url?: string;
  sqlitePath?: string;
  /** a second connection to the same database (e.g. for a child process) */
  options: { databaseUrl?: string; sqlitePath?: string };
  close(): Promise<void>;
}

export async function openTestDatabase(kind: DbKind): Promise<TestDatabase> {
  if (kind === 'sqlite') {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'rosterdrop-db-'));
    // the daemon's own file name, so that a daemon given this folder as its data folder shares it
    const sqlitePath = path.join(dir, 'rosterdrop.sqlite');
    const ds = await openDatabase({ sqlitePath, migrate: true });
    return {
      kind, ds, sqlitePath, options: { sqlitePath },
      close: async () => { await ds.destroy(); fs.rmSync(dir, { recursive: true, force: true }); },
    };
  }
  if (!postgresReachable()) throw new Error(`PostgreSQL is required (CI is set) but ${ADMIN_URL} cannot be reached`);
  const name = `rd_test_${process.pid}_${Math.random().toString(36).slice(2, 8)}`;
  const admin = new Client(ADMIN_URL);
  await admin.connect();
  await admin.query(`CREATE DATABASE ${name}`);
  await admin.end();
  const url = new URL(ADMIN_URL);
  url.pathname = `/${name}`;
  const ds = await openDatabase({ databaseUrl: url.toString(), migrate: true });
  return {
    kind, ds, url: url.toString(), options: { databaseUrl: url.toString() },
    close: async () => {
      await ds.destroy();
      const c = new Client(ADMIN_URL);
      await c.connect();
      await c.query(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`);
      await c.end();
    },
  };
}
