import { DEFAULT_INJECT_TIMINGS, type InjectTimings } from '../terminal/inject-queue.js';
import type { FleetOp } from '../protocol/fleet.js';
import { DEFAULT_BUS_LIMITS, type BusLimits } from './bus/bus.js';
import { parseFleetAllow } from './fleet/serve.js';

/**
 * What the daemon takes from its environment besides paths, address and timings (config.ts, timings.ts): read once,
 * here, by the composition root; nothing below it reads the environment.
 */
export interface DaemonSettings {
  /** TELEPTY_PEER_ALLOWLIST: peers (addresses, CIDRs) allowed besides loopback. */
  peerAllowlist: string;
  /** TELEPTY_ALLOWED_ORIGINS: browser origins allowed to call the API. */
  allowedOrigins: string;
  /** TELEPTY_ALLOWED_HOSTS: extra Host header names this daemon answers to. */
  allowedHosts: string[];
  /** TELEPTY_BUS_RING: how many events the bus keeps for replay. */
  busLimits: BusLimits;
  /** TELEPTY_DIRECT_VIEWERS=0 relays every viewer through the daemon (to compare, or to rule the hand-over out). */
  directViewers: boolean;
  /** The inject timings a host would read from its environment, for the 0.1.5x owner bridge's queue. */
  legacyInjectTimings: InjectTimings;
  /** TELEPTY_FLEET_ALLOW: what other machines of the fleet may ask of this one. */
  fleetAllow: ReadonlySet<FleetOp>;
}

function busLimits(env: NodeJS.ProcessEnv): BusLimits {
  const n = Number(env.TELEPTY_BUS_RING);
  return Number.isInteger(n) && n > 0 ? { ...DEFAULT_BUS_LIMITS, ringEvents: n } : DEFAULT_BUS_LIMITS;
}

/** The inject timings a host would read from its environment (the ones tests and users set). */
function injectTimings(env: NodeJS.ProcessEnv): InjectTimings {
  const t = { ...DEFAULT_INJECT_TIMINGS };
  const names: [keyof InjectTimings, string][] = [
    ['typingPauseMs', 'TELEPTY_TYPING_PAUSE_MS'],
    ['typingDeferMaxMs', 'TELEPTY_TYPING_DEFER_MAX_MS'],
    ['submitWatchMs', 'TELEPTY_SUBMIT_WATCH_MS'],
  ];
  for (const [key, name] of names) {
    const n = Number(env[name]);
    if (Number.isInteger(n) && n > 0) t[key] = n;
  }
  return t;
}

export function settingsFromEnv(env: NodeJS.ProcessEnv): DaemonSettings {
  return {
    peerAllowlist: env.TELEPTY_PEER_ALLOWLIST ?? '',
    allowedOrigins: env.TELEPTY_ALLOWED_ORIGINS ?? '',
    allowedHosts: (env.TELEPTY_ALLOWED_HOSTS ?? '')
      .split(',')
      .map((s) => s.trim())
      .filter(Boolean),
    busLimits: busLimits(env),
    directViewers: env.TELEPTY_DIRECT_VIEWERS !== '0',
    legacyInjectTimings: injectTimings(env),
    fleetAllow: parseFleetAllow(env.TELEPTY_FLEET_ALLOW),
  };
}
