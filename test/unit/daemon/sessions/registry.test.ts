import { beforeEach, describe, expect, it } from 'vitest';
import { SessionRegistry, type HostHandle, type SessionEntry, type ViewerHandle } from '../../../../src/daemon/sessions/registry.js';
import { fromPersisted } from '../../../../src/daemon/sessions/store.js';
import { TeleptyError } from '../../../../src/protocol/errors.js';
import type { DaemonToHost, HostHello, HostRequestMap, HostRequestOp } from '../../../../src/protocol/host-link.js';
import { isSessionId } from '../../../../src/protocol/ids.js';
import { hostHello, newHostInstance } from '../../../helpers/host-link.js';
import { persistedSession } from '../../../helpers/sessions-file.js';

const T0 = Date.parse('2025-03-01T12:00:00.000Z');

/** A fake host link: records what the registry sends it and how it was closed. */
class FakeLink implements HostHandle {
  readonly sent: DaemonToHost[] = [];
  readonly closed: { code: number; reason: string }[] = [];

  send(message: DaemonToHost): void {
    this.sent.push(message);
  }

  request<K extends HostRequestOp>(op: K, _args: HostRequestMap[K]['args'], _timeoutMs: number): Promise<HostRequestMap[K]['result']> {
    return Promise.reject(new Error(`the registry should not make requests (asked for ${op})`));
  }

  close(code: number, reason: string): void {
    this.closed.push({ code, reason });
  }
}

function fakeViewer(): ViewerHandle {
  return { ready: true, behind: false, send: () => true, close: () => undefined };
}

const newInstance = newHostInstance;

function hello(instance: string, id: string, over: Partial<HostHello> = {}, session: Partial<HostHello['session']> = {}): HostHello {
  return hostHello(instance, id, T0, over, session);
}

/** The error a synchronous call throws (the test fails if it returns). */
function thrown(fn: () => unknown): unknown {
  try {
    fn();
  } catch (err) {
    return err;
  }
  throw new Error('expected the call to throw');
}

function expectCode(err: unknown, code: string): void {
  expect(err).toBeInstanceOf(TeleptyError);
  expect((err as TeleptyError).code).toBe(code);
}

/** A promise whose settlement the test controls. */
function deferred<T>(): { promise: Promise<T>; resolve: (v: T) => void } {
  let resolve: (v: T) => void = () => undefined;
  const promise = new Promise<T>((r) => {
    resolve = r;
  });
  return { promise, resolve };
}

