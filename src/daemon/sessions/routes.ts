import { REPEAT_HEADER } from '../../protocol/headers.js';
import { parseIdleFilter, parseRenameRequest, parseScreenQuery, parseSpawnRequest } from '../../protocol/session.js';
import type { Route } from '../http/router.js';
import type { Sessions } from './service.js';

/** `?wait=1` (or `true`). */
function isFlag(v: string | null): boolean {
  return v === '1' || v === 'true';
}

/** HTTP adapters for the session routes of PROTOCOL.md: parse, call the service, answer. */
export function sessionRoutes(sessions: Sessions): Route[] {
  return [
    { method: 'GET', path: '/api/sessions', handler: async (ctx) => ({ body: await sessions.list(parseIdleFilter(ctx.query)) }) },
    { method: 'POST', path: '/api/sessions/spawn', handler: async (ctx) => ({ status: 201, body: await sessions.spawn(parseSpawnRequest(ctx.body, ctx.headers['idempotency-key']), ctx.headers[REPEAT_HEADER] === '1') }) },
    { method: 'POST', path: '/api/sessions/register', handler: (ctx) => sessions.registerPlaceholder(ctx.body) },
    { method: 'GET', path: '/api/sessions/:id', handler: async (ctx) => ({ body: await sessions.get(ctx.params.id) }) },
    { method: 'PATCH', path: '/api/sessions/:id', handler: async (ctx) => ({ body: await sessions.rename(ctx.params.id, parseRenameRequest(ctx.body).new_id) }) },
    { method: 'DELETE', path: '/api/sessions/:id', handler: async (ctx) => ({ body: await sessions.kill(ctx.params.id, { wait: isFlag(ctx.query.get('wait')) }) }) },
    { method: 'GET', path: '/api/sessions/:id/screen', handler: async (ctx) => ({ body: await sessions.screen(ctx.params.id, parseScreenQuery(ctx.query)) }) },
  ];
}
