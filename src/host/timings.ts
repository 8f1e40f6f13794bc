import { DEFAULT_LINK_TIMINGS } from './daemon-link.js';
import { DEFAULT_INJECT_TIMINGS } from '../terminal/inject-queue.js';
import { DEFAULT_HOST_TIMINGS, type HostTimings } from './session-host.js';

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

/** Host timings: defaults, overridden by positive integers in the environment (tests shrink them). */
export function hostTimingsFromEnv(env: NodeJS.ProcessEnv): HostTimings {
  const t: HostTimings = { ...DEFAULT_LINK_TIMINGS, ...DEFAULT_INJECT_TIMINGS, ...DEFAULT_HOST_TIMINGS };
  for (const [key, name] of Object.entries(ENV_NAMES) as [keyof HostTimings, string][]) {
    const n = Number(env[name]);
    if (Number.isInteger(n) && n > 0) t[key] = n;
  }
  return t;
}
