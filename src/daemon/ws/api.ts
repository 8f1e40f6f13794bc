import type { Logger } from '../../util/log.js';
import { busRoute } from './bus.js';
import type { DaemonCore } from '../core.js';
import type { DaemonTimings } from '../timings.js';
import { hostLinkRoute } from './host-link.js';
import type { WsRoute } from './upgrade.js';
import { viewerRoute } from './viewers.js';

/** The WebSocket adapters of the core: the host link, viewers (and 0.1.5x owners) of a session, the bus. */
export function coreWsRoutes(core: DaemonCore, log: Logger, timings: DaemonTimings): WsRoute[] {
  const { sessions } = core;
  const { registry, viewers, injector, channels } = sessions;
  return [
    hostLinkRoute({
      registry,
      viewers,
      log,
      timings,
      injector,
      onExit: (e) => sessions.onHostExit(e),
      spawnedBy: (requestId, entry) => sessions.spawnedBy(requestId, entry),
    }),
    sessions.legacy.route(viewerRoute({ registry, viewers, log, timings, handOff: (entry, req, socket, head) => channels.handOff(entry, req, socket, head) })),
    busRoute(core.bus, log, timings),
  ];
}
