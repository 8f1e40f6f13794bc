import { DEFAULT_VIEWER_CATCH_UP_MS } from '../util/viewer-flow.js';
import type { BusWsTimings } from './ws/bus.js';
import type { SessionTimings } from './sessions/service.js';

/** Every daemon timing, named with its reason; tests shrink them through options or TELEPTY_* env. */
export interface DaemonTimings extends SessionTimings, BusWsTimings {
  /** How often the daemon checks that the state file still names it (another daemon may have taken over). */
  claimCheckIntervalMs: number;
  /** Graceful shutdown bound: open requests finish, then sockets are closed by force. */
  shutdownGraceMs: number;
  /** After a port conflict, how long to wait for the other daemon's claim to appear before calling it foreign. */
  addressInUseWaitMs: number;
}

export const DEFAULT_DAEMON_TIMINGS: DaemonTimings = {
  claimCheckIntervalMs: 5_000,
  shutdownGraceMs: 2_000,
  addressInUseWaitMs: 3_000,
  // A host says hello right after its handshake; 5 s covers a loaded machine.
  helloTimeoutMs: 5_000,
  // Ping every 2 s; a host silent for a whole interval is cut, so a half-open link is replaced within ~4 s.
  linkHeartbeatMs: 2_000,
  // A new host starts node, its child and the link in ~0.3 s here; 10 s covers a loaded CI machine.
  spawnTimeoutMs: 10_000,
  // SIGHUP, a 2 s grace, SIGKILL, then the exit report: 10 s is ample.
  killTimeoutMs: 10_000,
  // A screen read is a parse flush and a copy (ms); a stalled host gets 5 s.
  screenTimeoutMs: 5_000,
  replayTimeoutMs: 5_000,
  viewerCatchUpMs: DEFAULT_VIEWER_CATCH_UP_MS,
  sweepIntervalMs: 1_000,
  healthIntervalMs: 10_000,
  idleThresholdMs: 60_000,
  exitedRetentionMs: 60_000,
  disconnectedExpireMs: 10 * 60_000,
  // Coalesce bursts (a restart re-registering many hosts) into one write.
  persistDebounceMs: 50,
  // A host answers "queued" within milliseconds; 5 s means it is stuck.
  hostAckTimeoutMs: 5_000,
  // An inject whose host went away cannot report after this; forget it.
  pendingTtlMs: 10 * 60_000,
  // A dropped bus subscriber that still reads takes its close frame within a second; a stalled one is cut then.
  busDropGraceMs: 1_000,
  // Hosts see a new daemon's state file at once (they watch it) and reconnect in milliseconds; ~1 s bounds the
  // wait of the first command after a restart for hosts that are slow or gone.
  restoredHostsWaitMs: 1_000,
};

const ENV_NAMES: Partial<Record<keyof DaemonTimings, string>> = {
  claimCheckIntervalMs: 'TELEPTY_CLAIM_CHECK_MS',
  shutdownGraceMs: 'TELEPTY_SHUTDOWN_GRACE_MS',
  addressInUseWaitMs: 'TELEPTY_ADDRESS_WAIT_MS',
  linkHeartbeatMs: 'TELEPTY_LINK_HEARTBEAT_MS',
  healthIntervalMs: 'TELEPTY_HEALTH_INTERVAL_MS',
  idleThresholdMs: 'TELEPTY_IDLE_THRESHOLD_MS',
  exitedRetentionMs: 'TELEPTY_EXITED_RETENTION_MS',
  disconnectedExpireMs: 'TELEPTY_DISCONNECTED_EXPIRE_MS',
  sweepIntervalMs: 'TELEPTY_SWEEP_INTERVAL_MS',
  persistDebounceMs: 'TELEPTY_PERSIST_DEBOUNCE_MS',
  busDropGraceMs: 'TELEPTY_BUS_DROP_GRACE_MS',
  viewerCatchUpMs: 'TELEPTY_VIEWER_CATCH_UP_MS',
  restoredHostsWaitMs: 'TELEPTY_RESTORED_HOSTS_WAIT_MS',
};

/** Timings from defaults, overridden by positive integers in the environment. */
export function timingsFromEnv(env: NodeJS.ProcessEnv): DaemonTimings {
  const out = { ...DEFAULT_DAEMON_TIMINGS };
  for (const [key, name] of Object.entries(ENV_NAMES) as [keyof DaemonTimings, string][]) {
    const raw = env[name];
    const n = raw === undefined ? NaN : Number(raw);
    if (Number.isInteger(n) && n > 0) out[key] = n;
  }
  return out;
}
