import { promises as fs } from 'node:fs';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { SessionRegistry, type HostHandle } from '../../../../src/daemon/sessions/registry.js';
import { SESSIONS_FILE_VERSION, SessionStore, fromPersisted, toPersisted, type PersistedSession, type SessionsFile } from '../../../../src/daemon/sessions/store.js';
import type { HostHello } from '../../../../src/protocol/host-link.js';
import { makeHome, sleep } from '../../../helpers/env.js';
import { hostHello } from '../../../helpers/host-link.js';
import { RecordingLogger } from '../../../helpers/recorders.js';
import { persistedSession } from '../../../helpers/sessions-file.js';

const T0 = Date.parse('2025-03-01T12:00:00.000Z');

/** A host link the registry can hold; nothing here talks to it. */
const idleLink: HostHandle = {
  send: () => undefined,
  request: () => Promise.reject(new Error('not used')),
  close: () => undefined,
};

function hello(instance: string, id: string, hostPid: number): HostHello {
  return hostHello(instance, id, T0, {}, {
    type: 'spawned',
    command: 'claude',
    args: ['--resume'],
    cwd: '/srv/app',
    pid: hostPid + 1,
    host_pid: hostPid,
    cols: 100,
    rows: 30,
    created_at: new Date(T0 - 3_600_000).toISOString(),
    last_activity_at: new Date(T0 - 1_000).toISOString(),
    alt_screen: true,
  });
}

function persisted(id: string, over: Partial<PersistedSession> = {}): PersistedSession {
  return persistedSession(id, T0, over);
}

function newRegistry(now: () => number = () => T0): SessionRegistry {
  return new SessionRegistry({ machineId: 'box-1', events: { emit: () => undefined }, now, changed: () => undefined, isAlive: async () => false });
}

function snapshotOf(registry: SessionRegistry): SessionsFile {
  return { version: SESSIONS_FILE_VERSION, sessions: registry.list().map(toPersisted), killed_instances: registry.killedInstances() };
}