describe('session registry', () => {
  let clock: number;
  let events: { kind: string; fields: Record<string, unknown> }[];
  let changes: number;
  let alive: (pid: number) => Promise<boolean>;
  let aliveAsked: number[];
  let registry: SessionRegistry;

  const kinds = (): string[] => events.map((e) => e.kind);

  beforeEach(() => {
    clock = T0;
    events = [];
    changes = 0;
    aliveAsked = [];
    alive = async () => false;
    registry = new SessionRegistry({
      machineId: 'box-1',
      events: { emit: (kind, fields) => events.push({ kind, fields }) },
      now: () => clock,
      changed: () => {
        changes += 1;
      },
      isAlive: (pid) => {
        aliveAsked.push(pid);
        return alive(pid);
      },
    });
  });

  /** Attach a host and clear what attaching recorded, for tests about what comes after. */
  async function attached(id: string, over: Partial<HostHello> = {}, session: Partial<HostHello['session']> = {}): Promise<{ entry: SessionEntry; link: FakeLink; instance: string }> {
    const instance = newInstance();
    const link = new FakeLink();
    const { entry } = await registry.attachHost(hello(instance, id, over, session), link);
    events.length = 0;
    changes = 0;
    return { entry, link, instance };
  }

  describe('attaching hosts', () => {
    it('refuses a new host that says hello with a reserved id (multicast, broadcast)', async () => {
      for (const id of ['multicast', 'broadcast']) {
        const err = await registry.attachHost(hello(newInstance(), id), new FakeLink()).then(
          () => null,
          (e: unknown) => e,
        );
        expectCode(err, 'INVALID_SESSION_ID');
      }
      expect(registry.list()).toEqual([]);
      expect(events).toEqual([]);
    });

    it('registers a new host as connected and announces it', async () => {
      const link = new FakeLink();
      const instance = newInstance();
      const { entry, outcome } = await registry.attachHost(hello(instance, 'worker'), link);
      expect(outcome).toBe('new');
      expect(entry).toMatchObject({
        id: 'worker',
        hostInstance: instance,
        status: 'connected',
        type: 'wrapped',
        command: 'bash',
        args: ['-l'],
        pid: 4242,
        hostPid: 4241,
        cols: 120,
        rows: 40,
        bracketedPaste: true,
        altScreen: false,
        lastActivityAt: T0 - 5_000,
        exitCode: null,
        disconnectedAt: null,
      });
      expect(entry.link).toBe(link);
      expect(registry.get('worker')).toBe(entry);
      expect(registry.hasInstance(instance)).toBe(true);
      expect(events).toEqual([{ kind: 'session_register', fields: { session_id: 'worker', command: 'bash', cwd: '/home/me/projects/telepty', type: 'wrapped', pid: 4242 } }]);
      expect(changes).toBe(1);
      expect(link.closed).toEqual([]);
    });

    it('takes activity time from the clock when the hello carries an unreadable one', async () => {
      const { entry } = await registry.attachHost(hello(newInstance(), 'worker', {}, { last_activity_at: 'not a date' }), new FakeLink());
      expect(entry.lastActivityAt).toBe(T0);
    });

    it('recognises a reconnecting host by its instance after a rename', async () => {
      const { entry, link, instance } = await attached('worker');
      registry.rename(entry, 'renamed');
      registry.detachHost(entry, link);
      events.length = 0;
      clock += 10_000;

      const again = new FakeLink();
      // The host still says its original id: the instance, not the id, identifies it.
      const result = await registry.attachHost(hello(instance, 'worker', {}, { pid: 5000, cols: 90 }), again);
      expect(result.outcome).toBe('reconnected');
      expect(result.entry).toBe(entry);
      expect(entry.id).toBe('renamed');
      expect(entry.status).toBe('connected');
      expect(entry.disconnectedAt).toBeNull();
      expect(entry.link).toBe(again);
      expect(entry.pid).toBe(5000);
      expect(entry.cols).toBe(90);
      expect(registry.get('worker')).toBeUndefined();
      expect(registry.list()).toEqual([entry]);
      expect(events).toEqual([{ kind: 'session_reconnect', fields: { session_id: 'renamed', host_pid: 4241, pid: 5000 } }]);
    });

    it('closes the older link of the same instance with 4002 when a newer one attaches', async () => {
      const { entry, link: older, instance } = await attached('worker');
      const newer = new FakeLink();
      const { outcome } = await registry.attachHost(hello(instance, 'worker'), newer);
      expect(outcome).toBe('reconnected');
      expect(older.closed).toHaveLength(1);
      expect(older.closed[0]?.code).toBe(4002);
      expect(newer.closed).toEqual([]);
      expect(entry.link).toBe(newer);
      // The old link's late close must not disconnect the session now served by the newer link.
      registry.detachHost(entry, older);
      expect(entry.status).toBe('connected');
      expect(entry.link).toBe(newer);
    });

    it('does not close a link that repeats its own hello', async () => {
      const { entry, link, instance } = await attached('worker');
      await registry.attachHost(hello(instance, 'worker'), link);
      expect(link.closed).toEqual([]);
      expect(entry.link).toBe(link);
    });

    it('revives an exited session when its host comes back', async () => {
      const { entry, instance } = await attached('worker');
      registry.markExited(entry, 1, 'exited');
      const { outcome } = await registry.attachHost(hello(instance, 'worker'), new FakeLink());
      expect(outcome).toBe('reconnected');
      expect(entry).toMatchObject({ status: 'connected', exitCode: null, exitedAt: null });
    });

    it('refuses a different instance the id of a connected session', async () => {
      const { entry } = await attached('worker');
      const err = await registry.attachHost(hello(newInstance(), 'worker'), new FakeLink()).then(
        () => null,
        (e: unknown) => e,
      );
      expectCode(err, 'SESSION_EXISTS');
      expect(registry.get('worker')).toBe(entry);
      expect(registry.list()).toHaveLength(1);
      expect(aliveAsked).toEqual([]);
      expect(events).toEqual([]);
      expect(changes).toBe(0);
    });

    it('gives a flexible host a unique id when its id is taken', async () => {
      const { entry } = await attached('worker');
      const second = await registry.attachHost(hello(newInstance(), 'worker', { id_flexible: true }), new FakeLink());
      const third = await registry.attachHost(hello(newInstance(), 'worker', { id_flexible: true }), new FakeLink());
      expect(second.outcome).toBe('new');
      expect(second.entry.id).toBe('worker-2');
      expect(third.entry.id).toBe('worker-3');
      expect(registry.get('worker')).toBe(entry);
      expect(kinds()).toEqual(['session_register', 'session_register']);
    });

    it('gives a flexible host a unique id when its id is only reserved', async () => {
      registry.reserve('worker', newInstance());
      const { entry } = await registry.attachHost(hello(newInstance(), 'worker', { id_flexible: true }), new FakeLink());
      expect(entry.id).toBe('worker-2');
      expect(registry.isTaken('worker')).toBe(true);
    });

    it('lets the spawned host claim the id reserved for it, consuming the reservation', async () => {
      const spawned = newInstance();
      registry.reserve('job', spawned);
      const { entry, outcome } = await registry.attachHost(hello(spawned, 'job'), new FakeLink());
      expect(outcome).toBe('new');
      expect(entry.id).toBe('job');
      registry.remove(entry);
      expect(registry.isTaken('job')).toBe(false);
    });

    it('refuses an id reserved for a spawn to any other host that insists on it', async () => {
      registry.reserve('job', newInstance());
      await expect(registry.attachHost(hello(newInstance(), 'job'), new FakeLink())).rejects.toMatchObject({ code: 'SESSION_EXISTS' });
      expect(registry.get('job')).toBeUndefined();
    });

    it('refuses the id of a disconnected session whose host process is still alive', async () => {
      const { entry, link } = await attached('worker', {}, { host_pid: 777 });
      registry.detachHost(entry, link);
      alive = async () => true;
      await expect(registry.attachHost(hello(newInstance(), 'worker'), new FakeLink())).rejects.toMatchObject({ code: 'SESSION_EXISTS' });
      expect(aliveAsked).toEqual([777]);
      expect(registry.get('worker')).toBe(entry);
    });

    it('replaces a disconnected session whose host process is gone', async () => {
      const { entry: old, link } = await attached('worker', {}, { host_pid: 777 });
      registry.detachHost(old, link);
      const oldExit = registry.waitExit(old);
      events.length = 0;
      alive = async () => false;

      const newcomer = newInstance();
      const { entry, outcome } = await registry.attachHost(hello(newcomer, 'worker'), new FakeLink());
      expect(outcome).toBe('replaced');
      expect(aliveAsked).toEqual([777]);
      expect(entry).not.toBe(old);
      expect(registry.get('worker')).toBe(entry);
      expect(registry.list()).toEqual([entry]);
      expect(registry.hasInstance(old.hostInstance)).toBe(false);
      await expect(oldExit).resolves.toBeNull();
      expect(events).toEqual([
        { kind: 'session.replaced', fields: { old_id: 'worker', new_id: 'worker', alias: 'worker', session_id: 'worker' } },
        expect.objectContaining({ kind: 'session_register' }),
      ]);
      // Removing the replaced entry later must not drop its successor.
      registry.remove(old);
      expect(registry.get('worker')).toBe(entry);
    });

    it('replaces an exited session without asking whether its host lives', async () => {
      const { entry: old } = await attached('worker');
      registry.markExited(old, 0, 'exited');
      alive = async () => true;
      const { outcome } = await registry.attachHost(hello(newInstance(), 'worker'), new FakeLink());
      expect(outcome).toBe('replaced');
      expect(aliveAsked).toEqual([]);
    });

    it('replaces a hostless placeholder without asking whether a host lives', async () => {
      registry.restore(
        fromPersisted(persistedSession('legacy', T0, { host_instance: newInstance(), command: 'wrapped', cwd: '', pid: null, host_pid: null }), T0),
      );
      const { outcome, entry } = await registry.attachHost(hello(newInstance(), 'legacy'), new FakeLink());
      expect(outcome).toBe('replaced');
      expect(aliveAsked).toEqual([]);
      expect(registry.get('legacy')).toBe(entry);
    });

    it('rejects a hello with an invalid session id', async () => {
      await expect(registry.attachHost(hello(newInstance(), '../etc'), new FakeLink())).rejects.toMatchObject({ code: 'INVALID_SESSION_ID' });
      expect(registry.list()).toEqual([]);
    });

    // BUG (src/daemon/sessions/registry.ts, attachHost, lines 208-253): the holder check is decided before
    // `await this.deps.isAlive(...)` and not re-checked after it. Two newcomers racing for the id of a
    // disconnected holder both see it "gone", both "replace" it, and the second silently overwrites the
    // first newcomer's live, connected entry in byId (orphaning its link) instead of getting SESSION_EXISTS.
    it('lets only one of two concurrent newcomers replace a holder whose host is gone', async () => {
      const { entry: old, link } = await attached('worker', {}, { host_pid: 777 });
      registry.detachHost(old, link);
      const verdict = deferred<boolean>();
      alive = () => verdict.promise;

      const first = registry.attachHost(hello(newInstance(), 'worker'), new FakeLink()).then(
        (r) => ({ ok: true as const, entry: r.entry }),
        (err: unknown) => ({ ok: false as const, err }),
      );
      const second = registry.attachHost(hello(newInstance(), 'worker'), new FakeLink()).then(
        (r) => ({ ok: true as const, entry: r.entry }),
        (err: unknown) => ({ ok: false as const, err }),
      );
      verdict.resolve(false);
      const results = await Promise.all([first, second]);

      const winners = results.filter((r) => r.ok);
      expect(winners).toHaveLength(1);
      const loser = results.find((r) => !r.ok);
      expectCode(loser && !loser.ok ? loser.err : null, 'SESSION_EXISTS');
      // Every connected entry the registry handed out must still be reachable by its id.
      for (const r of winners) if (r.ok) expect(registry.get(r.entry.id)).toBe(r.entry);
    });
  });

  describe('detaching, exiting and removing', () => {
    it('marks a session disconnected when its current link closes', async () => {
      const { entry, link } = await attached('worker');
      clock += 3_000;
      registry.detachHost(entry, link);
      expect(entry).toMatchObject({ status: 'disconnected', disconnectedAt: T0 + 3_000, link: null });
      expect(events).toEqual([{ kind: 'session_disconnect', fields: { session_id: 'worker', host_pid: 4241 } }]);
      expect(changes).toBe(1);
    });

    it('ignores the close of a link that is not the current one', async () => {
      const { entry, link } = await attached('worker');
      registry.detachHost(entry, new FakeLink());
      expect(entry.status).toBe('connected');
      expect(entry.link).toBe(link);
      expect(events).toEqual([]);
      expect(changes).toBe(0);
    });

    it('does not turn an exited session into a disconnected one', async () => {
      const { entry, link } = await attached('worker');
      registry.markExited(entry, 0, 'exited');
      events.length = 0;
      registry.detachHost(entry, link);
      expect(entry.status).toBe('exited');
      expect(events).toEqual([]);
    });

    it('resolves exit waiters and announces the exit once', async () => {
      const { entry } = await attached('worker');
      const waiting = registry.waitExit(entry);
      clock += 7_000;
      registry.markExited(entry, 3, 'exited');
      await expect(waiting).resolves.toBe(3);
      expect(entry).toMatchObject({ status: 'exited', exitCode: 3, exitedAt: T0 + 7_000, link: null });
      expect(events).toEqual([{ kind: 'session_exit', fields: { session_id: 'worker', exit_code: 3, reason: 'exited' } }]);
      expect(changes).toBe(1);

      registry.markExited(entry, 9, 'again');
      expect(entry.exitCode).toBe(3);
      expect(events).toHaveLength(1);
      expect(changes).toBe(1);
    });

    it('answers waitExit at once for a session that has already exited', async () => {
      const { entry } = await attached('worker');
      registry.markExited(entry, 137, 'signal 9');
      await expect(registry.waitExit(entry)).resolves.toBe(137);
    });

    it('drops a removed session and releases its exit waiters', async () => {
      const { entry } = await attached('worker');
      const waiting = registry.waitExit(entry);
      registry.remove(entry);
      await expect(waiting).resolves.toBeNull();
      expect(registry.get('worker')).toBeUndefined();
      expect(registry.isTaken('worker')).toBe(false);
      expectCode(
        thrown(() => registry.require('worker')),
        'SESSION_NOT_FOUND',
      );
      expect(changes).toBe(1);
      await expect(registry.waitExit(entry)).resolves.toBeNull();
    });
  });

  describe('host state updates', () => {
    it('takes newer activity and clears the idle notice, but never goes back in time', async () => {
      const { entry } = await attached('worker');
      entry.idleNotified = true;
      registry.updateState(entry, { type: 'state', last_activity_at: new Date(T0 + 1_000).toISOString() });
      expect(entry.lastActivityAt).toBe(T0 + 1_000);
      expect(entry.idleNotified).toBe(false);

      entry.idleNotified = true;
      registry.updateState(entry, { type: 'state', last_activity_at: new Date(T0 - 60_000).toISOString() });
      registry.updateState(entry, { type: 'state', last_activity_at: 'garbage' });
      expect(entry.lastActivityAt).toBe(T0 + 1_000);
      expect(entry.idleNotified).toBe(true);
    });

    it('updates modes, and the size only when both dimensions are integers', async () => {
      const { entry } = await attached('worker');
      registry.updateState(entry, { type: 'state', bracketed_paste: false, alt_screen: true });
      expect(entry.bracketedPaste).toBe(false);
      expect(entry.altScreen).toBe(true);

      registry.updateState(entry, { type: 'state', cols: 100 });
      registry.updateState(entry, { type: 'state', cols: 100.5, rows: 30 });
      expect([entry.cols, entry.rows]).toEqual([120, 40]);

      registry.updateState(entry, { type: 'state', cols: 100, rows: 30 });
      expect([entry.cols, entry.rows]).toEqual([100, 30]);
      expect(entry.bracketedPaste).toBe(false);
    });
  });

  describe('renaming', () => {
    it('renames a session, tells its host and announces it', async () => {
      const { entry, link } = await attached('worker');
      expect(registry.rename(entry, 'builder')).toEqual({ old_id: 'worker', new_id: 'builder' });
      expect(link.sent).toEqual([{ type: 'rename', new_id: 'builder' }]);
      expect(events).toEqual([{ kind: 'session_rename', fields: { old_id: 'worker', new_id: 'builder', session_id: 'builder' } }]);
      expect(changes).toBe(1);
      expect(registry.require('builder')).toBe(entry);
      expectCode(
        thrown(() => registry.require('worker')),
        'SESSION_NOT_FOUND',
      );
      expect(registry.isTaken('worker')).toBe(false);
    });

    it('renames a disconnected session without a link to tell', async () => {
      const { entry, link } = await attached('worker');
      registry.detachHost(entry, link);
      registry.rename(entry, 'builder');
      expect(registry.get('builder')).toBe(entry);
      expect(link.sent).toEqual([]);
    });

    it('refuses a reserved new id (multicast, broadcast)', async () => {
      const { entry, link } = await attached('worker');
      expectCode(
        thrown(() => registry.rename(entry, 'multicast')),
        'INVALID_SESSION_ID',
      );
      expect(entry.id).toBe('worker');
      expect(link.sent).toEqual([]);
      expect(events).toEqual([]);
    });

    it('refuses a new id held by another session or a reservation', async () => {
      const { entry, link } = await attached('worker');
      await attached('other');
      registry.reserve('pending', newInstance());
      expectCode(
        thrown(() => registry.rename(entry, 'other')),
        'SESSION_EXISTS',
      );
      expectCode(
        thrown(() => registry.rename(entry, 'pending')),
        'SESSION_EXISTS',
      );
      expect(entry.id).toBe('worker');
      expect(registry.get('worker')).toBe(entry);
      expect(link.sent).toEqual([]);
      expect(events).toEqual([]);
    });

    it('refuses an invalid new id', async () => {
      const { entry, link } = await attached('worker');
      for (const bad of ['', 'has space', '-leading-dash', 'a/b', 'x'.repeat(65), 42, null]) {
        expectCode(
          thrown(() => registry.rename(entry, bad)),
          'INVALID_SESSION_ID',
        );
      }
      expect(registry.get('worker')).toBe(entry);
      expect(link.sent).toEqual([]);
    });

    it('changes nothing when renamed to its own id', async () => {
      const { entry, link } = await attached('worker');
      expect(registry.rename(entry, 'worker')).toEqual({ old_id: 'worker', new_id: 'worker' });
      expect(link.sent).toEqual([]);
      expect(events).toEqual([]);
      expect(changes).toBe(0);
    });
  });

  describe('resolving ids', () => {
    it('resolves ids exactly, never by prefix, suffix or case', async () => {
      const { entry } = await attached('worker-1');
      expect(registry.require('worker-1')).toBe(entry);
      for (const near of ['worker', 'worker-', 'orker-1', 'WORKER-1', 'worker-10']) {
        expectCode(
          thrown(() => registry.require(near)),
          'SESSION_NOT_FOUND',
        );
      }
    });

    it('rejects a malformed id before looking it up', () => {
      for (const bad of ['worker-1 ', '../x', '', 42, undefined]) {
        expectCode(
          thrown(() => registry.require(bad)),
          'INVALID_SESSION_ID',
        );
      }
    });

    it('says why a session cannot be reached', async () => {
      const { entry: live, link } = await attached('live');
      expect(registry.requireConnected('live')).toBe(live);
      expect(registry.requireConnected('live').link).toBe(link);

      const { entry: away, link: awayLink } = await attached('away');
      registry.detachHost(away, awayLink);
      expectCode(
        thrown(() => registry.requireConnected('away')),
        'SESSION_DISCONNECTED',
      );

      const { entry: gone } = await attached('gone');
      registry.markExited(gone, 2, 'exited');
      expectCode(
        thrown(() => registry.requireConnected('gone')),
        'SESSION_EXITED',
      );

      expectCode(
        thrown(() => registry.requireConnected('nobody')),
        'SESSION_NOT_FOUND',
      );
    });

    it('lists sessions by creation time, then id', async () => {
      await attached('b-late', {}, { created_at: new Date(T0 - 1_000).toISOString() });
      await attached('z-early', {}, { created_at: new Date(T0 - 9_000).toISOString() });
      await attached('a-late', {}, { created_at: new Date(T0 - 1_000).toISOString() });
      expect(registry.list().map((e) => e.id)).toEqual(['z-early', 'a-late', 'b-late']);
    });
  });

  describe('reserving and choosing ids', () => {
    it('refuses to reserve a taken id and frees it on release', async () => {
      await attached('worker');
      expectCode(
        thrown(() => registry.reserve('worker', newInstance())),
        'SESSION_EXISTS',
      );
      const mine = newInstance();
      registry.reserve('job', mine);
      expect(registry.isTaken('job')).toBe(true);
      expectCode(
        thrown(() => registry.reserve('job', newInstance())),
        'SESSION_EXISTS',
      );
      registry.release('job', newInstance()); // someone else's release does not free it
      expect(registry.isTaken('job')).toBe(true);
      registry.release('job', mine);
      expect(registry.isTaken('job')).toBe(false);
      registry.reserve('job', newInstance());
    });

    it('returns the base id when free and counts up past taken ones', async () => {
      expect(registry.uniqueId('worker')).toBe('worker');
      await attached('worker');
      registry.reserve('worker-2', newInstance());
      expect(registry.uniqueId('worker')).toBe('worker-3');
    });

    it('keeps a unique id valid for a 64-character base', async () => {
      const base = `a${'b'.repeat(63)}`;
      expect(base).toHaveLength(64);
      await attached(base);
      const second = registry.uniqueId(base);
      expect(second).toBe(`${base.slice(0, 62)}-2`);
      expect(isSessionId(second)).toBe(true);

      for (let n = 2; n <= 9; n++) registry.reserve(`${base.slice(0, 62)}-${n}`, newInstance());
      const tenth = registry.uniqueId(base);
      expect(tenth).toBe(`${base.slice(0, 61)}-10`);
      expect(tenth).toHaveLength(64);
      expect(isSessionId(tenth)).toBe(true);
    });
  });

  describe('killed instances', () => {
    it('remembers killed instances apart from registered ones', async () => {
      const { instance } = await attached('worker');
      registry.rememberKilled('killed-instance-0001', T0);
      expect(registry.wasKilled('killed-instance-0001')).toBe(true);
      expect(registry.hasInstance('killed-instance-0001')).toBe(false);
      expect(registry.wasKilled(instance)).toBe(false);
      expect(registry.hasInstance(instance)).toBe(true);
      expect(registry.killedInstances()).toEqual([['killed-instance-0001', T0]]);
    });

    it('forgets the oldest killed instance beyond a thousand', () => {
      for (let i = 0; i <= 1_000; i++) registry.rememberKilled(`killed-${i}`, T0 + i);
      expect(registry.killedInstances()).toHaveLength(1_000);
      expect(registry.wasKilled('killed-0')).toBe(false);
      expect(registry.wasKilled('killed-1')).toBe(true);
      expect(registry.wasKilled('killed-1000')).toBe(true);
    });
  });

  describe('waiting for a host instance', () => {
    it('resolves when the host with that instance registers, not another', async () => {
      const instance = newInstance();
      const abort = new AbortController();
      let settled: SessionEntry | undefined;
      const waiting = registry.waitForInstance(instance, abort.signal).then((e) => {
        settled = e;
        return e;
      });
      await registry.attachHost(hello(newInstance(), 'someone-else'), new FakeLink());
      await Promise.resolve();
      expect(settled).toBeUndefined();

      const { entry } = await registry.attachHost(hello(instance, 'mine'), new FakeLink());
      await expect(waiting).resolves.toBe(entry);
      abort.abort(); // late abort after success is harmless
    });

    it('rejects with the abort reason and stops waiting', async () => {
      const instance = newInstance();
      const abort = new AbortController();
      const waiting = registry.waitForInstance(instance, abort.signal);
      const reason = new TeleptyError('SPAWN_TIMEOUT', 'too slow');
      abort.abort(reason);
      await expect(waiting).rejects.toBe(reason);
      // A host that turns up afterwards still registers normally.
      const { outcome } = await registry.attachHost(hello(instance, 'late'), new FakeLink());
      expect(outcome).toBe('new');
    });
  });

  describe('session objects', () => {
    it('reports idle time from the injected clock', async () => {
      const { entry } = await attached('worker');
      clock = T0 - 5_000 + 90_900;
      const obj = registry.toObject(entry);
      expect(obj.idleSeconds).toBe(90);
      expect(obj.lastActivityAt).toBe(new Date(T0 - 5_000).toISOString());

      clock = T0 - 60_000; // a clock behind the last activity never gives negative idle time
      expect(registry.toObject(entry).idleSeconds).toBe(0);
    });

    it('describes the session for clients', async () => {
      const { entry } = await attached('worker');
      entry.viewers.add(fakeViewer());
      entry.viewers.add(fakeViewer());
      expect(registry.toObject(entry)).toMatchObject({
        id: 'worker',
        locator: { machine_id: 'box-1', session_id: 'worker', project_id: 'telepty' },
        status: 'connected',
        active_clients: 2,
        pid: 4242,
        host_pid: 4241,
        bracketed_paste: true,
        alt_screen: false,
        exit_code: null,
      });
      const { entry: nowhere } = await attached('nowhere', {}, { cwd: '' });
      expect(registry.toObject(nowhere).locator.project_id).toBeNull();
    });
  });

  describe('after a restart', () => {
    function restored(id: string, instance: string, hostPid: number | null): void {
      registry.restore(
        fromPersisted(persistedSession(id, T0, { host_instance: instance, type: 'spawned', command: 'sh', cwd: '/', pid: 100, host_pid: hostPid }), T0),
      );
    }
    const settled = async (p: Promise<void>): Promise<boolean> => Promise.race([p.then(() => true), new Promise<boolean>((r) => setTimeout(() => r(false), 20))]);

    it('answers about sessions only once every live restored host is back', async () => {
      alive = async (pid) => pid !== 3;
      const [a, b] = [newInstance(), newInstance()];
      restored('a', a, 1);
      restored('b', b, 2);
      restored('gone', newInstance(), 3);
      restored('placeholder', newInstance(), null);
      registry.expectRestoredHosts(60_000);
      const back = registry.whenHostsBack();
      registry.hostReady((await registry.attachHost(hello(a, 'a', {}, { host_pid: 1 }), new FakeLink())).entry);
      expect(await settled(back)).toBe(false);
      const { entry } = await registry.attachHost(hello(b, 'b', {}, { host_pid: 2 }), new FakeLink());
      // Attached is not enough: requests wait until the host has been welcomed on its link.
      expect(await settled(back)).toBe(false);
      registry.hostReady(entry);
      expect(await settled(back)).toBe(true);
    });

    it('waits no longer than its bound for a host that does not come back', async () => {
      alive = async () => true;
      restored('slow', newInstance(), 1);
      registry.expectRestoredHosts(30);
      const back = registry.whenHostsBack();
      expect(await settled(back)).toBe(false);
      await new Promise((r) => setTimeout(r, 40));
      expect(await settled(back)).toBe(true);
    });

    it('does not wait when no restored session has a live host', async () => {
      alive = async () => false;
      restored('dead', newInstance(), 1);
      registry.expectRestoredHosts(60_000);
      await new Promise((r) => setTimeout(r, 0));
      expect(await settled(registry.whenHostsBack())).toBe(true);
    });
  });
});
