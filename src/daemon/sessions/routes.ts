import { getSessionOp, killSessionOp, listSessionsOp, readScreenOp, recordSessionOp, registerSessionOp, renameSessionOp, spawnSessionOp } from '../../protocol/operations.js';
import { tagSessionOp } from '../../protocol/ops/sessions.js';
import { hookReportOp, httpHookOp, readSinceOp, sendKeysOp, sessionStateOp, waitStateOp } from '../../protocol/ops/state.js';
import { routeFor, type Route } from '../http/router.js';
import type { Sessions } from './service.js';

/** HTTP adapters for the session operations (protocol/ops/sessions.ts): parsed by the operation, then the service. */
export function sessionRoutes(sessions: Sessions): Route[] {
  return [
    routeFor(listSessionsOp, async (idleGt) => ({ body: await sessions.list(idleGt) })),
    routeFor(spawnSessionOp, async ({ spawn, repeat }) => ({ body: await sessions.spawn(spawn, repeat) })),
    routeFor(registerSessionOp, (body) => {
      const { status, body: answer } = sessions.registerPlaceholder(body);
      return { status, body: answer };
    }),
    routeFor(getSessionOp, async (_req, ctx) => ({ body: await sessions.get(ctx.params.id) })),
    routeFor(renameSessionOp, async ({ new_id }, ctx) => ({ body: await sessions.rename(ctx.params.id, new_id) })),
    routeFor(killSessionOp, async ({ wait }, ctx) => ({ body: await sessions.kill(ctx.params.id, { wait }) })),
    routeFor(readScreenOp, async (q, ctx) => ({ body: await sessions.screen(ctx.params.id, q) })),
    routeFor(tagSessionOp, async (edit, ctx) => ({ body: await sessions.tags(ctx.params.id, edit) })),
    routeFor(recordSessionOp, async (action, ctx) => ({ body: await sessions.record(ctx.params.id, action) })),
    routeFor(sessionStateOp, async (_req, ctx) => ({ body: await sessions.state.state(ctx.params.id) })),
    routeFor(waitStateOp, async (req, ctx) => ({ body: await sessions.state.wait(ctx.params.id, req) })),
    routeFor(sendKeysOp, async ({ keys }, ctx) => ({ body: await sessions.state.keys(ctx.params.id, keys) })),
    routeFor(hookReportOp, async (req, ctx) => ({ body: await sessions.state.hook(ctx.params.id, req) })),
    routeFor(httpHookOp, async (req, ctx) => ({ body: await sessions.state.hook(ctx.params.id, req) })),
    routeFor(readSinceOp, async ({ since, last_screen }, ctx) => ({ body: await sessions.state.since(ctx.params.id, since, last_screen === true) })),
  ];
}