describe('session store', () => {
  let home: { home: string; cleanup: () => void };
  let file: string;
  let log: RecordingLogger;
  /** How many snapshots were taken: the store takes exactly one per write. */
  let snapshots: number;
  const counted = (): SessionsFile => {
    snapshots += 1;
    return { version: SESSIONS_FILE_VERSION, sessions: [persisted(`s${snapshots}`)], killed_instances: [] };
  };

  beforeEach(() => {
    home = makeHome();
    file = path.join(home.home, 'sessions.json');
    log = new RecordingLogger();
    snapshots = 0;
  });
  afterEach(() => home.cleanup());

  async function readFile(): Promise<SessionsFile> {
    return JSON.parse(await fs.readFile(file, 'utf8')) as SessionsFile;
  }

  async function exists(p: string): Promise<boolean> {
    return fs.stat(p).then(
      () => true,
      (err: NodeJS.ErrnoException) => {
        if (err.code === 'ENOENT') return false;
        throw err;
      },
    );
  }

  describe('loading', () => {
    it('starts empty when there is no file', async () => {
      const store = new SessionStore(file, counted, log, 10);
      expect(await store.load()).toEqual({ version: SESSIONS_FILE_VERSION, sessions: [], killed_instances: [] });
      expect(log.errors).toEqual([]);
    });

    it('round-trips sessions through the file, each disconnected until its host returns', async () => {
      let clock = T0;
      const registry = newRegistry(() => clock);
      const { entry: live } = await registry.attachHost(hello('instance-live-000000000', 'live', 500), idleLink);
      live.lastFrom = 'planner';
      live.lastReplyTo = 'planner@box-2';
      live.lastThreadId = 'thread-9';
      const { entry: done } = await registry.attachHost(hello('instance-done-000000000', 'done', 600), idleLink);
      clock = T0 + 2_000;
      registry.markExited(done, 4, 'exited');
      const { entry: pending } = await registry.attachHost(hello('instance-pend-000000000', 'pending', 700), idleLink);
      registry.detachHost(pending, idleLink);
      pending.killPending = true;
      registry.rememberKilled('instance-pend-000000000', T0 + 3_000);

      const writer = new SessionStore(file, () => snapshotOf(registry), log, 10);
      writer.enable();
      await writer.flush();
      expect((await fs.stat(file)).mode & 0o777).toBe(0o600);

      const loaded = await new SessionStore(file, counted, log, 10).load();
      expect(loaded.killed_instances).toEqual([['instance-pend-000000000', T0 + 3_000]]);
      const byId = new Map(loaded.sessions.map((p) => [p.id, p]));
      expect(byId.get('live')).toMatchObject({
        status: 'disconnected',
        host_instance: 'instance-live-000000000',
        type: 'spawned',
        command: 'claude',
        args: ['--resume'],
        cwd: '/srv/app',
        pid: 501,
        host_pid: 500,
        cols: 100,
        rows: 30,
        lastActivityAt: new Date(T0 - 1_000).toISOString(),
        last_from: 'planner',
        last_reply_to: 'planner@box-2',
        last_thread_id: 'thread-9',
      });
      expect(byId.get('done')).toMatchObject({ status: 'exited', exit_code: 4, exited_at: new Date(T0 + 2_000).toISOString() });
      expect(byId.get('pending')).toMatchObject({ status: 'disconnected', kill_pending: true });

      // Restored into a fresh registry: listed as disconnected, and recognised when the host says hello.
      const later = T0 + 60_000;
      const restored = newRegistry(() => later);
      for (const p of loaded.sessions) restored.restore(fromPersisted(p, later));
      const again = restored.require('live');
      expect(again).toMatchObject({ status: 'disconnected', link: null, disconnectedAt: later, lastActivityAt: T0 - 1_000, bracketedPaste: false });
      expect(restored.require('done')).toMatchObject({ status: 'exited', exitCode: 4, exitedAt: T0 + 2_000, disconnectedAt: null });
      expect(restored.require('pending').killPending).toBe(true);
      const { outcome, entry } = await restored.attachHost(hello('instance-live-000000000', 'live', 500), idleLink);
      expect(outcome).toBe('reconnected');
      expect(entry).toBe(again);
    });

    it('moves a corrupt file aside and starts empty', async () => {
      await fs.writeFile(file, '{"version": 1, "sessions": [');
      const result = await new SessionStore(file, counted, log, 10).load();
      expect(result).toEqual({ version: SESSIONS_FILE_VERSION, sessions: [], killed_instances: [] });
      expect(await exists(file)).toBe(false);
      const aside = (await fs.readdir(home.home)).filter((n) => n.startsWith('sessions.json.unreadable-'));
      expect(aside).toHaveLength(1);
      expect(aside[0]).toMatch(/^sessions\.json\.unreadable-\d+$/);
      expect(await fs.readFile(path.join(home.home, aside[0] ?? ''), 'utf8')).toBe('{"version": 1, "sessions": [');
      expect(log.errors).toHaveLength(1);
      expect(log.errors[0]).toContain('not JSON');
    });

    it('moves a file of an unknown version aside and starts empty', async () => {
      const future = JSON.stringify({ version: 2, sessions: [persisted('a')], killed_instances: [] });
      await fs.writeFile(file, future);
      const result = await new SessionStore(file, counted, log, 10).load();
      expect(result.sessions).toEqual([]);
      expect(await exists(file)).toBe(false);
      const aside = (await fs.readdir(home.home)).filter((n) => n.startsWith('sessions.json.unreadable-'));
      expect(aside).toHaveLength(1);
      expect(await fs.readFile(path.join(home.home, aside[0] ?? ''), 'utf8')).toBe(future);
      expect(log.errors[0]).toContain('version 2');
    });

    it('moves a file without a sessions list aside', async () => {
      await fs.writeFile(file, JSON.stringify({ version: SESSIONS_FILE_VERSION }));
      expect((await new SessionStore(file, counted, log, 10).load()).sessions).toEqual([]);
      expect(await exists(file)).toBe(false);
    });

    // BUG (src/daemon/sessions/store.ts, load(), lines 137-138): valid JSON that is not an object (`null`) is cast
    // and dereferenced (`f.version`), so load() throws a TypeError instead of moving the file aside and
    // starting empty as documented ("A file it cannot read is moved aside ... and the daemon starts empty").
    it('moves a file holding JSON null aside instead of failing to start', async () => {
      await fs.writeFile(file, 'null\n');
      const result = await new SessionStore(file, counted, log, 10).load();
      expect(result.sessions).toEqual([]);
      expect(await exists(file)).toBe(false);
    });

    it('keeps the readable sessions of a file and drops malformed ones', async () => {
      const body = {
        version: SESSIONS_FILE_VERSION,
        sessions: [
          persisted('good'),
          { id: 'no-instance', command: 'x', args: [], cwd: '/' },
          null,
          'text',
          { ...persisted('bad-args'), args: 'x' },
          { ...persisted('x'), id: '../../etc/x' },
          { ...persisted('live'), status: 'connected' },
          { ...persisted('odd-type'), type: 'remote' },
        ],
        killed_instances: [['instance-k-0000000000', T0], 'junk', [42, T0], ['instance-no-time-0000', 'soon']],
      };
      await fs.writeFile(file, JSON.stringify(body));
      const result = await new SessionStore(file, counted, log, 10).load();
      expect(result.sessions.map((s) => s.id)).toEqual(['good']);
      expect(result.killed_instances).toEqual([['instance-k-0000000000', T0]]);
      expect(await exists(file)).toBe(true);
    });

    it('treats a missing killed_instances list as empty', async () => {
      await fs.writeFile(file, JSON.stringify({ version: SESSIONS_FILE_VERSION, sessions: [persisted('a')] }));
      const result = await new SessionStore(file, counted, log, 10).load();
      expect(result.sessions).toHaveLength(1);
      expect(result.killed_instances).toEqual([]);
    });
  });

  describe('converting entries', () => {
    it('fills unreadable times from the clock when restoring', () => {
      const now = T0 + 5_000;
      const lost = fromPersisted(persisted('a', { lastActivityAt: 'yesterday' }), now);
      expect(lost.lastActivityAt).toBe(now);
      const exited = fromPersisted(persisted('b', { status: 'exited', exit_code: 0, exited_at: null }), now);
      expect(exited).toMatchObject({ status: 'exited', exitedAt: now, disconnectedAt: null, link: null });
      expect(exited.viewers.size).toBe(0);
      expect(exited.exitWaiters).toEqual([]);
    });
  });

  describe('writing', () => {
    it('writes nothing before enable(), then writes the pending change when enabled', async () => {
      const store = new SessionStore(file, counted, log, 10);
      store.schedule();
      await store.flush();
      await sleep(50);
      expect(snapshots).toBe(0);
      expect(await exists(file)).toBe(false);

      store.enable();
      await vi.waitFor(async () => expect(await exists(file)).toBe(true));
      await sleep(50);
      expect(snapshots).toBe(1);
      expect((await readFile()).sessions.map((s) => s.id)).toEqual(['s1']);
    });

    it('enabling with nothing pending writes nothing', async () => {
      const store = new SessionStore(file, counted, log, 10);
      store.enable();
      await sleep(50);
      expect(snapshots).toBe(0);
      expect(await exists(file)).toBe(false);
    });

    it('coalesces a burst of changes within the debounce window into one write', async () => {
      const store = new SessionStore(file, counted, log, 60);
      store.enable();
      for (let i = 0; i < 25; i++) store.schedule();
      expect(snapshots).toBe(0);
      await vi.waitFor(async () => expect(await exists(file)).toBe(true));
      await sleep(150);
      expect(snapshots).toBe(1);
      expect((await readFile()).sessions.map((s) => s.id)).toEqual(['s1']);

      // A change after that write is written again.
      store.schedule();
      await vi.waitFor(() => expect(snapshots).toBe(2));
      await vi.waitFor(async () => expect((await readFile()).sessions.map((s) => s.id)).toEqual(['s2']));
    });

    it('writes at once on flush() and cancels the pending debounced write', async () => {
      const store = new SessionStore(file, counted, log, 100);
      store.enable();
      store.schedule();
      store.schedule();
      await store.flush();
      expect(snapshots).toBe(1);
      expect((await readFile()).sessions.map((s) => s.id)).toEqual(['s1']);
      await sleep(250);
      expect(snapshots).toBe(1);
    });

    it('leaves no temp files next to the sessions file', async () => {
      const store = new SessionStore(file, counted, log, 10);
      store.enable();
      await store.flush();
      await store.flush();
      expect(await fs.readdir(home.home)).toEqual(['sessions.json']);
      expect((await readFile()).sessions.map((s) => s.id)).toEqual(['s2']);
    });

    it('answers a failed write with PERSIST_FAILED (never "saved"), logs it, and keeps working once the problem is gone', async () => {
      const store = new SessionStore(path.join(home.home, 'missing-dir', 'sessions.json'), counted, log, 10);
      store.enable();
      await expect(store.flush()).rejects.toMatchObject({ code: 'PERSIST_FAILED' });
      expect(log.errors).toHaveLength(1);
      expect(log.errors[0]).toContain('could not write');
      expect(log.errors[0]).toContain('sessions.json');
      // The store keeps working once the problem is gone.
      await fs.mkdir(path.join(home.home, 'missing-dir'));
      await store.flush();
      expect(await exists(path.join(home.home, 'missing-dir', 'sessions.json'))).toBe(true);
    });
  });
});
