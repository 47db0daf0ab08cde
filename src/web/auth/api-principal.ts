/**
 * Who calls the API (and /metrics): the holder of a Bearer token, or for a read (GET, HEAD) the
 * signed-in web session, which the pages' live parts use. A change always needs a token.
 */
import type { FastifyRequest } from 'fastify';
import { userOfToken } from '../../services/api-tokens';
import type { WebContext } from '../context';
import type { Principal } from './principal';
import { SESSION_COOKIE } from './sessions';

export async function apiPrincipal(ctx: WebContext, req: FastifyRequest): Promise<Principal | null> {
  const header = req.headers.authorization;
  let userId: number | null = null;
  if (header?.startsWith('Bearer ')) {
    userId = await userOfToken(ctx.ds, header.slice(7).trim(), new Date(), ctx.tokenTouches);
  } else if (!header && (req.method === 'GET' || req.method === 'HEAD')) {
    userId = (await ctx.sessions.find(req.cookies[SESSION_COOKIE]))?.userId ?? null;
  }
  return userId === null ? null : ctx.principals.get(userId);
}
