import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { parseJson, runCli } from '../helpers/cli.js';
import { useHomes } from '../helpers/daemon.js';
import { waitFor } from '../helpers/env.js';
import type { SessionObject } from '../../src/protocol/session.js';

/**
 * The malloc library preloaded into session hosts (issue 24, src/daemon/sessions/spawner.ts hostMalloc): the host
 * gets it, the session's program never does. The library here is the C library this test's Node has loaded (present
 * on every Linux machine, and harmless to preload), named through TELEPTY_HOST_MALLOC.
 */
const homes = useHomes();

function environOf(pid: number): string[] {
  return readFileSync(`/proc/${pid}/environ`, 'utf8').split('\0');
}

const libc = process.platform === 'linux' ? /\s(\/\S*\/libc\.so\.6)$/m.exec(readFileSync('/proc/self/maps', 'utf8'))?.[1] : undefined;

describe.skipIf(!libc)("a session host's malloc library", () => {
  it('is preloaded into the host with its settings, and not into the session program', async () => {
    const home = homes.newHome();
    const env = { TELEPTY_HOST_MALLOC: libc as string };
    const r = await runCli(home, ['spawn', '--id', 'm', '--json', '--', 'sh', '-c', 'echo "P=[$LD_PRELOAD] M=[$MALLOC_CONF]"; exec sleep 60'], { env });
    expect(r.exitCode, r.stderr).toBe(0);
    const s = parseJson<SessionObject>(r);
    expect(environOf(s.host_pid as number)).toContain(`LD_PRELOAD=${libc}`);
    expect(environOf(s.host_pid as number).some((v) => v.startsWith('MALLOC_CONF=narenas:1,'))).toBe(true);
    await waitFor('the program says what it got', async () => (await runCli(home, ['read', 'm'], { env })).stdout.includes('P=[] M=[]'));
    expect(environOf(s.pid as number).some((v) => v.startsWith('LD_PRELOAD='))).toBe(false);
  });

  it('is none with TELEPTY_HOST_MALLOC=glibc', async () => {
    const home = homes.newHome();
    const env = { TELEPTY_HOST_MALLOC: 'glibc' };
    const r = await runCli(home, ['spawn', '--id', 'g', '--json', '--', 'sleep', '60'], { env });
    expect(r.exitCode, r.stderr).toBe(0);
    const s = parseJson<SessionObject>(r);
    expect(environOf(s.host_pid as number).some((v) => v.startsWith('LD_PRELOAD='))).toBe(false);
  });
});
