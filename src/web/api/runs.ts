/**
 * The runs API: one run as `sync --json` prints it (with its live status), a domain's runs paged
 * and filtered, and a run's issues as CSV. Another tenant's run or domain answers 404.
 */
import { Readable } from 'node:stream';
import type { FastifyInstance } from 'fastify';
import { issuesCsvChunks } from '../../report/issues-csv';
import { runJsonFromRun, runSummaryJson } from '../../report/run-json';
import { listDomainRuns, MAX_PAGE, runForViewer } from '../../services/runs';
import { loadIssues } from '../../sync/run-store';
import { visibleDomain, type Principal } from '../auth/principal';
import type { WebContext } from '../context';
import { notFound } from '../server';
import { errorResponses, runIdParams, runSchema, runSummarySchema, userspaceParams } from './schemas';

const TAGS = ['runs'];

export function registerApiRuns(app: FastifyInstance, ctx: WebContext): void {
  app.get<{ Params: { id: number } }>('/api/v1/runs/:id', {
    schema: {
      summary: 'One run: the same object as `rosterdrop sync --json`, with its live status',
      tags: TAGS,
      params: runIdParams,
      response: { 200: runSchema, ...errorResponses },
    },
  }, async (req, reply) => {
    const found = await runForViewer(ctx.ds, req.principal as Principal, req.params.id);
    if (!found) return notFound(req, reply);
    const issues = await loadIssues(ctx.ds, found.run.id);
    return runJsonFromRun(found.run, found.domain.userspace, issues);
  });

  app.get<{ Params: { userspace: string }; Querystring: { offset: number; limit: number; status?: string; source?: string } }>('/api/v1/domains/:userspace/runs', {
    schema: {
      summary: 'A domain\'s runs, newest first, paged and filtered by status and source',
      tags: TAGS,
      params: userspaceParams,
      querystring: {
        type: 'object',
        properties: {
          offset: { type: 'integer', minimum: 0, default: 0, description: 'runs to skip' },
          limit: { type: 'integer', minimum: 1, maximum: MAX_PAGE, default: 25, description: 'runs per page' },
          status: { type: 'string', pattern: '^[a-z_]{1,24}$', description: 'only runs in this status (e.g. failed)' },
          source: { type: 'string', pattern: '^[a-z_]{1,16}$', description: 'only runs from this source (ftps, web, cli, watcher)' },
        },
        additionalProperties: false,
      },
      response: {
        200: {
          type: 'object',
          properties: {
            runs: { type: 'array', items: runSummarySchema },
            total: { type: 'integer', description: 'runs matching the filter, on every page' },
            offset: { type: 'integer' },
            limit: { type: 'integer' },
          },
          required: ['runs', 'total', 'offset', 'limit'],
        },
        ...errorResponses,
      },
    },
  }, async (req, reply) => {
    const domain = await visibleDomain(ctx.ds, req.principal as Principal, req.params.userspace);
    if (!domain) return notFound(req, reply);
    const { offset, limit, status, source } = req.query;
    const result = await listDomainRuns(ctx.ds, domain.id, { offset, limit, status, source });
    return { runs: result.runs.map((r) => runSummaryJson(r, domain.userspace)), total: result.total, offset: result.offset, limit: result.limit };
  });

  app.get<{ Params: { id: number } }>('/api/v1/runs/:id/issues.csv', {
    schema: {
      summary: 'A run\'s kept issues as CSV (severity,code,file,line,column,sourcedId,message), as `rosterdrop run show --issues-csv`',
      tags: TAGS,
      params: runIdParams,
      response: {
        200: { description: 'RFC 4180 CSV with a header line', content: { 'text/csv': { schema: { type: 'string' } } } },
        ...errorResponses,
      },
    },
  }, async (req, reply) => {
    const found = await runForViewer(ctx.ds, req.principal as Principal, req.params.id);
    if (!found) return notFound(req, reply);
    const issues = await loadIssues(ctx.ds, found.run.id);
    return reply
      .type('text/csv; charset=utf-8')
      .header('Content-Disposition', `attachment; filename="run-${found.run.id}-issues.csv"`)
      // in pieces: ten thousand issues never become one string
      .send(Readable.from(issuesCsvChunks(issues)));
  });
}
