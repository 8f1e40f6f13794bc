import { busRoutes } from '../bus/routes.js';
import type { DaemonCore } from '../core.js';
import { injectRoutes } from '../inject/routes.js';
import { recordRoutes } from '../records/routes.js';
import { sessionRoutes } from '../sessions/routes.js';
import type { Route } from './router.js';

/** The HTTP adapter of the core: its routes, each calling one service method. */
export function coreRoutes(core: DaemonCore): Route[] {
  return [...sessionRoutes(core.sessions), ...injectRoutes(core.injector), ...busRoutes(core.bus), ...recordRoutes(core.handoffs, core.threads)];
}
