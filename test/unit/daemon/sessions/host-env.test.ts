import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { SESSION_INSTANCE_ENV } from '../../../../src/daemon/sessions/orphans.js';
import { HOST_GLIBC_TUNABLES, HOST_JEMALLOC_CONF, HOST_MALLOC_LIBRARIES, hostEnv, hostMalloc } from '../../../../src/daemon/sessions/spawner.js';

describe("a host's environment (the daemon's, for the host process only)", () => {
  it('has one malloc arena, and no session marker of the daemon', () => {
    const env = hostEnv({ PATH: '/bin', [SESSION_INSTANCE_ENV]: 'the-daemons-own-session' });
    expect(env).toEqual({ PATH: '/bin', GLIBC_TUNABLES: HOST_GLIBC_TUNABLES });
    expect(HOST_GLIBC_TUNABLES).toBe('glibc.malloc.arena_max=1');
  });

  it('has no NODE_EXTRA_CA_CERTS (Node would parse the root store at every host start for it)', () => {
    const env = hostEnv({ PATH: '/bin', NODE_EXTRA_CA_CERTS: '/etc/ssl/certs/ca-certificates.crt' });
    expect(env).toEqual({ PATH: '/bin', GLIBC_TUNABLES: HOST_GLIBC_TUNABLES });
  });

  it("keeps the daemon's own glibc tunables, and its own arena count", () => {
    expect(hostEnv({ GLIBC_TUNABLES: 'glibc.malloc.tcache_count=0' }).GLIBC_TUNABLES).toBe(`glibc.malloc.tcache_count=0:${HOST_GLIBC_TUNABLES}`);
    expect(hostEnv({ GLIBC_TUNABLES: 'glibc.malloc.arena_max=4' }).GLIBC_TUNABLES).toBe('glibc.malloc.arena_max=4');
  });

  it('preloads the malloc library given, with its settings, unless the daemon preloads or configures one itself', () => {
    const lib = '/usr/lib/x86_64-linux-gnu/libjemalloc.so.2';
    expect(hostEnv({ PATH: '/bin' }, lib)).toEqual({ PATH: '/bin', GLIBC_TUNABLES: HOST_GLIBC_TUNABLES, LD_PRELOAD: lib, MALLOC_CONF: HOST_JEMALLOC_CONF });
    expect(hostEnv({ LD_PRELOAD: '/opt/mine.so' }, lib).LD_PRELOAD).toBe('/opt/mine.so');
    expect(hostEnv({ LD_PRELOAD: '/opt/mine.so' }, lib).MALLOC_CONF).toBeUndefined();
    expect(hostEnv({ MALLOC_CONF: 'narenas:2' }, lib).MALLOC_CONF).toBe('narenas:2');
    expect(hostEnv({ PATH: '/bin' }, null)).toEqual({ PATH: '/bin', GLIBC_TUNABLES: HOST_GLIBC_TUNABLES });
  });
});

describe("a host's malloc library", () => {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'telepty-malloc-'));
  const lib = path.join(dir, 'libmine.so');
  writeFileSync(lib, '');
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it('is TELEPTY_HOST_MALLOC when that file exists, none for `glibc` or a missing file, none off Linux', async () => {
    expect(await hostMalloc({ TELEPTY_HOST_MALLOC: lib }, 'linux')).toBe(lib);
    expect(await hostMalloc({ TELEPTY_HOST_MALLOC: 'glibc' }, 'linux')).toBeNull();
    expect(await hostMalloc({ TELEPTY_HOST_MALLOC: path.join(dir, 'missing.so') }, 'linux')).toBeNull();
    expect(await hostMalloc({ TELEPTY_HOST_MALLOC: lib }, 'darwin')).toBeNull();
  });

  it("is by default the system's jemalloc where it is installed, else none (glibc's malloc)", async () => {
    const { existsSync } = await import('node:fs');
    const present = HOST_MALLOC_LIBRARIES.find((f) => existsSync(f)) ?? null;
    expect(await hostMalloc({}, 'linux')).toBe(present);
  });
});
