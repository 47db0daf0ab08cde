/**
 * Runs the real CLI (`node bin/rosterdrop.js …`) as a child process against a database of either
 * kind: SQLite through ROSTERDROP_DATA_DIR (a temp folder), PostgreSQL through DATABASE_URL (a
 * fresh database from tests/helpers/db.ts). The test keeps its own connection to read rows back.
 */
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { DataSource } from 'typeorm';
import { openDatabase } from '../../src/db/data-source';
import { openTestDatabase, type DbKind } from '../helpers/db';
import { REPO_ROOT } from '../helpers/paths';

export const BIN = path.join(REPO_ROOT, 'bin', 'rosterdrop.js');

export interface CliResult { code: number | null; stdout: string; stderr: string }

/**
 * The environment of the child: ours without rosterdrop, database or logging settings (a developer's
 * ROSTERDROP_CONFIG or ROSTERDROP_DATA_DIR must not reach it), plus `extra`.
 */
export function childEnv(extra: Record<string, string>): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = {};
  for (const [k, v] of Object.entries(process.env)) {
    if (k.startsWith('ROSTERDROP_') || ['DATABASE_URL', 'LOG_LEVEL', 'NODE_ENV'].includes(k)) continue;
    env[k] = v;
  }
  return { ...env, ...extra };
}

export function runCli(env: NodeJS.ProcessEnv, args: readonly string[], input?: string): Promise<CliResult> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [BIN, ...args], { cwd: REPO_ROOT, env, stdio: ['pipe', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.setEncoding('utf8').on('data', (s: string) => { stdout += s; });
    child.stderr.setEncoding('utf8').on('data', (s: string) => { stderr += s; });
    child.on('error', reject);
    child.on('close', (code) => resolve({ code, stdout, stderr }));
    child.stdin.end(input ?? '');
  });
}

/** Asserts the exit code, showing the output when it differs. */
export function assertExit(r: CliResult, code: number): void {
  assert.equal(r.code, code, `expected exit ${code}, got ${r.code}\nstdout:\n${r.stdout}\nstderr:\n${r.stderr}`);
}

/** Parses the one JSON object a --json command prints (fails loudly with the output when it is not one). */
export function parseJson<T>(r: CliResult): T {
  try {
    return JSON.parse(r.stdout) as T;
  } catch {
    throw new Error(`stdout is not one JSON object (exit ${r.code}):\n${r.stdout}\nstderr:\n${r.stderr}`);
  }
}

export interface CliDatabase {
  kind: DbKind;
  env: NodeJS.ProcessEnv;
  /** the test's own connection (for SQLite opened after the CLI created and migrated the file) */
  ds(): Promise<DataSource>;
  cli(args: readonly string[], input?: string): Promise<CliResult>;
  /** a scratch folder for zips and CSV files */
  dir: string;
  close(): Promise<void>;
}

export async function cliDatabase(kind: DbKind): Promise<CliDatabase> {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'rosterdrop-cli-'));
  if (kind === 'sqlite') {
    const dataDir = path.join(dir, 'data');
    const env = childEnv({ ROSTERDROP_DATA_DIR: dataDir });
    let ds: DataSource | null = null;
    return {
      kind, env, dir,
      cli: (args, input) => runCli(env, args, input),
      ds: async () => (ds ??= await openDatabase({ sqlitePath: path.join(dataDir, 'rosterdrop.sqlite') })),
      close: async () => { await ds?.destroy(); fs.rmSync(dir, { recursive: true, force: true }); },
    };
  }
  const db = await openTestDatabase('postgres');
  // the data folder holds what the CLI keeps besides the database (held uploads): the test's own
  const env = childEnv({ DATABASE_URL: db.options.databaseUrl ?? '', ROSTERDROP_DATA_DIR: path.join(dir, 'data') });
  return {
    kind, env, dir,
    cli: (args, input) => runCli(env, args, input),
    ds: async () => db.ds,
    close: async () => { await db.close(); fs.rmSync(dir, { recursive: true, force: true }); },
  };
}

/** A minimal RFC 4180 parser (quoted fields, doubled quotes, CRLF or LF records). */
export function parseCsv(text: string): string[][] {
  const rows: string[][] = [];
  let row: string[] = [];
  let field = '';
  let quoted = false;
  for (let i = 0; i < text.length; i++) {
    const c = text[i];
    if (quoted) {
      if (c === '"' && text[i + 1] === '"') { field += '"'; i++; } else if (c === '"') quoted = false; else field += c;
    } else if (c === '"') {
      if (field) throw new Error(`a quote inside an unquoted field at offset ${i}`);
      quoted = true;
    } else if (c === ',') { row.push(field); field = ''; } else if (c === '\r' && text[i + 1] === '\n') { /* CRLF: the \n ends it */ } else if (c === '\n') {
      row.push(field); rows.push(row); row = []; field = '';
    } else field += c;
  }
  if (quoted) throw new Error('an unclosed quote');
  if (field || row.length) { row.push(field); rows.push(row); }
  return rows;
}
