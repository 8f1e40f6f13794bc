import type { Route } from '../http/router.js';
import type { Handoffs } from './handoffs.js';
import type { Threads } from './threads.js';
import { handoffSummaryView, handoffView, threadView } from './seed-shapes.js';

/** HTTP adapters for handoffs and threads (PROTOCOL.md), in our shapes with the 0.1.53 fields beside them. A change is answered once it is on disk. */
export function recordRoutes(handoffs: Handoffs, threads: Threads): Route[] {
  return [
    { method: 'POST', path: '/api/handoff', handler: async (ctx) => ({ status: 201, body: await handoffs.saved(handoffs.create(ctx.body)) }) },
    { method: 'GET', path: '/api/handoff', handler: (ctx) => ({ body: handoffs.list(ctx.query.get('status')).map(handoffSummaryView) }) },
    { method: 'GET', path: '/api/handoff/:id', handler: (ctx) => ({ body: handoffView(handoffs.get(ctx.params.id as string)) }) },
    { method: 'POST', path: '/api/handoff/:id/claim', handler: async (ctx) => ({ body: await handoffs.saved(handoffs.claim(ctx.params.id as string, ctx.body)) }) },
    { method: 'PATCH', path: '/api/handoff/:id', handler: async (ctx) => ({ body: { success: true, ...handoffView(await handoffs.saved(handoffs.update(ctx.params.id as string, ctx.body))) } }) },
    { method: 'POST', path: '/api/threads', handler: async (ctx) => ({ status: 201, body: await threads.saved(threads.create(ctx.body)) }) },
    { method: 'GET', path: '/api/threads', handler: (ctx) => ({ body: threads.list(ctx.query.get('status')).map(threadView) }) },
    { method: 'GET', path: '/api/threads/:id', handler: (ctx) => ({ body: threadView(threads.get(ctx.params.id as string)) }) },
    { method: 'PATCH', path: '/api/threads/:id', handler: async (ctx) => ({ body: { success: true, ...threadView(await threads.saved(threads.update(ctx.params.id as string, ctx.body))) } }) },
  ];
}
