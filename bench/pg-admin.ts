/** One statement on PostgreSQL's admin connection (CREATE / DROP DATABASE), shared by the bench's daemon parts. */
import { Client } from 'pg';

export async function adminQuery(url: string, sql: string): Promise<void> {
  const c = new Client(url);
  await c.connect();
  try { await c.query(sql); } finally { await c.end(); }
}

/** A new empty database `name` (dropped first if a run before left it); its URL. */
export async function freshDatabase(adminUrl: string, name: string): Promise<string> {
  await adminQuery(adminUrl, `DROP DATABASE IF EXISTS ${name} WITH (FORCE)`);
  await adminQuery(adminUrl, `CREATE DATABASE ${name}`);
  const u = new URL(adminUrl);
  u.pathname = `/${name}`;
  return u.toString();
}
