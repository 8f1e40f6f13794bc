import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { Injector } from '../../../../src/daemon/inject/injector.js';
import { HostLinkConnection, type HostHubDeps } from '../../../../src/daemon/sessions/host-hub.js';
import { lastScreenAnswer } from '../../../../src/daemon/sessions/last-screen.js';
import { SessionRegistry } from '../../../../src/daemon/sessions/registry.js';
import { ViewerHub } from '../../../../src/daemon/sessions/viewer-hub.js';
import type { SessionEntry, ViewerHandle } from '../../../../src/daemon/target.js';
import { isTeleptyError } from '../../../../src/protocol/errors.js';
import { LINK_CLOSE } from '../../../../src/protocol/host-link.js';
import { RecordingLogger, RecordingSink } from '../../../helpers/recorders.js';
import { FakeLinkHost, linkHello, turns } from '../fake-link.js';

const INSTANCE = 'a'.repeat(32);
const TIMINGS = { helloTimeoutMs: 5_000, linkHeartbeatMs: 2_000, replayTimeoutMs: 1_000, viewerCatchUpMs: 1_000 };

/** A viewer that records what it is sent. */
class Viewer implements ViewerHandle {
  ready = false;
  behind = false;
  readonly sent: string[] = [];
  closed: number | null = null;
  send(text: string | Buffer): boolean {
    this.sent.push(text.toString());
    return true;
  }
  close(code: number): void {
    this.closed = code;
  }
}

