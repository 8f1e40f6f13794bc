import type { MetaResponse } from '../../protocol/meta.js';
import { healthOp, metaOp, stopDaemonOp } from '../../protocol/operations.js';
import { routeFor, type Route } from '../http/router.js';

export interface MetaSource {
  meta(): MetaResponse;
  requestShutdown(reason: string): void;
}

export function metaRoutes(src: MetaSource): Route[] {
  return [
    // The home's folder is for local callers (a CLI of another home names it); peers get only its id.
    routeFor(metaOp, (_req, ctx) => {
      const meta = src.meta();
      if (ctx.remote) delete meta.home;
      return { body: meta };
    }),
    routeFor(healthOp, () => ({ body: { status: 'ok' as const } })),
    routeFor(stopDaemonOp, () => {
      src.requestShutdown('stop requested over HTTP');
      return { body: { success: true as const, pid: process.pid } };
    }),
  ];
}
