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
import { NOTHING_MORE_MS, isAlive, sleep, waitFor } from '../../../helpers/env.js';
import { QueueingHost, hostHello } from '../../../helpers/host-link.js';
import { RecordingLogger, RecordingSink } from '../../../helpers/recorders.js';

const STAND_IN = fileURLToPath(new URL('./stand-in-host.mjs', import.meta.url));

interface Started {
  pid: number;
  spec: { session_id: string; host_instance: string; type: string; command: string; file: string; args: string[]; cwd: string; env: Record<string, string>; spawn_request_id?: string };
}

/** The spawner with a real child process (a stand-in host that prints its spec), and a registry in memory. */
/** The process whose stdout is `file` (a spare host writes to its spare log), or null. */
async function writerOf(file: string): Promise<number | null> {
  for (const e of await fs.readdir('/proc')) {
    if (!/^\d+$/.test(e)) continue;
    if ((await fs.readlink(`/proc/${e}/fd/1`).catch(() => '')) === file) return Number(e);
  }
  return null;
}

describe('spawner', () => {
  let dir: string;
  let registry: SessionRegistry;
  let spawner: Spawner;
  let log: RecordingLogger;
  const pids: number[] = [];

  beforeEach(async () => {
    dir = await fs.mkdtemp(path.join(os.tmpdir(), 'telepty-spawner-'));
    registry = new SessionRegistry({ machineId: 'box-1', events: new RecordingSink(), now: Date.now, changed: () => undefined, isAlive: async () => false });
    log = new RecordingLogger();
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
    for (const file of await spareLogs()) {
      const pid = await writerOf(file);
      if (pid !== null) pids.push(pid);
    }
    for (const pid of pids.splice(0)) if (isAlive(pid)) process.kill(pid, 'SIGKILL');
    await fs.rm(dir, { recursive: true, force: true });
  });

  async function spareLogs(): Promise<string[]> {
    const names = await fs.readdir(path.join(dir, 'hosts')).catch(() => []);
    return names.filter((n) => /^spare-[0-9a-f]+\.log$/.test(n)).map((n) => path.join(dir, 'hosts', n));
  }

  /** Spawn `id` with the stand-in and play its host's hello; the stand-in's pid and spec. */
  async function spawnRegistered(id: string): Promise<Started> {
    const spawning = spawner.spawn({ session_id: id, command: 'sh', args: [], cwd: dir, env: {}, cols: 80, rows: 24 });
    const s = await started(id);
    await registry.attachHost(hostHello(s.spec.host_instance, id, Date.now(), {}, { host_pid: s.pid }), new QueueingHost());
    await spawning;
    return s;
  }

  /** The spare's log and its process, once the spare (started after a spawn) runs. */
  async function spare(): Promise<{ file: string; pid: number }> {
    return waitFor('a spare host', async () => {
      const [file] = await spareLogs();
      const pid = file ? await writerOf(file) : null;
      return file && pid !== null ? { file, pid } : null;
    });
  }

  async function started(id: string): Promise<Started> {
    const file = path.join(dir, 'hosts', `${id}.log`);
    const line = await waitFor('the host started', async () => {
      const text = await fs.readFile(file, 'utf8').catch(() => '');
      // The stand-in's line (a log carried over from an earlier session of the id comes before it).
      return text.split('\n').find((l) => l.startsWith('{')) ?? null;
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

  it('keeps a spare host once it has spawned, and hands it the next spawn: its log becomes the session\'s', async () => {
    await spawnRegistered('first');
    const waiting = await spare();
    expect(await fs.readFile(waiting.file, 'utf8')).toBe(''); // it waits for its spec, silent
    const second = await spawnRegistered('second');
    expect(second.pid).toBe(waiting.pid);
    expect(second.spec).toMatchObject({ session_id: 'second', command: 'sh' });
    // Its output is the session's log now, under the session's name; the spare name is gone.
    expect(await writerOf(path.join(dir, 'hosts', 'second.log'))).toBe(waiting.pid);
    expect(log.lines.map((l) => l.message)).toContainEqual(expect.stringContaining(`spawned second: sh (spare host pid ${waiting.pid}`));
    // And the next spare is started for the spawn after.
    const next = await spare();
    expect(next.pid).not.toBe(waiting.pid);
    expect(await spareLogs()).toEqual([next.file]);
  });

  it('carries an earlier log of the same id over, in front of what the spare host writes', async () => {
    await spawnRegistered('first');
    const waiting = await spare();
    // What an earlier session of that id left (its host's lines).
    await fs.writeFile(path.join(dir, 'hosts', 'again.log'), 'an earlier session\'s line\n');
    const second = await spawnRegistered('again');
    expect(second.pid).toBe(waiting.pid);
    const lines = (await fs.readFile(path.join(dir, 'hosts', 'again.log'), 'utf8')).trim().split('\n');
    expect(lines[0]).toBe("an earlier session's line");
    expect((JSON.parse(lines[1] as string) as Started).pid).toBe(waiting.pid);
    expect(lines).toHaveLength(2);
  });

  it('starts no spare when told not to (TELEPTY_SPARE_HOST=0)', async () => {
    spawner = new Spawner({
      registry,
      log,
      hostLogDir: path.join(dir, 'hosts'),
      env: { PATH: process.env.PATH ?? '/usr/bin:/bin', TELEPTY_SPARE_HOST: '0' },
      homeDir: dir,
      spawnTimeoutMs: 5_000,
      channels: new HostChannels(log, true),
      hostMain: STAND_IN,
    });
    await spawnRegistered('solo');
    await spawnRegistered('solo-2');
    await sleep(NOTHING_MORE_MS);
    expect(await spareLogs()).toEqual([]);
  });
});
