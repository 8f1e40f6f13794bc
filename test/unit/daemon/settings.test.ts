import { DEFAULT_FLEET_ALLOW } from '../../../src/daemon/fleet/serve.js';
import { describe, expect, it } from 'vitest';
import { DEFAULT_BUS_LIMITS } from '../../../src/daemon/bus/bus.js';
import { settingsFromEnv } from '../../../src/daemon/settings.js';
import { DEFAULT_INJECT_TIMINGS } from '../../../src/terminal/inject-queue.js';

describe('daemon settings (the environment, read once)', () => {
  it('defaults when nothing is set', () => {
    expect(settingsFromEnv({})).toEqual({
      peerAllowlist: '',
      allowedOrigins: '',
      allowedHosts: [],
      busLimits: DEFAULT_BUS_LIMITS,
      directViewers: true,
      legacyInjectTimings: DEFAULT_INJECT_TIMINGS,
      fleetAllow: new Set(DEFAULT_FLEET_ALLOW),
    });
  });

  it('reads each variable, ignoring values that are not usable', () => {
    const s = settingsFromEnv({
      TELEPTY_PEER_ALLOWLIST: '10.0.0.0/8',
      TELEPTY_ALLOWED_ORIGINS: 'https://a.example',
      TELEPTY_ALLOWED_HOSTS: ' box.lan , ,other ',
      TELEPTY_BUS_RING: '50',
      TELEPTY_DIRECT_VIEWERS: '0',
      TELEPTY_TYPING_PAUSE_MS: '7',
      TELEPTY_SUBMIT_WATCH_MS: 'soon',
    });
    expect(s).toMatchObject({ peerAllowlist: '10.0.0.0/8', allowedOrigins: 'https://a.example', allowedHosts: ['box.lan', 'other'], directViewers: false });
    expect(s.busLimits).toEqual({ ...DEFAULT_BUS_LIMITS, ringEvents: 50 });
    expect(s.legacyInjectTimings).toEqual({ ...DEFAULT_INJECT_TIMINGS, typingPauseMs: 7 });
    expect(settingsFromEnv({ TELEPTY_BUS_RING: '-1' }).busLimits).toEqual(DEFAULT_BUS_LIMITS);
  });
});
