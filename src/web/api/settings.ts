/**
 * GET / PATCH /api/v1/domains/{userspace}/settings: a domain's sync settings as JSON. PATCH takes
 * any subset and is validated like `rosterdrop settings set` (the same service): a bad field saves
 * nothing and answers 422 naming it. The JSON schemas below are generated from SETTING_KINDS, so
 * the OpenAPI document lists every setting with its type and allowed values.
 */
import type { FastifyInstance, FastifySchemaValidationError } from 'fastify';
import { changeSettings, readSettings, SettingsValidationError, validatePatch } from '../../services/settings';
import { loadSettings } from '../../db/settings-store';
import { SETTING_KINDS, type SettingKind, type SyncSettings } from '../../sync/settings';
import { visibleDomain, type Principal } from '../auth/principal';
import type { WebContext } from '../context';
import { notFound } from '../server';
import { errorResponses, userspaceParams } from './schemas';

function valueSchema(kind: SettingKind, forPatch: boolean): Record<string, unknown> {
  switch (kind.kind) {
    case 'boolean': return { type: 'boolean' };
    case 'integer': return { type: 'integer', minimum: kind.min, maximum: kind.max };
    case 'enum': return { type: 'string', enum: [...kind.values] };
    case 'emails': return forPatch
      ? { anyOf: [{ type: 'array', items: { type: 'string' } }, { type: 'string', description: 'comma-separated' }] }
      : { type: 'array', items: { type: 'string' } };
    case 'timeZone': return { type: 'string', description: 'IANA time zone' };
    case 'text': return { type: 'string', minLength: 1, maxLength: kind.maxLength };
  }
}

const KEYS = Object.keys(SETTING_KINDS) as Array<keyof SyncSettings>;
const settingsSchema = (forPatch: boolean) => ({
  type: 'object',
  properties: Object.fromEntries(KEYS.map((k) => [k, valueSchema(SETTING_KINDS[k], forPatch)])),
  additionalProperties: false,
  ...(forPatch
    ? { description: 'any subset of the settings; every field is validated before anything is saved (an unknown one is an error)' }
    : { required: KEYS }),
});

const invalidSchema = {
  type: 'object',
  properties: {
    error: { type: 'string' }, message: { type: 'string' }, field: { type: ['string', 'null'] },
    errors: { type: 'array', items: { type: 'object', properties: { field: { type: 'string' }, message: { type: 'string' } }, required: ['field', 'message'] } },
  },
  required: ['error', 'message', 'field'],
  description: 'A setting broke its rule (nothing was saved): `field` names it, `message` says the rule, `errors` lists every bad field',
};
const definitionSchema = {
  type: 'object',
  properties: {
    key: { type: 'string' }, label: { type: 'string' }, description: { type: 'string' }, kind: { type: 'string' },
    values: { type: 'array', items: { type: 'string' } }, min: { type: 'integer' }, max: { type: 'integer' }, maxLength: { type: 'integer' },
  },
  required: ['key', 'label', 'description', 'kind'],
};

interface Params { userspace: string }

export function registerSettingsApi(app: FastifyInstance, ctx: WebContext): void {
  app.get<{ Params: Params }>('/api/v1/domains/:userspace/settings', {
    schema: {
      summary: 'A domain\'s sync settings, with what each means and accepts',
      tags: ['settings'], params: userspaceParams,
      response: {
        200: { type: 'object', properties: { domain: { type: 'string' }, settings: settingsSchema(false), definitions: { type: 'array', items: definitionSchema } }, required: ['domain', 'settings', 'definitions'] },
        ...errorResponses,
      },
    },
  }, async (req, reply) => {
    const domain = await visibleDomain(ctx.ds, req.principal as Principal, req.params.userspace);
    if (!domain) return notFound(req, reply);
    const { settings, definitions } = await readSettings(ctx.ds, domain.id);
    return {
      domain: domain.userspace, settings,
      definitions: definitions.map((d) => ({ key: d.key, label: d.label, description: d.description, ...d.kind })),
    };
  });

  app.patch<{ Params: Params; Body: Record<string, unknown> }>('/api/v1/domains/:userspace/settings', {
    attachValidation: true,
    schema: {
      summary: 'Change some of a domain\'s sync settings (all or nothing; each change is recorded with who made it)',
      tags: ['settings'], params: userspaceParams, body: settingsSchema(true),
      response: {
        200: { type: 'object', properties: { domain: { type: 'string' }, settings: settingsSchema(false), changed: { type: 'array', items: { type: 'string' } } }, required: ['domain', 'settings', 'changed'] },
        ...errorResponses, 422: invalidSchema,
      },
    },
  }, async (req, reply) => {
    const principal = req.principal as Principal;
    const domain = await visibleDomain(ctx.ds, principal, req.params.userspace);
    if (!domain) return notFound(req, reply);
    const body = req.body;
    if (req.validationError) {
      // the service's words when it finds the fault too (the same as `settings set`), Ajv's otherwise
      const fault = await serviceFault(ctx, domain.id, body) ?? ajvFault(req.validationError.validation);
      return reply.code(422).send({ error: 'invalid_setting', message: fault.message, field: fault.field, errors: fault.field ? [{ field: fault.field, message: fault.message }] : [] });
    }
    try {
      const result = await changeSettings(ctx.ds, domain.id, body, principal.login, 'api');
      ctx.logger.info('settings changed', { domain: domain.userspace, login: principal.login, via: 'api', settings: result.changed });
      return { domain: domain.userspace, settings: result.settings, changed: result.changed };
    } catch (err) {
      if (!(err instanceof SettingsValidationError)) throw err;
      return reply.code(422).send({ error: 'invalid_setting', message: err.message, field: err.field, errors: err.errors });
    }
  });
}

async function serviceFault(ctx: WebContext, domainId: number, body: unknown): Promise<{ field: string; message: string } | null> {
  if (!body || typeof body !== 'object' || Array.isArray(body)) return null;
  try {
    validatePatch(await loadSettings(ctx.ds, domainId), body as Record<string, unknown>);
    return null;
  } catch (err) {
    return err instanceof SettingsValidationError ? { field: err.field, message: err.message } : null;
  }
}

function ajvFault(errors: FastifySchemaValidationError[]): { field: string | null; message: string } {
  const first = errors[0];
  const field = first?.instancePath ? first.instancePath.split('/')[1] : null;
  if (!field) return { field: null, message: 'the body must be a JSON object of settings, e.g. {"unsharedUsers": "inactive"}' };
  const allowed = (first.params as { allowedValues?: unknown[] }).allowedValues;
  return { field, message: `${field} ${first.message ?? 'is not valid'}${allowed ? `: ${allowed.join(', ')}` : ''}` };
}
