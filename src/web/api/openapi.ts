/**
 * /api/v1/openapi.json: the OpenAPI 3.1 document of the API, built from the very schemas Fastify
 * validates and serializes with. An onRoute hook (registered before any route) collects every
 * /api/v1 route as it is declared, so a route cannot exist undocumented, nor be documented with a
 * rule it does not enforce.
 */
import fs from 'node:fs';
import path from 'node:path';
import type { FastifyInstance, RouteOptions } from 'fastify';
import { PROJECT_ROOT } from '../../config/database';

declare module 'fastify' {
  /** what the OpenAPI document shows of a route besides its schemas */
  interface FastifySchema {
    summary?: string;
    description?: string;
    tags?: string[];
  }
}

export const OPENAPI_PATH = '/api/v1/openapi.json';

type Schema = Record<string, unknown>;

interface RouteSchema {
  summary?: string;
  description?: string;
  tags?: string[];
  params?: Schema;
  querystring?: Schema;
  body?: Schema;
  response?: Record<string, Schema>;
}

interface CollectedRoute { method: string; url: string; schema: RouteSchema; isPublic: boolean }

/** Fastify `/runs/:id` → OpenAPI `/runs/{id}` (a `:param` runs to the next `/`, `.` or `-`). */
export function openApiPath(url: string): string {
  return url.replace(/:([A-Za-z0-9_]+)/g, '{$1}');
}

export function registerOpenApi(app: FastifyInstance): void {
  const routes: CollectedRoute[] = [];
  app.addHook('onRoute', (route: RouteOptions) => {
    if (!route.url.startsWith('/api/v1/')) return;
    const methods = (Array.isArray(route.method) ? route.method : [route.method]).map((m) => m.toUpperCase());
    for (const method of methods) {
      // Fastify adds a HEAD route to every GET: documented as the GET it is
      if (method === 'HEAD') continue;
      routes.push({ method, url: route.url, schema: (route.schema ?? {}) as RouteSchema, isPublic: !!route.config?.public });
    }
  });

  let doc: Schema | null = null;
  app.get(OPENAPI_PATH, {
    config: { public: true },
    schema: { summary: 'This document: the OpenAPI 3.1 description of the API', tags: ['meta'], response: { 200: { type: 'object', additionalProperties: true } } },
  }, async () => (doc ??= openApiDocument(routes)));
}

/** The document: one path item per route, the bearer token as the security scheme of all but public ones. */
export function openApiDocument(routes: readonly CollectedRoute[]): Schema {
  const paths: Record<string, Record<string, Schema>> = {};
  for (const r of routes) {
    const item = (paths[openApiPath(r.url)] ??= {});
    item[r.method.toLowerCase()] = operation(r);
  }
  return {
    openapi: '3.1.0',
    info: {
      title: 'rosterdrop API',
      version: packageVersion(),
      description: 'The rosterdrop web admin\'s JSON API. Authenticate with `Authorization: Bearer <token>`; tokens are created on the '
        + 'Tokens page (/tokens) or with `rosterdrop token create <login>`. Another domain\'s resources answer 404.',
    },
    components: {
      securitySchemes: { bearer: { type: 'http', scheme: 'bearer', description: 'an API token `rd_…`' } },
    },
    security: [{ bearer: [] }],
    paths,
  };
}

function operation(r: CollectedRoute): Schema {
  const s = r.schema;
  const op: Schema = {
    operationId: `${r.method.toLowerCase()}${r.url.replace(/^\/api\/v1/, '').replace(/[^A-Za-z0-9]+(.)?/g, (_, c: string | undefined) => (c ?? '').toUpperCase())}`,
  };
  if (s.summary) op.summary = s.summary;
  if (s.description) op.description = s.description;
  if (s.tags) op.tags = s.tags;
  const parameters = [...parametersOf(s.params, 'path'), ...parametersOf(s.querystring, 'query')];
  if (parameters.length) op.parameters = parameters;
  if (s.body) op.requestBody = { required: true, content: 'content' in s.body ? s.body.content : { 'application/json': { schema: s.body } } };
  op.responses = responsesOf(s.response);
  if (r.isPublic) op.security = [];
  return op;
}

function parametersOf(schema: Schema | undefined, where: 'path' | 'query'): Schema[] {
  const properties = schema?.properties as Record<string, Schema> | undefined;
  if (!properties) return [];
  const required = new Set((schema?.required as string[] | undefined) ?? []);
  return Object.entries(properties).map(([name, prop]) => {
    // the property's schema as it is: the rule documented is the rule that validates
    return { name, in: where, required: where === 'path' || required.has(name), ...(typeof prop.description === 'string' ? { description: prop.description } : {}), schema: prop };
  });
}

function responsesOf(response: Record<string, Schema> | undefined): Schema {
  if (!response) return { default: { description: 'the answer' } };
  const out: Schema = {};
  for (const [code, schema] of Object.entries(response)) {
    const description = typeof schema.description === 'string' ? schema.description : code.startsWith('2') ? 'done' : 'refused';
    out[code] = 'content' in schema ? { description, content: schema.content } : { description, content: { 'application/json': { schema } } };
  }
  return out;
}

let version: string | null = null;
function packageVersion(): string {
  if (version) return version;
  try {
    const pkg = JSON.parse(fs.readFileSync(path.join(PROJECT_ROOT, 'package.json'), 'utf8')) as { version?: unknown };
    version = typeof pkg.version === 'string' ? pkg.version : '0.0.0';
  } catch {
    version = '0.0.0';
  }
  return version;
}