describe('host hub (one host link, without its transport)', () => {
  let registry: SessionRegistry;
  let viewers: ViewerHub;
  let events: RecordingSink;
  let exits: SessionEntry[];
  let spawnedBy: [string, string][];
  let deps: HostHubDeps;
  let injector: Injector;
  const open: FakeLinkHost[] = [];

  beforeEach(() => {
    events = new RecordingSink();
    registry = new SessionRegistry({ machineId: 'box-1', events, now: Date.now, changed: () => undefined, isAlive: async () => false });
    viewers = new ViewerHub(TIMINGS);
    exits = [];
    spawnedBy = [];
    injector = new Injector({ registry, events, log: new RecordingLogger(), timings: { hostAckTimeoutMs: 1_000, pendingTtlMs: 60_000 }, now: Date.now, changed: () => undefined });
    deps = { registry, viewers, log: new RecordingLogger(), timings: TIMINGS, injector, onExit: (e) => exits.push(e), spawnedBy: (rid, e) => spawnedBy.push([rid, e.id]) };
  });

  afterEach(() => {
    for (const h of open.splice(0)) h.close(1000, 'test over');
  });

  function link(over: Partial<HostHubDeps> = {}): FakeLinkHost {
    const host = new FakeLinkHost();
    host.link = new HostLinkConnection(host, { ...deps, ...over });
    open.push(host);
    return host;
  }

  async function welcomed(id = 'alpha', session: Parameters<typeof linkHello>[3] = {}): Promise<FakeLinkHost> {
    const host = link();
    host.say(linkHello(INSTANCE, id, {}, session));
    await turns();
    expect(host.ofType('welcome')).toHaveLength(1);
    return host;
  }

  it('welcomes a hello, registers the session and names the spawn request it came from', async () => {
    await welcomed('alpha', { spawn_request_id: 'req-1' });
    expect(registry.require('alpha')).toMatchObject({ status: 'connected', hostInstance: INSTANCE });
    expect(spawnedBy).toEqual([['req-1', 'alpha']]);
  });

  it('closes a link whose first message is not a complete hello (4004), registering nothing', async () => {
    const incomplete = linkHello(INSTANCE, 'alpha') as unknown as Record<string, unknown>;
    for (const first of [{ ...incomplete, id_flexible: 'no' }, { type: 'state', cols: 80, rows: 24 }, { type: 'hello' }]) {
      const host = link();
      host.say(first);
      await turns();
      expect(host.closed).toEqual({ code: LINK_CLOSE.BAD_MESSAGE, reason: 'the first message must be a valid hello' });
    }
    const binary = link();
    binary.link?.onBinary(Buffer.from('output'));
    expect(binary.closed?.code).toBe(LINK_CLOSE.BAD_MESSAGE);
    expect(registry.list()).toEqual([]);
  });

  it('refuses a link version it does not speak (4000)', async () => {
    const host = link();
    host.say(linkHello(INSTANCE, 'alpha', { link_version: 1 }));
    await turns();
    expect(host.closed?.code).toBe(LINK_CLOSE.VERSION_MISMATCH);
    expect(registry.list()).toEqual([]);
  });

  it('closes the link on a malformed message after the hello, and on a second hello', async () => {
    const bad = await welcomed('alpha');
    bad.say({ type: 'state', cols: 1.5, rows: 24 });
    expect(bad.closed).toEqual({ code: LINK_CLOSE.BAD_MESSAGE, reason: 'not a host link message' });
    expect(registry.require('alpha').status).toBe('disconnected');

    const twice = link();
    twice.say(linkHello('b'.repeat(32), 'beta'));
    await turns();
    twice.say(linkHello('b'.repeat(32), 'beta'));
    expect(twice.closed).toEqual({ code: LINK_CLOSE.BAD_MESSAGE, reason: 'hello sent twice' });
  });

  it('never handles an `event` message: no host sends one, so it is no link message', async () => {
    const host = await welcomed('alpha');
    host.say({ type: 'event', kind: 'anything', fields: {} });
    expect(host.closed?.code).toBe(LINK_CLOSE.BAD_MESSAGE);
    expect(events.kinds()).not.toContain('anything');
  });

  it('answers requests with the reply of their req_id, and fails one whose result is malformed', async () => {
    const host = await welcomed('alpha');
    const entry = registry.require('alpha');
    const screen = await entry.link?.request('screen', { scrollback: false, ansi: false }, 1_000);
    expect(screen?.lines).toEqual(['$ ']);
    host.answer = () => ({ lines: 'not an array' });
    const err = await entry.link?.request('screen', { scrollback: false, ansi: false }, 1_000).catch((e: unknown) => e);
    expect(isTeleptyError(err) && err.code).toBe('INTERNAL');
  });

  it('fails requests in flight when the link closes, and detaches the session', async () => {
    const host = await welcomed('alpha');
    const entry = registry.require('alpha');
    host.silent = true;
    const pending = entry.link?.request('replay', {}, 5_000).catch((e: unknown) => e);
    host.close(1006, 'gone');
    const err = await pending;
    expect(isTeleptyError(err) && err.code).toBe('SESSION_DISCONNECTED');
    expect(entry).toMatchObject({ status: 'disconnected', link: null });
  });

  it('keeps the last screen a host sent with its exit report, and answers an exited read from it (cut as a live one)', async () => {
    const host = link();
    host.say(linkHello(INSTANCE, 'alpha', { features: ['last_screen'] }));
    await turns();
    expect(host.ofType('welcome')[0]).toMatchObject({ features: expect.arrayContaining(['last_screen']) });
    const entry = registry.require('alpha');
    const last = { type: 'last_screen' as const, cols: 80, rows: 24, cursor: { x: 5, y: 2 }, alt_screen: false, bracketed_paste: false, lines: ['old', 'a', 'FATAL'], ansi_lines: ['old', 'a', '\x1b[31mFATAL\x1b[0m'], visible: 2 };
    host.say(last);
    await turns();
    expect(lastScreenAnswer(entry, { scrollback: false, ansi: false })).toBeNull(); // not exited yet
    host.say({ type: 'exit', code: 3, signal: null });
    await turns();
    const base = { session_id: 'alpha', cols: 80, rows: 24, cursor: { x: 5, y: 2 }, alt_screen: false, bracketed_paste: false, exited: true, exit_code: 3 };
    expect(lastScreenAnswer(entry, { scrollback: false, ansi: false })).toEqual({ ...base, lines: ['a', 'FATAL'] });
    expect(lastScreenAnswer(entry, { scrollback: true, ansi: false })).toEqual({ ...base, lines: ['old', 'a', 'FATAL'] });
    expect(lastScreenAnswer(entry, { scrollback: true, ansi: true, lines: 1 })).toEqual({ ...base, lines: ['\x1b[31mFATAL\x1b[0m'] });

    // A host without the part (or a daemon restarted since): nothing kept, the read says SESSION_EXITED as before.
    const plain = link();
    plain.say(linkHello('b'.repeat(32), 'beta'));
    await turns();
    plain.say({ type: 'exit', code: 1, signal: null });
    await turns();
    expect(lastScreenAnswer(registry.require('beta'), { scrollback: false, ansi: false })).toBeNull();
  });

  it('fails requests in flight as SESSION_EXITED when the link closes after the session exited', async () => {
    const host = await welcomed('alpha');
    const entry = registry.require('alpha');
    host.silent = true;
    const pending = entry.link?.request('screen', { scrollback: false, ansi: false }, 5_000).catch((e: unknown) => e);
    host.say({ type: 'exit', code: 3, signal: null });
    host.close(1000, 'exited');
    const err = await pending;
    expect(isTeleptyError(err) && [err.code, err.message]).toEqual(['SESSION_EXITED', 'session alpha has exited (code 3)']);
  });

  it('after an exit report, the link\'s close fails the jobs its host never reported (SESSION_EXITED)', async () => {
    const host = await welcomed('alpha');
    const waiting = injector.inject('alpha', 'hello', { from: null, reply_to: null, thread_id: null, reply_expected: false, no_enter: false, wait: true, timeout_ms: 5_000 }).catch((e: unknown) => e);
    await turns(2);
    host.say({ type: 'exit', code: 0, signal: null });
    host.close(1000, 'exited');
    const err = await waiting;
    expect(isTeleptyError(err) && err.code).toBe('SESSION_EXITED');
    expect(events.kinds()).toContain('inject_failed');
  });

  it('acks a published inject result on the next turn (v3), one frame for a burst; not on a v2 link', async () => {
    const host = await welcomed('alpha');
    for (const id of ['i-1', 'i-2']) host.say({ type: 'inject_result', inject_id: id, status: 'written', written_at: '2025-03-01T12:00:00.000Z', submitted_at: null });
    expect(host.ofType('inject_ack')).toEqual([]);
    await turns(2);
    expect(host.ofType('inject_ack')).toEqual([{ type: 'inject_ack', inject_ids: ['i-1', 'i-2'] }]);

    const v2 = link();
    v2.say(linkHello('c'.repeat(32), 'old', { link_version: 2 }));
    await turns();
    v2.say({ type: 'inject_result', inject_id: 'i-3', status: 'written', written_at: '2025-03-01T12:00:00.000Z', submitted_at: null });
    await turns(2);
    expect(v2.ofType('inject_ack')).toEqual([]);
  });

  it('marks the session exited on an exit report, ends its viewers and says so', async () => {
    const host = await welcomed('alpha');
    const entry = registry.require('alpha');
    const viewer = new Viewer();
    viewers.attach(entry, viewer);
    host.say({ type: 'exit', code: 3, signal: null });
    expect(entry).toMatchObject({ status: 'exited', exitCode: 3 });
    expect(exits).toEqual([entry]);
    expect(viewer.sent.at(-1)).toBe(JSON.stringify({ type: 'exit', code: 3 }));
  });

  it('on close: viewers are told the host is gone and the session is disconnected', async () => {
    const host = await welcomed('alpha');
    const entry = registry.require('alpha');
    const viewer = new Viewer();
    viewers.attach(entry, viewer);
    host.close(1006, 'gone');
    expect(entry.status).toBe('disconnected');
    expect(JSON.parse(viewer.sent.at(-1) as string)).toMatchObject({ type: 'error', code: 'SESSION_DISCONNECTED' });
    expect(events.kinds()).toContain('session_disconnect');
  });

  it('ends a host whose session was killed while it was away, without registering it again', async () => {
    registry.rememberKilled(INSTANCE, Date.now());
    const host = link();
    host.say(linkHello(INSTANCE, 'alpha'));
    await turns();
    expect(host.received.map((m) => m.type)).toEqual(['welcome', 'kill']);
    expect(registry.list()).toEqual([]);
  });
});
