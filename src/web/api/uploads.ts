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
import { errorResponses, errorSchema, userspaceParams } from './schemas';

export const UPLOAD_ROUTE_SCHEMA = {
  summary: 'Upload a roster zip to a domain',
  description: 'multipart/form-data with the zip in the field `file` (the file is streamed to disk, never buffered; the FTPS size cap applies). '
    + '`mode`: `sync` (default: apply), `validate` (validate and plan only, change nothing) or `force` (apply past the safety threshold or when identical '
    + 'to the last applied file), as the query parameter `mode` or a form field `mode` (anywhere in the form: the file is put in place only once the whole '
    + 'request is read); when both are given the query parameter wins. The run is queued like an FTPS upload; follow it with GET /api/v1/runs/{id}.',
  tags: ['uploads'],
  params: userspaceParams,
  querystring: { type: 'object', properties: { mode: { type: 'string', enum: [...UPLOAD_MODES], description: 'sync (default), validate or force' } } },
  // Documents the form (OpenAPI); validates nothing: a multipart body is parsed by the handler as it streams, so
  // Fastify's body is undefined here, and these keywords apply to objects only.
  body: {
    content: {
      'multipart/form-data': {
        schema: {
          properties: {
            file: { type: 'string', description: 'the zip, as a file part (its file name is the upload\'s name: .zip, no path parts)' },
            mode: { type: 'string', enum: [...UPLOAD_MODES], description: 'instead of the query parameter' },
          },
          required: ['file'],
        },
      },
    },
  },
  response: {
    202: { type: 'object', required: ['runId'], properties: { runId: { type: 'integer', description: 'the queued run' } }, additionalProperties: false },
    ...errorResponses,
    400: { ...errorSchema, description: 'A bad file name, mode or form (codes bad_name, bad_mode, bad_field, no_file, not_multipart, aborted)' },
    413: { ...errorSchema, description: 'Larger than the FTPS size cap (too_large); nothing was stored' },
    500: errorSchema,
    503: errorSchema,
    507: { ...errorSchema, description: 'Not enough storage space on the server (insufficient_storage); nothing was stored' },
  },
};

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
