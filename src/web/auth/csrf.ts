/**
 * CSRF: every state-changing page request must send back its session's synchronizer token
 * (SameSite=Lax cookies already stop most cross-site posts; the token stops the rest).
 */
import { timingSafeEqual } from 'node:crypto';
import type { FastifyRequest } from 'fastify';

/**
 * The CSRF token a state-changing request carries: the form's `_csrf` field, or for a multipart
 * upload (whose fields arrive after the file) the `_csrf` query parameter of the form's action.
 */
export function csrfOf(req: FastifyRequest): string | undefined {
  const body = req.body as Record<string, unknown> | undefined;
  const fromBody = body && typeof body === 'object' && typeof body._csrf === 'string' ? body._csrf : undefined;
  const query = req.query as Record<string, unknown>;
  const fromQuery = typeof query?._csrf === 'string' ? query._csrf : undefined;
  const header = req.headers['x-csrf-token'];
  return fromBody ?? fromQuery ?? (typeof header === 'string' ? header : undefined);
}

export function sameToken(given: string | undefined, expected: string | undefined): boolean {
  if (!given || !expected) return false;
  const a = Buffer.from(given);
  const b = Buffer.from(expected);
  return a.length === b.length && timingSafeEqual(a, b);
}

