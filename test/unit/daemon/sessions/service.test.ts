import { promises as fs } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { Sessions } from '../../../../src/daemon/sessions/service.js';
import { settingsFromEnv } from '../../../../src/daemon/settings.js';
import { DEFAULT_DAEMON_TIMINGS } from '../../../../src/daemon/timings.js';
import { isTeleptyError } from '../../../../src/protocol/errors.js';
import type { TeleptyConfig } from '../../../../src/util/config.js';
import { resolvePaths } from '../../../../src/util/paths.js';
import { waitFor } from '../../../helpers/env.js';
import { QueueingHost, hostHello, newHostInstance } from '../../../helpers/host-link.js';
import { RecordingLogger, RecordingSink } from '../../../helpers/recorders.js';

/** A pid no process ever has: Linux pids stay below pid_max, which is at most 2^22 (PID_MAX_LIMIT). */
const NO_SUCH_PID = 2 ** 22;

/** The sessions service in-process (no spawn: hosts attach through the registry, as host-hub does). */
describe('sessions service', () => {
  let dir: string;
  let events: RecordingSink;
  let sessions: Sessions;
  let clock: number;

  async function make(): Promise<Sessions> {
    const config: TeleptyConfig = { paths: await resolvePaths({ TELEPTY_HOME: dir }), host: '127.0.0.1', port: 0, machineId: 'box-1', addressExplicit: false };
    const settings = settingsFromEnv({});
    const s = new Sessions({ config, env: {}, directViewers: true, legacyInjectTimings: settings.legacyInjectTimings, log: new RecordingLogger(), events, timings: { ...DEFAULT_DAEMON_TIMINGS, killTimeoutMs: 2_000 }, now: () => clock });
    await s.load();
    s.activate();
    return s;
  }

  beforeEach(async () => {
    dir = await fs.mkdtemp(path.join(os.tmpdir(), 'telepty-sessions-'));
    events = new RecordingSink();
    clock = Date.parse('2025-03-01T12:00:00.000Z');
    sessions = await make();
  });

  afterEach(async () => {
    await sessions.stop();
    await fs.rm(dir, { recursive: true, force: true });
  });

  async function attach(id: string, over: Parameters<typeof hostHello>[4] = {}): Promise<QueueingHost> {
    const host = new QueueingHost();
    await sessions.registry.attachHost(hostHello(newHostInstance(), id, clock, {}, { last_activity_at: new Date(clock).toISOString(), ...over }), host);
    return host;
  }

  const codeOf = async (p: Promise<unknown>): Promise<string | null> => p.then(() => null, (e: unknown) => (isTeleptyError(e) ? e.code : String(e)));

  it('lists sessions, those idle longer than idle_gt, and gets one by id', async () => {
    await attach('alpha');
    clock += 30_000;
    await attach('beta');
    expect((await sessions.list()).map((s) => s.id)).toEqual(['alpha', 'beta']);
    expect((await sessions.list(10)).map((s) => s.id)).toEqual(['alpha']);
    expect((await sessions.get('beta')).idleSeconds).toBe(0);
    expect(await codeOf(sessions.get('ghost'))).toBe('SESSION_NOT_FOUND');
  });

  it('renames on disk before it answers', async () => {
    await attach('alpha');
    expect(await sessions.rename('alpha', 'gamma')).toEqual({ success: true, old_id: 'alpha', new_id: 'gamma' });
    const file = JSON.parse(await fs.readFile(path.join(dir, 'sessions.json'), 'utf8')) as { sessions: { id: string }[] };
    expect(file.sessions.map((s) => s.id)).toEqual(['gamma']);
  });

  it('kill of a session whose host is away: pending, remembered on disk, gone from the list', async () => {
    await attach('alpha');
    const e = sessions.registry.require('alpha');
    sessions.registry.detachHost(e, e.link as NonNullable<typeof e.link>);
    expect(await sessions.kill('alpha')).toEqual({ success: true, id: 'alpha', status: 'pending' });
    expect(await sessions.list()).toEqual([]);
    const file = JSON.parse(await fs.readFile(path.join(dir, 'sessions.json'), 'utf8')) as { killed_instances: [string, number][] };
    expect(file.killed_instances.map(([i]) => i)).toEqual([e.hostInstance]);
  });

  it('kill without wait answers closing at once and tells the host', async () => {
    const host = await attach('alpha');
    expect(await sessions.kill('alpha', { wait: false })).toEqual({ success: true, id: 'alpha', status: 'closing' });
    expect(host.sent).toContainEqual({ type: 'kill', reason: 'killed by `telepty kill`' });
    expect(await sessions.list()).toEqual([]);
  });

  it('kill of an exited session only removes it, saying it had exited', async () => {
    await attach('alpha');
    sessions.registry.markExited(sessions.registry.require('alpha'), 2, 'exited');
    expect(await sessions.kill('alpha')).toEqual({ success: true, id: 'alpha', status: 'killed', exit_code: 2, already_exited: true });
  });

  it('registers a 0.1.5x placeholder (201), a re-register is 200; the placeholder is disconnected and can be removed', async () => {
    expect(sessions.registerPlaceholder({ session_id: 'legacy', command: 'claude', cwd: '/w' })).toEqual({ status: 201, body: { session_id: 'legacy', type: 'wrapped', command: 'claude', cwd: '/w' } });
    expect(sessions.registerPlaceholder({ session_id: 'legacy' }).status).toBe(200);
    expect((await sessions.get('legacy')).status).toBe('disconnected');
    expect(await sessions.kill('legacy')).toEqual({ success: true, id: 'legacy', status: 'removed' });
    expect(events.kinds()).toContain('session_register');
  });

  it('answers a repeat of a spawn that a reconnecting host names with that session, spawning nothing', async () => {
    await attach('alpha');
    sessions.spawnedBy('req-1', sessions.registry.require('alpha'));
    const r = await sessions.spawn({ request_id: 'req-1', command: 'never-run', args: [], env: {}, cols: 80, rows: 24 }, true);
    expect(r).toMatchObject({ session_id: 'alpha', session: { id: 'alpha' } });
  });

  it('a host exit of a session killed while away removes it', async () => {
    await attach('alpha');
    const e = sessions.registry.require('alpha');
    e.killPending = true;
    sessions.registry.markExited(e, 0, 'exited');
    sessions.onHostExit(e);
    expect(sessions.registry.get('alpha')).toBeUndefined();
  });

  it('fails, on the bus, the jobs of a session whose host died (kill -9) once it is marked exited: nothing can report them', async () => {
    const host = await attach('alpha', { host_pid: NO_SUCH_PID });
    const e = sessions.registry.require('alpha');
    const waiting = codeOf(sessions.injector.inject('alpha', 'hello', { from: null, reply_to: null, thread_id: null, reply_expected: false, no_enter: false, wait: true, timeout_ms: 30_000 }));
    const [job] = await host.jobsAt(1);
    // The link closes as host-hub closes it: the caller is told at once, the job may still end if the host returns.
    sessions.injector.onHostGone(e);
    sessions.registry.detachHost(e, e.link as NonNullable<typeof e.link>);
    expect(await waiting).toBe('SESSION_DISCONNECTED');
    // The sweeper finds the host process gone: the session exits, and its job's one outcome is published.
    await waitFor('the session to exit', () => e.status === 'exited');
    expect(events.events.filter((x) => x.kind === 'inject_failed').map((x) => x.fields)).toEqual([expect.objectContaining({ inject_id: job?.inject_id, target_agent: 'alpha', code: 'SESSION_EXITED' })]);
  });

  it('restores sessions from disk, disconnected, in a new service on the same home', async () => {
    await attach('alpha');
    await sessions.stop();
    const next = await make();
    expect((await next.list()).map((s) => [s.id, s.status])).toEqual([['alpha', 'disconnected']]);
    await next.stop();
  });
});
