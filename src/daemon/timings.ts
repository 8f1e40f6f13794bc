/** Every daemon timing, named with its reason; tests shrink them through options or TELEPTY_* env. */
export interface DaemonTimings {
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
};

const ENV_NAMES: Record<keyof DaemonTimings, string> = {
  claimCheckIntervalMs: 'TELEPTY_CLAIM_CHECK_MS',
  shutdownGraceMs: 'TELEPTY_SHUTDOWN_GRACE_MS',
  addressInUseWaitMs: 'TELEPTY_ADDRESS_WAIT_MS',
};

/** Timings from defaults, overridden by positive integers in the environment. */
export function timingsFromEnv(env: NodeJS.ProcessEnv): DaemonTimings {
  const out = { ...DEFAULT_DAEMON_TIMINGS };
  for (const key of Object.keys(ENV_NAMES) as (keyof DaemonTimings)[]) {
    const raw = env[ENV_NAMES[key]];
    const n = raw === undefined ? NaN : Number(raw);
    if (Number.isInteger(n) && n > 0) out[key] = n;
  }
  return out;
}
