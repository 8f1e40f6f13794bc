import type { TeleptyConfig } from '../util/config.js';
import type { Logger } from '../util/log.js';
import { startAutoRouter } from './bus/auto-router.js';
import { Bus, DEFAULT_BUS_LIMITS, type BusLimits } from './bus/bus.js';
import { busRoutes } from './bus/routes.js';
import { busRoute } from './bus/ws.js';
import type { Route } from './http/router.js';
import { injectRoutes } from './inject/routes.js';
import { Handoffs } from './records/handoffs.js';
import { recordRoutes } from './records/routes.js';
import { Threads } from './records/threads.js';
import { sessionRoutes } from './sessions/routes.js';
import { Sessions } from './sessions/service.js';
import type { DaemonTimings } from './timings.js';
import type { WsRoute } from './ws/upgrade.js';

/** Capabilities of this build: the seed's names (older clients check them) first, then telepty's. */
export const CAPABILITIES = [
  'sessions',
  'wrapped-sessions',
  'singleton-daemon',
  'handoff-inbox',
  'deliberation-threads',
  'inject-queue',
  'inject-wait',
  'screen',
  'attach',
  'persistent-sessions',
  'bus',
  'bus-filters',
  'bus-replay',
  'bus-batch',
  'auto-router',
];

export interface ServicesDeps {
  config: TeleptyConfig;
  env: NodeJS.ProcessEnv;
  log: Logger;
  timings: DaemonTimings;
  now: () => number;
}

export interface Services {
  routes: Route[];
  wsRoutes: WsRoute[];
  /** Read persisted state (before listening). */
  load(): Promise<void>;
  /** This daemon won the claim: start writing and sweeping. */
  activate(): void;
  /** Flush everything (shutdown). */
  stop(): Promise<void>;
}

function busLimits(env: NodeJS.ProcessEnv): BusLimits {
  const n = Number(env.TELEPTY_BUS_RING);
  return Number.isInteger(n) && n > 0 ? { ...DEFAULT_BUS_LIMITS, ringEvents: n } : DEFAULT_BUS_LIMITS;
}

/** The composition root of the daemon's domain: every service built once and wired to its transport. */
export function createServices(deps: ServicesDeps): Services {
  const { config, env, log, timings, now } = deps;
  const bus = new Bus({ machineId: config.machineId, now, log, limits: busLimits(env) });
  const sessions = new Sessions({ config, env, log, events: bus, timings, now });
  const handoffs = new Handoffs({ file: config.paths.handoffsFile, events: bus, now, log, debounceMs: timings.persistDebounceMs });
  const threads = new Threads({ file: config.paths.threadsFile, events: bus, now, log, debounceMs: timings.persistDebounceMs });
  bus.onEvent((ev) => threads.observe(ev));
  startAutoRouter(bus, sessions.injector, config.machineId, log);
  return {
    routes: [...sessionRoutes(sessions), ...injectRoutes(sessions.injector), ...busRoutes(bus), ...recordRoutes(handoffs, threads)],
    wsRoutes: [...sessions.wsRoutes(), busRoute(bus, log, timings)],
    async load() {
      await sessions.load();
      const [h, t] = await Promise.all([handoffs.load(), threads.load()]);
      if (h + t > 0) log.info(`restored ${h} handoff(s) and ${t} thread(s)`);
    },
    activate() {
      sessions.activate();
      handoffs.enable();
      threads.enable();
    },
    async stop() {
      await Promise.all([sessions.stop(), handoffs.flush(), threads.flush()]);
    },
  };
}
