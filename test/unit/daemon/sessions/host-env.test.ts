import { describe, expect, it } from 'vitest';
import { SESSION_INSTANCE_ENV } from '../../../../src/daemon/sessions/orphans.js';
import { HOST_GLIBC_TUNABLES, hostEnv } from '../../../../src/daemon/sessions/spawner.js';

describe("a host's environment (the daemon's, for the host process only)", () => {
  it('has one malloc arena, and no session marker of the daemon', () => {
    const env = hostEnv({ PATH: '/bin', [SESSION_INSTANCE_ENV]: 'the-daemons-own-session' });
    expect(env).toEqual({ PATH: '/bin', GLIBC_TUNABLES: HOST_GLIBC_TUNABLES });
    expect(HOST_GLIBC_TUNABLES).toBe('glibc.malloc.arena_max=1');
  });

  it("keeps the daemon's own glibc tunables, and its own arena count", () => {
    expect(hostEnv({ GLIBC_TUNABLES: 'glibc.malloc.tcache_count=0' }).GLIBC_TUNABLES).toBe(`glibc.malloc.tcache_count=0:${HOST_GLIBC_TUNABLES}`);
    expect(hostEnv({ GLIBC_TUNABLES: 'glibc.malloc.arena_max=4' }).GLIBC_TUNABLES).toBe('glibc.malloc.arena_max=4');
  });
});
