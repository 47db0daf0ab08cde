/** Telling database errors apart, the same way on PostgreSQL and SQLite. */

/** A unique-index violation, on either database. */
export function isUniqueViolation(err: unknown): boolean {
  const driver = (err as { driverError?: { code?: unknown } } | null)?.driverError;
  const code = driver?.code ?? (err as { code?: unknown } | null)?.code;
  return code === '23505' || code === 'SQLITE_CONSTRAINT_UNIQUE';
}
