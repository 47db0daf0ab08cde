/**
 * Held runs through the API: approve or discard (Bearer token only: the session cookie cannot
 * change state), and the paged list of what a held run would remove. Another tenant's run answers
 * 404, a run that is not held (any more) 409 `not_held`.
 */
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { HeldRunError, listHeldRemovals } from '../../services/held-runs';
import { MAX_PAGE, runForViewer } from '../../services/runs';
import type { Principal } from '../auth/principal';
import type { WebContext } from '../context';
import { decideHeldRun, REMOVAL_ENTITIES, type HeldAction } from '../held-decision';
import { notFound } from '../server';
import { errorResponses, errorSchema, runIdParams } from './schemas';

const TAGS = ['runs'];

const decisionSchema = (status: string, description: string) => ({
  type: 'object',
  description,
  properties: {
    runId: { type: 'integer' },
    status: { type: 'string', description: status },
  },
  required: ['runId', 'status'],
});

const notHeld = { ...errorSchema, description: 'The run is not held for review (any more): `not_held`, and what it is now' };

export function registerHeldApi(app: FastifyInstance, ctx: WebContext): void {
  const decide = async (req: FastifyRequest<{ Params: { id: number } }>, reply: FastifyReply, action: HeldAction) => {
    const found = await runForViewer(ctx.ds, req.principal as Principal, req.params.id);
    if (!found) return notFound(req, reply);
    try {
      const run = await decideHeldRun(ctx, found.run, action, (req.principal as Principal).login);
      return reply.code(action === 'approve' ? 202 : 200).send({ runId: run.id, status: run.status });
    } catch (err) {
      if (!(err instanceof HeldRunError)) throw err;
      if (err.reason === 'unknown') return notFound(req, reply);
      return reply.code(409).send({ error: 'not_held', message: err.message });
    }
  };

  app.post<{ Params: { id: number } }>('/api/v1/runs/:id/approve', {
    schema: {
      summary: 'Approve a held run: the same run is queued again and applied past the safety threshold (follow it with GET /api/v1/runs/{id})',
      tags: TAGS,
      params: runIdParams,
      response: { 202: decisionSchema('queued', 'The run is queued again; who approved it is recorded'), 409: notHeld, ...errorResponses },
    },
  }, (req, reply) => decide(req, reply, 'approve'));

  app.post<{ Params: { id: number } }>('/api/v1/runs/:id/discard', {
    schema: {
      summary: 'Discard a held run: nothing is changed and its upload is deleted',
      tags: TAGS,
      params: runIdParams,
      response: { 200: decisionSchema('discarded', 'The run is discarded; who discarded it is recorded'), 409: notHeld, ...errorResponses },
    },
  }, (req, reply) => decide(req, reply, 'discard'));

  app.get<{ Params: { id: number }; Querystring: { offset: number; limit: number; entity?: string } }>('/api/v1/runs/:id/removals', {
    schema: {
      summary: 'What a held run would remove or deactivate (entity, external ID, name), in the order it was planned, paged',
      tags: TAGS,
      params: runIdParams,
      querystring: {
        type: 'object',
        properties: {
          offset: { type: 'integer', minimum: 0, default: 0, description: 'rows to skip' },
          limit: { type: 'integer', minimum: 1, maximum: MAX_PAGE, default: 50, description: 'rows per page' },
          entity: { type: 'string', enum: [...REMOVAL_ENTITIES], description: 'only this entity' },
        },
        additionalProperties: false,
      },
      response: {
        200: {
          type: 'object',
          properties: {
            removals: {
              type: 'array',
              items: {
                type: 'object',
                properties: {
                  entity: { type: 'string', enum: [...REMOVAL_ENTITIES] },
                  externalId: { type: 'string', description: 'the LMS external ID (`or-` + the sourcedId, or a derived base course\'s key)' },
                  sourcedId: { type: ['string', 'null'], description: 'the SIS sourcedId; null for a derived base course' },
                  name: { type: 'string', description: 'the user\'s name, the course title, or "user — course" for an enrollment' },
                },
                required: ['entity', 'externalId', 'sourcedId', 'name'],
              },
            },
            total: { type: 'integer', description: 'rows matching the filter, on every page' },
            offset: { type: 'integer' },
            limit: { type: 'integer' },
          },
          required: ['removals', 'total', 'offset', 'limit'],
        },
        ...errorResponses,
      },
    },
  }, async (req, reply) => {
    const found = await runForViewer(ctx.ds, req.principal as Principal, req.params.id);
    if (!found) return notFound(req, reply);
    const { offset, limit, entity } = req.query;
    const page = await listHeldRemovals(ctx.ds, found.run.id, { offset, limit, entity });
    return { removals: page.rows, total: page.total, offset, limit };
  });
}
