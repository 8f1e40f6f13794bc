import { describe, expect, it } from 'vitest';
import { DEFAULT_HOST_TIMINGS, DEFAULT_LINK_TIMINGS, hostTimingsFromEnv } from '../../../src/host/timings.js';
import { DEFAULT_INJECT_TIMINGS } from '../../../src/terminal/inject-queue.js';

const DEFAULTS = { ...DEFAULT_LINK_TIMINGS, ...DEFAULT_INJECT_TIMINGS, ...DEFAULT_HOST_TIMINGS };

/** The variables a user (or a test) may set, and the timing each one sets. */
const KNOBS = {
  TELEPTY_RECONNECT_MAX_MS: 'reconnectMaxMs',
  TELEPTY_HEARTBEAT_MS: 'heartbeatMs',
  TELEPTY_HEARTBEAT_TIMEOUT_MS: 'heartbeatTimeoutMs',
  TELEPTY_ACTIVITY_REPORT_MS: 'activityReportMs',
  TELEPTY_KILL_GRACE_MS: 'killGraceMs',
  TELEPTY_TYPING_PAUSE_MS: 'typingPauseMs',
  TELEPTY_TYPING_DEFER_MAX_MS: 'typingDeferMaxMs',
  TELEPTY_SUBMIT_WATCH_MS: 'submitWatchMs',
} as const;

describe('hostTimingsFromEnv', () => {
  it('gives every default when nothing is set', () => {
    expect(hostTimingsFromEnv({})).toEqual(DEFAULTS);
  });

  it.each(Object.entries(KNOBS))('%s sets %s and nothing else', (name, key) => {
    const t = hostTimingsFromEnv({ [name]: '1234' });
    expect(t[key]).toBe(1234);
    expect({ ...t, [key]: DEFAULTS[key] }).toEqual(DEFAULTS);
  });

  it('ignores values that are not positive integers', () => {
    for (const bad of ['0', '-5', '1.5', 'abc', '', ' ', '1e400', '0x10x']) {
      expect(hostTimingsFromEnv({ TELEPTY_KILL_GRACE_MS: bad, TELEPTY_HEARTBEAT_MS: bad }), JSON.stringify(bad)).toEqual(DEFAULTS);
    }
  });

  it('reads nothing else from the environment', () => {
    expect(hostTimingsFromEnv({ TELEPTY_RECONNECT_INITIAL_MS: '1', TELEPTY_SETTLE_MS: '1', KILL_GRACE_MS: '1' })).toEqual(DEFAULTS);
  });
});
