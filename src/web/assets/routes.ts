/** /assets/app.css and /assets/live.js: served from memory with an ETag, so reloads are cheap. */
import { createHash } from 'node:crypto';
import type { FastifyInstance } from 'fastify';
import { APP_CSS } from './app-css';
import { LIVE_JS } from './live-js';

const ASSETS: Record<string, { type: string; body: string }> = {
  'app.css': { type: 'text/css; charset=utf-8', body: APP_CSS },
  'live.js': { type: 'text/javascript; charset=utf-8', body: LIVE_JS },
};

export function registerAssets(app: FastifyInstance): void {
  for (const [name, asset] of Object.entries(ASSETS)) {
    const etag = `"${createHash('sha256').update(asset.body).digest('base64url').slice(0, 16)}"`;
    app.get(`/assets/${name}`, { config: { public: true } }, async (req, reply) => {
      reply.header('Cache-Control', 'no-cache').header('ETag', etag).type(asset.type);
      if (req.headers['if-none-match'] === etag) return reply.code(304).send();
      return reply.send(asset.body);
    });
  }
}
