/**
 * JSON schemas shared by the /api/v1 routes. They validate and serialize (fast-json-stringify keeps
 * only the properties listed, so every object lists all of its fields) and they are what
 * /api/v1/openapi.json documents: one definition for both.
 */
import { ACTIONS, ENTITY_KINDS } from '../../sync/types';

const nullable = (type: 'string' | 'integer' | 'number') => ({ type: [type, 'null'] });

export const errorSchema = {
  type: 'object',
  description: 'What went wrong: `error` a short code, `message` a sentence naming the field and the rule',
  properties: { error: { type: 'string' }, message: { type: 'string' } },
  required: ['error', 'message'],
} as const;

/** 401 and 404 as every authenticated route answers them (404 also for another tenant's resource). */
export const errorResponses = {
  400: { ...errorSchema, description: 'The request breaks a rule of its parameters' },
  401: { ...errorSchema, description: 'No valid API token (missing, unknown or revoked)' },
  404: { ...errorSchema, description: 'No such resource, or one the token\'s administrator may not see' },
} as const;

const actionCounts = {
  type: 'object',
  properties: Object.fromEntries(ACTIONS.map((a) => [a, { type: 'integer' }])),
  required: [...ACTIONS],
};

export const countsSchema = {
  type: 'object',
  description: 'rows per entity and action (for a failed or refused run: what it had planned; nothing was changed)',
  properties: Object.fromEntries(ENTITY_KINDS.map((k) => [k, actionCounts])),
  required: [...ENTITY_KINDS],
};

export const issueTotalsSchema = {
  type: 'object',
  properties: { error: { type: 'integer' }, warning: { type: 'integer' }, info: { type: 'integer' } },
  required: ['error', 'warning', 'info'],
};

export const issueSchema = {
  type: 'object',
  properties: {
    severity: { type: 'string', enum: ['error', 'warning', 'info'] },
    code: { type: 'string', description: 'the rule, e.g. `csv.row_width`' },
    file: { ...nullable('string'), description: 'e.g. `users.csv`; null for the whole upload' },
    line: { ...nullable('integer'), description: '1-based; the header is line 1' },
    column: { ...nullable('string'), description: 'the header name of the column; null for the whole row' },
    sourcedId: nullable('string'),
    message: { type: 'string' },
  },
  required: ['severity', 'code', 'file', 'line', 'column', 'sourcedId', 'message'],
};

const STATUS_TEXT = 'queued, running, then the final one: succeeded, completed_with_errors, failed, validated, skipped; held while waiting ' +
  'for a decision (then queued again when approved, or discarded, expired); refused in runs from before held runs existed';

/** The object `rosterdrop sync --json` prints (src/report/run-json.ts RunJson). */
export const runSchema = {
  type: 'object',
  description: 'One sync run: the same object as `rosterdrop sync --json` and `rosterdrop run show --json`',
  properties: {
    runId: { type: 'integer' },
    domain: { type: 'string', description: 'the userspace' },
    file: { type: 'string', description: 'the file name as uploaded' },
    sha256: nullable('string'),
    status: { type: 'string', description: STATUS_TEXT },
    mode: { type: 'string', enum: ['apply', 'validate'] },
    forced: { type: 'boolean' },
    source: { type: 'string', description: 'where the upload came from: ftps, web, cli, watcher, …' },
    message: { type: 'string' },
    startedAt: { ...nullable('string'), format: 'date-time' },
    finishedAt: { ...nullable('string'), format: 'date-time' },
    durationMs: nullable('integer'),
    timings: { type: 'object', description: 'milliseconds per engine phase that ran', additionalProperties: { type: 'number' } },
    counts: countsSchema,
    issueTotals: issueTotalsSchema,
    issuesDropped: { type: 'integer', description: 'issues counted in the totals but not kept in `issues`' },
    issues: { type: 'array', items: issueSchema },
    heldRemovals: { ...nullable('integer'), description: 'a held run: how many removals and deactivations it lists; else null' },
    decision: {
      description: 'who approved or discarded a held run, and when; null when nobody decided',
      // anyOf, not type: ['object', 'null']: Ajv's strict mode wants `properties` under a plain object type
      anyOf: [
        { type: 'null' },
        {
          type: 'object',
          properties: { by: { type: 'string' }, at: { ...nullable('string'), format: 'date-time' }, approved: { type: 'boolean' } },
          required: ['by', 'at', 'approved'],
        },
      ],
    },
  },
  required: ['runId', 'domain', 'file', 'sha256', 'status', 'mode', 'forced', 'source', 'message', 'startedAt', 'finishedAt',
    'durationMs', 'timings', 'counts', 'issueTotals', 'issuesDropped', 'issues', 'heldRemovals', 'decision'],
};

/** One run in a domain's history (src/report/run-json.ts RunSummaryJson). */
export const runSummarySchema = {
  type: 'object',
  properties: {
    runId: { type: 'integer' },
    domain: { type: 'string' },
    file: { type: 'string' },
    sha256: nullable('string'),
    sizeBytes: nullable('integer'),
    status: { type: 'string', description: STATUS_TEXT },
    mode: { type: 'string', enum: ['apply', 'validate'] },
    forced: { type: 'boolean' },
    source: { type: 'string' },
    uploadedBy: { ...nullable('string'), description: 'userspace/username of the uploader' },
    message: { type: 'string' },
    createdAt: { type: 'string', format: 'date-time' },
    startedAt: { ...nullable('string'), format: 'date-time' },
    finishedAt: { ...nullable('string'), format: 'date-time' },
    durationMs: nullable('integer'),
    counts: countsSchema,
    issueTotals: issueTotalsSchema,
  },
  required: ['runId', 'domain', 'file', 'sha256', 'sizeBytes', 'status', 'mode', 'forced', 'source', 'uploadedBy', 'message',
    'createdAt', 'startedAt', 'finishedAt', 'durationMs', 'counts', 'issueTotals'],
};

export const runIdParams = {
  type: 'object',
  properties: { id: { type: 'integer', minimum: 1, description: 'the run number' } },
  required: ['id'],
} as const;

export const userspaceParams = {
  type: 'object',
  properties: { userspace: { type: 'string', minLength: 1, maxLength: 255, description: 'the domain\'s userspace' } },
  required: ['userspace'],
} as const;
