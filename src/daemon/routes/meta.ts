import type { HealthResponse, MetaResponse, ShutdownResponse } from '../../protocol/meta.js';
import type { Route } from '../http/router.js';

export interface MetaSource {
  meta(): MetaResponse;
  requestShutdown(reason: string): void;
}

export function metaRoutes(src: MetaSource): Route[] {
  return [
    {
      method: 'GET',
      path: '/api/meta',
      // The home's folder is for local callers (a CLI of another home names it); peers get only its id.
      handler: (ctx) => {
        const meta = src.meta();
        if (ctx.remote) delete meta.home;
        return { body: meta };
      },
    },
    { method: 'GET', path: '/api/health', public: true, handler: () => ({ body: { status: 'ok' } satisfies HealthResponse }) },
    {
      method: 'POST',
      path: '/api/daemon/stop',
      localOnly: true,
      handler: () => {
        src.requestShutdown('stop requested over HTTP');
        return { body: { success: true, pid: process.pid } satisfies ShutdownResponse };
      },
    },
  ];
}
