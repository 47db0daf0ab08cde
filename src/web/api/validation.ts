/**
 * How the API's schemas refuse input: a field that is not in the schema is an error (Fastify's
 * default quietly drops it: a typo in a PATCH would look applied), and every message names where
 * the problem is and the rule (`body/retries must be <= 5`, `querystring/colour is not a known field`).
 */
import type { FastifySchemaValidationError } from 'fastify/types/schema';

export const AJV_OPTIONS = { customOptions: { removeAdditional: false as const } };

export function schemaErrorFormatter(errors: FastifySchemaValidationError[], dataVar: string): Error {
  const text = errors.map((e) => {
    const where = `${dataVar}${e.instancePath}`;
    const extra = (e.params as { additionalProperty?: unknown }).additionalProperty;
    if (e.keyword === 'additionalProperties' && typeof extra === 'string') return `${where}/${extra} is not a known field`;
    const missing = (e.params as { missingProperty?: unknown }).missingProperty;
    if (e.keyword === 'required' && typeof missing === 'string') return `${where}/${missing} is required`;
    return `${where} ${e.message ?? 'is not valid'}`;
  }).join('; ');
  return new Error(text);
}
