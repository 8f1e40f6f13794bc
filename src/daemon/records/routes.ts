import {
  claimHandoffOp,
  createHandoffOp,
  createThreadOp,
  getHandoffOp,
  getThreadOp,
  listHandoffsOp,
  listThreadsOp,
  updateHandoffOp,
  updateThreadOp,
} from '../../protocol/operations.js';
import { routeFor, type Route } from '../http/router.js';
import type { Handoffs } from './handoffs.js';
import type { Threads } from './threads.js';
import { handoffSummaryView, handoffView, threadView } from './seed-shapes.js';

/**
 * HTTP adapters for handoffs and threads (protocol/ops/records.ts), in our shapes with the 0.1.53 fields beside
 * them. A change is answered once it is on disk.
 */
export function recordRoutes(handoffs: Handoffs, threads: Threads): Route[] {
  return [
    routeFor(createHandoffOp, async (body) => ({ body: await handoffs.saved(handoffs.create(body)) })),
    routeFor(listHandoffsOp, ({ status }) => ({ body: handoffs.list(status).map(handoffSummaryView) })),
    routeFor(getHandoffOp, (_req, ctx) => ({ body: handoffView(handoffs.get(ctx.params.id)) })),
    routeFor(claimHandoffOp, async (body, ctx) => ({ body: await handoffs.saved(handoffs.claim(ctx.params.id, body)) })),
    routeFor(updateHandoffOp, async (body, ctx) => ({ body: { success: true as const, ...handoffView(await handoffs.saved(handoffs.update(ctx.params.id, body))) } })),
    routeFor(createThreadOp, async (body) => ({ body: await threads.saved(threads.create(body)) })),
    routeFor(listThreadsOp, ({ status }) => ({ body: threads.list(status).map(threadView) })),
    routeFor(getThreadOp, (_req, ctx) => ({ body: threadView(threads.get(ctx.params.id)) })),
    routeFor(updateThreadOp, async (body, ctx) => ({ body: { success: true as const, ...threadView(await threads.saved(threads.update(ctx.params.id, body))) } })),
  ];
}
