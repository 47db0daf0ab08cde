/**
 * The documentation fields the OpenAPI document reads from a route's schema (Fastify's own type
 * lacks them without @fastify/swagger). If the OpenAPI module declares the same, keep one.
 */
declare module 'fastify' {
  interface FastifySchema {
    summary?: string;
    description?: string;
    tags?: string[];
  }
}
export {};
