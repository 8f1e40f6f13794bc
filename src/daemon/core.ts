import type { TeleptyConfig } from '../util/config.js';
import type { Logger } from '../util/log.js';
import { startAutoRouter, type RouterFleet } from './bus/auto-router.js';
import { Bus } from './bus/bus.js';
import type { Injector } from './inject/injector.js';
import { TurnFollows } from './inject/turn-follows.js';
import { Handoffs } from './records/handoffs.js';
import { Threads } from './records/threads.js';
import { Sessions } from './sessions/service.js';
import { SessionTargets } from './sessions/targets.js';
import type { DaemonSettings } from './settings.js';
import type { DaemonTimings } from './timings.js';

export interface CoreDeps {
  config: TeleptyConfig;
  /** The daemon's environment: the base of every spawned session's. */
  env: NodeJS.ProcessEnv;
  settings: DaemonSettings;
  log: Logger;
  timings: DaemonTimings;
  now: () => number;
  /** The fleet, once joined (null: local only): the auto-router leaves other machines' targets to it. */
  fleet?: () => RouterFleet | null;
  /** Why a configured fleet is not usable (null: usable, or none): said in the auto-router's UNKNOWN_HOST. */
  fleetProblem?: () => string | null;
  /** Where a program of this machine reaches this daemon over HTTP (its agent hooks report there); absent: unknown. */
  ownUrl?: () => string | undefined;
}

/**
 * The daemon's domain with no transport in it: sessions (registry, hosts, viewers, spawning, persistence), the
 * injector, the bus with its auto-router, handoffs and threads, and the targets that addresses resolve to. HTTP
 * routes (http/api.ts) and sockets (ws/api.ts) are adapters around it; hosts reach it through the host link
 * (sessions/host-hub.ts, carried by ws/host-link.ts).
 */
export interface DaemonCore {
  readonly sessions: Sessions;
  readonly injector: Injector;
  readonly bus: Bus;
  readonly handoffs: Handoffs;
  readonly threads: Threads;
  /** `id` or `id@machine` → the session, wherever it runs. */
  readonly targets: SessionTargets;
  /** Read persisted state (before listening). */
  load(): Promise<void>;
  /** This daemon won the claim: start writing and sweeping. */
  activate(): void;
  /** Flush everything (shutdown). */
  stop(): Promise<void>;
}

export function createCore(deps: CoreDeps): DaemonCore {
  const { config, env, settings, log, timings, now } = deps;
  const bus = new Bus({ machineId: config.machineId, now, log, limits: settings.busLimits });
  const sessions = new Sessions({ config, env, directViewers: settings.directViewers, legacyInjectTimings: settings.legacyInjectTimings, log, events: bus, timings, now, ...(deps.ownUrl ? { ownUrl: deps.ownUrl } : {}) });
  const { injector } = sessions;
  const handoffs = new Handoffs({ file: config.paths.handoffsFile, events: bus, now, log, debounceMs: timings.persistDebounceMs });
  const threads = new Threads({ file: config.paths.threadsFile, events: bus, now, log, debounceMs: timings.persistDebounceMs });
  const targets = new SessionTargets(sessions.registry, { machineId: config.machineId, sessions, injector, viewers: sessions.viewers });
  bus.onEvent((ev) => threads.observe(ev));
  const follows = new TurnFollows({ file: config.paths.turnFollowsFile, events: bus, now, log, debounceMs: timings.persistDebounceMs });
  const turns = startAutoRouter(bus, injector, config.machineId, log, { ...(deps.fleet ? { fleet: deps.fleet } : {}), ...(deps.fleetProblem ? { fleetProblem: deps.fleetProblem } : {}), store: follows, now });
  return {
    sessions,
    injector,
    bus,
    handoffs,
    threads,
    targets,
    async load() {
      await sessions.load();
      const [h, t, f] = await Promise.all([handoffs.load(), threads.load(), follows.load()]);
      if (h + t > 0) log.info(`restored ${h} handoff(s) and ${t} thread(s)`);
      if (f > 0) log.info(`${f} routed turn(s) followed by the last daemon: followed on`);
    },
    activate() {
      sessions.activate();
      handoffs.enable();
      threads.enable();
      follows.enable();
      // After the sessions (their hosts are awaited from here): a turn whose prompt is not known to be submitted is
      // handed again once its session's host is back.
      turns.restore(follows.list());
    },
    async stop() {
      await Promise.all([sessions.stop(), handoffs.flush(), threads.flush(), follows.flush()]);
    },
  };
}
