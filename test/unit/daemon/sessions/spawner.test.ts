import { promises as fs } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { HostChannels } from '../../../../src/daemon/sessions/host-channels.js';
import { SESSION_INSTANCE_ENV } from '../../../../src/daemon/sessions/orphans.js';
import { SessionRegistry } from '../../../../src/daemon/sessions/registry.js';
import { Spawner } from '../../../../src/daemon/sessions/spawner.js';
import { isTeleptyError } from '../../../../src/protocol/errors.js';
import { isAlive, waitFor } from '../../../helpers/env.js';
import { QueueingHost, hostHello } from '../../../helpers/host-link.js';
import { RecordingLogger, RecordingSink } from '../../../helpers/recorders.js';

const STAND_IN = fileURLToPath(new URL('./stand-in-host.mjs', import.meta.url));

interface Started {
  pid: number;
  spec: { session_id: string; host_instance: string; type: string; command: string; file: string; args: string[]; cwd: string; env: Record<string, string>; spawn_request_id?: string };
}

/** The spawner with a real child process (a stand-in host that prints its spec), and a registry in memory. */
describe('spawner', () => {
  let dir: string;
  let registry: SessionRegistry;
  let spawner: Spawner;
  const pids: number[] = [];

  beforeEach(async () => {
    dir = await fs.mkdtemp(path.join(os.tmpdir(), 'telepty-spawner-'));
    registry = new SessionRegistry({ machineId: 'box-1', events: new RecordingSink(), now: Date.now, changed: () => undefined, isAlive: async () => false });
    const log = new RecordingLogger();
    spawner = new Spawner({
      registry,
      log,
      hostLogDir: path.join(dir, 'hosts'),
      env: { PATH: process.env.PATH ?? '/usr/bin:/bin', [SESSION_INSTANCE_ENV]: 'the-daemons-own-session' },
      homeDir: dir,
      spawnTimeoutMs: 5_000,
      channels: new HostChannels(log, true),
      hostMain: STAND_IN,
    });
  });

  afterEach(async () => {
    for (const pid of pids.splice(0)) if (isAlive(pid)) process.kill(pid, 'SIGKILL');
    await fs.rm(dir, { recursive: true, force: true });
  });

  async function started(id: string): Promise<Started> {
    const file = path.join(dir, 'hosts', `${id}.log`);
    const line = await waitFor('the host started', async () => {
      const text = await fs.readFile(file, 'utf8').catch(() => '');
      return text.includes('\n') ? text.split('\n')[0] : null;
    });
    const s = JSON.parse(line) as Started;
    pids.push(s.pid);
    return s;
  }

  it('starts a detached host with the spec on its stdin, and answers once that host said hello', async () => {
    const spawning = spawner.spawn({ session_id: 'alpha', request_id: 'req-1', command: 'sh', args: ['-c', 'true'], cwd: dir, env: { EXTRA: '1' }, cols: 90, rows: 30 });
    const { pid, spec } = await started('alpha');
    expect(spec).toMatchObject({ session_id: 'alpha', type: 'spawned', command: 'sh', args: ['-c', 'true'], cwd: dir, spawn_request_id: 'req-1' });
    expect(spec.file).toMatch(/\/sh$/);
    // The session's environment: the daemon's, the request's, and this session's own marker (not the daemon's).
    expect(spec.env).toMatchObject({ EXTRA: '1', TELEPTY_SESSION_ID: 'alpha', [SESSION_INSTANCE_ENV]: spec.host_instance });
    // The id is held for this host while it starts.
    expect(registry.isTaken('alpha')).toBe(true);
    await registry.attachHost(hostHello(spec.host_instance, 'alpha', Date.now(), {}, { host_pid: pid }), new QueueingHost());
    const entry = await spawning;
    expect(entry).toMatchObject({ id: 'alpha', hostInstance: spec.host_instance, hostPid: pid });
  });

  it('names a session from its folder and command when no id is given', async () => {
    const spawning = spawner.spawn({ command: 'sh', args: [], cwd: dir, env: {}, cols: 80, rows: 24 });
    const id = `${path.basename(dir)}-sh`;
    const { spec, pid } = await started(id);
    await registry.attachHost(hostHello(spec.host_instance, spec.session_id, Date.now(), {}, { host_pid: pid }), new QueueingHost());
    expect((await spawning).id).toBe(id);
  });

  it('fails with the host log when the host exits before registering, and frees the id', async () => {
    const err = await spawner.spawn({ session_id: 'broken', command: 'sh', args: ['fail'], cwd: dir, env: {}, cols: 80, rows: 24 }).catch((e: unknown) => e);
    expect(isTeleptyError(err) && err.code).toBe('INVALID_COMMAND');
    expect((err as Error).message).toContain('cannot start: no such program');
    expect((err as Error).message).toContain('code 3');
    expect(registry.isTaken('broken')).toBe(false);
  });

  it('refuses a command it cannot find and a folder that does not exist, starting nothing', async () => {
    const missing = await spawner.spawn({ session_id: 'x', command: 'no-such-program-here', args: [], cwd: dir, env: {}, cols: 80, rows: 24 }).catch((e: unknown) => e);
    expect(isTeleptyError(missing) && missing.code).toBe('INVALID_COMMAND');
    const nowhere = await spawner.spawn({ session_id: 'y', command: 'sh', args: [], cwd: path.join(dir, 'nope'), env: {}, cols: 80, rows: 24 }).catch((e: unknown) => e);
    expect(isTeleptyError(nowhere)).toBe(true);
    expect(await fs.readdir(path.join(dir, 'hosts')).catch(() => [])).toEqual([]);
  });
});
