import { DEFAULT_INJECT_TIMINGS, type InjectTimings } from '../terminal/inject-queue.js';
import { DEFAULT_VIEWER_CATCH_UP_MS } from '../util/viewer-flow.js';

export interface LinkTimings {
  /** First reconnect delay; doubles per failed attempt. Small: a restarted daemon is usually up within ~0.3 s. */
  reconnectInitialMs: number;
  /** Reconnect delay cap: keeps "new daemon → session connected" within the 3 s the issue asks for. */
  reconnectMaxMs: number;
  /** Ping interval both ways; a half-open link is noticed within heartbeatTimeoutMs. */
  heartbeatMs: number;
  heartbeatTimeoutMs: number;
}

export const DEFAULT_LINK_TIMINGS: LinkTimings = {
  reconnectInitialMs: 100,
  reconnectMaxMs: 1_000,
  heartbeatMs: 2_000,
  heartbeatTimeoutMs: 6_000,
};

export interface HostTimings extends LinkTimings, InjectTimings {
  /** lastActivityAt reaches the daemon at most this often (idle is reported in whole seconds). */
  activityReportMs: number;
  /** After SIGHUP, how long the child's session gets before SIGKILL. */
  killGraceMs: number;
  /**
   * After the child exits with the daemon away, how long to wait for it to come back to hear the exit code (a
   * background host: nobody waits on it; wrap's is shorter, WRAP_EXIT_REPORT_WAIT_MS).
   */
  exitReportWaitMs: number;
  /** A direct viewer paused for falling behind is dropped when it has not caught up in this long. */
  viewerCatchUpMs: number;
}

export const DEFAULT_HOST_TIMINGS: Omit<HostTimings, keyof LinkTimings | keyof InjectTimings> = {
  activityReportMs: 1_000,
  killGraceMs: 2_000,
  exitReportWaitMs: 5_000,
  // The same rule as for the daemon's viewers.
  viewerCatchUpMs: DEFAULT_VIEWER_CATCH_UP_MS,
};

const ENV_NAMES: Partial<Record<keyof HostTimings, string>> = {
  reconnectMaxMs: 'TELEPTY_RECONNECT_MAX_MS',
  heartbeatMs: 'TELEPTY_HEARTBEAT_MS',
  heartbeatTimeoutMs: 'TELEPTY_HEARTBEAT_TIMEOUT_MS',
  activityReportMs: 'TELEPTY_ACTIVITY_REPORT_MS',
  killGraceMs: 'TELEPTY_KILL_GRACE_MS',
  typingPauseMs: 'TELEPTY_TYPING_PAUSE_MS',
  typingDeferMaxMs: 'TELEPTY_TYPING_DEFER_MAX_MS',
  submitWatchMs: 'TELEPTY_SUBMIT_WATCH_MS',
  // The same variable as the daemon's: a viewer is paused and dropped alike wherever it is served.
  viewerCatchUpMs: 'TELEPTY_VIEWER_CATCH_UP_MS',
};

/** Host timings: defaults (with `own`, a kind of host's), overridden by positive integers in the environment (tests shrink them). */
export function hostTimingsFromEnv(env: NodeJS.ProcessEnv, own: Partial<HostTimings> = {}): HostTimings {
  const t: HostTimings = { ...DEFAULT_LINK_TIMINGS, ...DEFAULT_INJECT_TIMINGS, ...DEFAULT_HOST_TIMINGS, ...own };
  for (const [key, name] of Object.entries(ENV_NAMES) as [keyof HostTimings, string][]) {
    const n = Number(env[name]);
    if (Number.isInteger(n) && n > 0) t[key] = n;
  }
  return t;
}
