/** One statement on PostgreSQL's admin connection (CREATE / DROP DATABASE), shared by the bench's daemon parts. */
import { Client } from 'pg';

export async function adminQuery(url: string, sql: string): Promise<void> {
  const c = new Client(url);
  await c.connect();
  try { await c.query(sql); } finally { await c.end(); }
}
