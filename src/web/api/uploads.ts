/**
 * `POST /api/v1/domains/{userspace}/uploads`: a script's upload, through the same service as the
 * domain page (streamed, FTPS size cap, the intake and queue): 202 with the queued run's id.
 */
import type { FastifyInstance } from 'fastify';
import { parseMode, storeUpload, UploadRefused, UPLOAD_MODES } from '../../services/uploads';
import { visibleDomain, type Principal } from '../auth/principal';
import type { WebContext } from '../context';
import { closeAfter, logRefusal, multipartParts } from '../multipart';
import { notFound } from '../server';

const errorSchema = {
  type: 'object',
  required: ['error', 'message'],
  properties: { error: { type: 'string', description: 'a stable code' }, message: { type: 'string', description: 'what was refused and why' } },
} as const;

export const UPLOAD_ROUTE_SCHEMA = {
  summary: 'Upload a roster zip to a domain',
  description: 'multipart/form-data with the zip in the field `file` (the file is streamed to disk, never buffered; the FTPS size cap applies). '
    + '`mode`: `sync` (default: apply), `validate` (validate and plan only, change nothing) or `force` (apply past the safety threshold or when identical '
    + 'to the last applied file), as the query parameter `mode` or a form field `mode` (anywhere in the form: the file is put in place only once the whole '
    + 'request is read); when both are given the query parameter wins. The run is queued like an FTPS upload; follow it with GET /api/v1/runs/{id}.',
  tags: ['uploads'],
  consumes: ['multipart/form-data'],
  params: { type: 'object', required: ['userspace'], properties: { userspace: { type: 'string', description: 'the domain' } }, additionalProperties: false },
  querystring: { type: 'object', properties: { mode: { type: 'string', enum: [...UPLOAD_MODES], description: 'sync (default), validate or force' } } },
  response: {
    202: { type: 'object', required: ['runId'], properties: { runId: { type: 'integer', description: 'the queued run' } }, additionalProperties: false },
    400: errorSchema, 401: errorSchema, 404: errorSchema, 413: errorSchema, 500: errorSchema, 503: errorSchema, 507: errorSchema,
  },
} as const;

export function registerUploadApi(app: FastifyInstance, ctx: WebContext): void {
  app.post<{ Params: { userspace: string }; Querystring: { mode?: string } }>('/api/v1/domains/:userspace/uploads', { schema: UPLOAD_ROUTE_SCHEMA }, async (req, reply) => {
    const principal = req.principal as Principal;
    const domain = await visibleDomain(ctx.ds, principal, req.params.userspace);
    if (!domain) return notFound(req, reply);
    try {
      const fromQuery = req.query.mode;
      const run = await storeUpload(ctx, {
        userspace: domain.userspace, login: principal.login, source: 'api',
        parts: multipartParts(req, ctx.maxUploadBytes),
        mode: (fields) => parseMode(fromQuery ?? fields.get('mode')),
      });
      return reply.code(202).send({ runId: run.id });
    } catch (err) {
      if (!(err instanceof UploadRefused)) throw err;
      logRefusal(ctx, req, err, domain.userspace);
      closeAfter(reply, err);
      return reply.code(err.status).send({ error: err.code, message: err.message });
    }
  });
}
