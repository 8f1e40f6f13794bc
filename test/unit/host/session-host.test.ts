import { afterEach, describe, expect, it } from 'vitest';
import { HOST_LINK_VERSION, LAST_SCREEN_SCROLLBACK_LINES, type DaemonToHost, type HostInjectResult, type HostReply, type HostRequestMap, type HostRequestOp, type HostToDaemon } from '../../../src/protocol/host-link.js';
import type { HostSpec } from '../../../src/protocol/host-spec.js';
import type { HostLink, HostPty, LinkHandlers, PtyExit } from '../../../src/host/parts.js';
import { SessionHost } from '../../../src/host/session-host.js';
import { DEFAULT_HOST_TIMINGS, DEFAULT_LINK_TIMINGS, type HostTimings } from '../../../src/host/timings.js';
import { DEFAULT_INJECT_TIMINGS } from '../../../src/terminal/inject-queue.js';
import { ScreenModel } from '../../../src/terminal/screen.js';
import { waitFor } from '../../helpers/env.js';
import { RecordingLogger, RecordingOutput } from '../../helpers/recorders.js';

/**
 * A child on a pseudo-terminal, in memory: it echoes what is typed as a line-editing shell would (Enter gives a new
 * line and a fresh prompt), records every write, resize, pause and signal, and exits when told.
 */
class FakePty implements HostPty {
  readonly pid = 4242;
  readonly ptsName = null;
  hasExited = false;
  readonly exited: Promise<PtyExit>;
  readonly written: string[] = [];
  readonly sizes: [number, number][] = [];
  readonly signals: NodeJS.Signals[] = [];
  readonly killGraces: number[] = [];
  paused = 0;
  resumed = 0;
  echo = true;
  private sink: ((data: Buffer) => void) | null = null;
  private early: Buffer[] = [];
  private resolveExit!: (e: PtyExit) => void;

  constructor() {
    this.exited = new Promise((resolve) => (this.resolveExit = resolve));
  }

  onData(cb: (data: Buffer) => void): void {
    this.sink = cb;
    for (const d of this.early.splice(0)) cb(d);
  }

  /** The child writes `text` to its terminal. */
  output(text: string): void {
    const data = Buffer.from(text);
    if (this.sink) this.sink(data);
    else this.early.push(data);
  }

  write(data: string): void {
    if (this.hasExited) return;
    this.written.push(data);
    if (!this.echo) return;
    // Echo like a shell's line editor: Enter starts a new prompt line; bracketed-paste markers are not shown.
    const shown = data.replace(/\x1b\[20[01]~/g, '').replace(/\r/g, '\r\n$ ');
    if (shown) setImmediate(() => this.output(shown));
  }

  writeQueueEmpty(): boolean {
    return true;
  }

  resize(cols: number, rows: number): void {
    this.sizes.push([cols, rows]);
  }

  pause(): void {
    this.paused++;
  }

  resume(): void {
    this.resumed++;
  }

  signal(signal: NodeJS.Signals): void {
    this.signals.push(signal);
  }

  killSession(graceMs: number): Promise<void> {
    this.killGraces.push(graceMs);
    this.exit({ code: null, signal: 1 });
    return Promise.resolve();
  }

  exit(e: PtyExit): void {
    if (this.hasExited) return;
    this.hasExited = true;
    this.resolveExit(e);
  }

  typed(): string {
    return this.written.join('');
  }
}

/** The daemon's side of the link, in memory: records what the host sends; the test plays the daemon. */
class FakeLink implements HostLink {
  up = false;
  buffered = 0;
  started = false;
  stopped = false;
  readonly sent: HostToDaemon[] = [];
  readonly frames: Buffer[] = [];
  private nextReq = 1;

  constructor(readonly handlers: LinkHandlers) {}

  start(): void {
    this.started = true;
  }

  /** The daemon welcomes the host as `id`. */
  welcome(id: string): void {
    this.up = true;
    this.handlers.onWelcome({ type: 'welcome', link_version: HOST_LINK_VERSION, session_id: id });
  }

  down(): void {
    this.up = false;
    this.handlers.onDown(1006, '');
  }

  tell(message: DaemonToHost): void {
    this.handlers.onMessage(message);
  }

  /** A request as the daemon makes it; resolves with the host's reply. */
  async request<K extends HostRequestOp>(op: K, args: HostRequestMap[K]['args']): Promise<HostReply> {
    const req_id = this.nextReq++;
    this.tell({ type: 'request', req_id, op, args } as DaemonToHost);
    return waitFor(`the reply to ${op}`, () => this.sent.find((m): m is HostReply => m.type === 'reply' && m.req_id === req_id));
  }

  of<T extends HostToDaemon['type']>(type: T): Extract<HostToDaemon, { type: T }>[] {
    return this.sent.filter((m): m is Extract<HostToDaemon, { type: T }> => m.type === type);
  }

  send(message: HostToDaemon): boolean {
    if (!this.up) return false;
    this.sent.push(message);
    return true;
  }

  sendBinary(frame: Buffer): boolean {
    if (!this.up) return false;
    this.frames.push(frame);
    return true;
  }

  waitUp(): Promise<boolean> {
    return Promise.resolve(this.up);
  }

  flush(): Promise<void> {
    return Promise.resolve();
  }

  stop(): void {
    this.stopped = true;
    this.up = false;
  }
}

const TIMINGS: HostTimings = { ...DEFAULT_LINK_TIMINGS, ...DEFAULT_INJECT_TIMINGS, ...DEFAULT_HOST_TIMINGS, exitReportWaitMs: 50 };

function spec(over: Partial<HostSpec> = {}): HostSpec {
  return {
    session_id: 'unit-1',
    id_flexible: false,
    host_instance: 'f'.repeat(32),
    type: 'spawned',
    command: 'sh',
    args: [],
    cwd: '/',
    env: {},
    cols: 80,
    rows: 24,
    term: 'xterm-256color',
    ...over,
  };
}

interface Rig {
  host: SessionHost;
  pty: FakePty;
  link: FakeLink;
  sinks: RecordingOutput[];
  log: RecordingLogger;
  killed: string[];
}

const hosts: Rig[] = [];
afterEach(async () => {
  for (const r of hosts.splice(0)) {
    r.pty.exit({ code: 0, signal: null });
    await r.host.exited;
  }
});

function rig(over: Partial<HostSpec> = {}, sinkCount = 2, before: (pty: FakePty) => void = () => undefined): Rig {
  const pty = new FakePty();
  before(pty);
  let link: FakeLink | undefined;
  const sinks = Array.from({ length: sinkCount }, () => new RecordingOutput());
  const log = new RecordingLogger();
  const killed: string[] = [];
  const host = new SessionHost(spec(over), {
    pty,
    screen: (cols, rows, events) => new ScreenModel(cols, rows, events.modes, events.parsed),
    link: (handlers) => (link = new FakeLink(handlers)),
    sinks,
    log,
    timings: TIMINGS,
    onKilled: (reason) => killed.push(reason),
  });
  const r: Rig = { host, pty, link: link as FakeLink, sinks, log, killed };
  hosts.push(r);
  return r;
}

async function screenLines(r: Rig): Promise<string[]> {
  const reply = await r.link.request('screen', { scrollback: false, ansi: false });
  if (!reply.ok) throw new Error(reply.error.error);
  return (reply.result as HostRequestMap['screen']['result']).lines;
}

describe('SessionHost with in-memory parts', () => {
  it('says hello with the spec and its parts, and takes the id the daemon welcomes it as', () => {
    const r = rig({ session_id: 'wanted', id_flexible: true, spawn_request_id: 'req-1' });
    r.host.start();
    expect(r.link.started).toBe(true);
    const hello = r.link.handlers.hello();
    expect(hello).toMatchObject({
      type: 'hello',
      link_version: HOST_LINK_VERSION,
      session_id: 'wanted',
      id_flexible: true,
      session: { type: 'spawned', command: 'sh', pid: 4242, host_pid: process.pid, cols: 80, rows: 24, spawn_request_id: 'req-1' },
    });
    r.link.welcome('wanted-2');
    expect(r.host.id).toBe('wanted-2');
    expect(r.host.connected).toBe(true);
  });

  it('types an inject job into the PTY and reports its outcome (written, then submitted)', async () => {
    const r = rig();
    r.link.welcome('unit-1');
    r.pty.output('$ ');
    const reply = await r.link.request('inject', { inject_id: 'job-1', text: 'echo hi', no_enter: false, enter_only: false });
    expect(reply).toMatchObject({ ok: true, result: { queued: true, position: 0 } });
    const result = await waitFor('the inject result', () => r.link.of('inject_result')[0], 10_000);
    expect(result).toMatchObject({ inject_id: 'job-1', status: 'submitted' });
    expect(r.link.of('inject_written').map((m) => m.inject_id)).toEqual(['job-1']);
    // The text, then Enter alone.
    expect(r.pty.typed()).toBe('echo hi\r');
    expect(await screenLines(r)).toEqual(['$ echo hi', '$ ']);
  });

  it('answers a repeated inject id from memory and never types it again', async () => {
    const r = rig();
    r.link.welcome('unit-1');
    r.pty.output('$ ');
    await r.link.request('inject', { inject_id: 'job-2', text: 'ls', no_enter: false, enter_only: false });
    await waitFor('the inject result', () => r.link.of('inject_result')[0], 10_000);
    const again = await r.link.request('inject', { inject_id: 'job-2', text: 'ls', no_enter: false, enter_only: false });
    expect(again).toMatchObject({ ok: true, result: { known: 'done', result: { inject_id: 'job-2', status: 'submitted' } } });
    expect(r.pty.typed()).toBe('ls\r');
  });

  it('keeps a result made while the link was down and sends it to the next daemon that welcomes it', async () => {
    const r = rig();
    r.link.welcome('unit-1');
    r.pty.output('$ ');
    await r.link.request('inject', { inject_id: 'job-3', text: 'pwd', no_enter: false, enter_only: false });
    r.link.down();
    await waitFor('the job to be typed', () => r.pty.typed() === 'pwd\r', 10_000);
    // Let the job end while no daemon listens.
    await new Promise((resolve) => setTimeout(resolve, TIMINGS.submitWatchMs / 4));
    expect(r.link.of('inject_result')).toEqual([]);
    r.link.welcome('unit-1');
    const resent = await waitFor('the result sent again', () => r.link.of('inject_result')[0], 10_000);
    expect(resent).toMatchObject({ inject_id: 'job-3' });
    // Acknowledged: not sent to the daemon after that.
    r.link.tell({ type: 'inject_ack', inject_ids: ['job-3'] });
    r.link.sent.splice(0);
    r.link.welcome('unit-1');
    expect(r.link.of('inject_result')).toEqual([]);
  });

  it('gives every chunk of output to every sink in order, the screen included', async () => {
    const r = rig({}, 3);
    r.pty.output('one\r\n');
    r.pty.output('two\r\n');
    r.pty.output('three');
    for (const s of r.sinks) expect(s.chunks.map((c) => c.toString())).toEqual(['one\r\n', 'two\r\n', 'three']);
    r.link.welcome('unit-1');
    expect(await screenLines(r)).toEqual(['one', 'two', 'three']);
  });

  it('hands output written before it was built to the sinks first (the child starts before the host loads)', () => {
    const r = rig({}, 1, (pty) => pty.output('early '));
    r.pty.output('late');
    expect(r.sinks[0]?.text()).toBe('early late');
  });

  it('relays output to the daemon as binary frames only while it is subscribed', async () => {
    const r = rig();
    r.link.welcome('unit-1');
    r.pty.output('before');
    expect(r.link.frames).toEqual([]);
    r.link.tell({ type: 'subscribe', on: true });
    r.pty.output('after');
    await new Promise((resolve) => setImmediate(resolve));
    expect(Buffer.concat(r.link.frames).toString()).toBe('after');
    r.link.tell({ type: 'subscribe', on: false });
    r.pty.output('off');
    expect(Buffer.concat(r.link.frames).toString()).toBe('after');
  });

  it("sends output to the viewers before the screen takes it: a keystroke's echo waits on no other sink", async () => {
    const pty = new FakePty();
    let link: FakeLink | undefined;
    // What the viewers had been sent when the screen took each chunk.
    const framesAtScreen: number[] = [];
    class WatchedScreen extends ScreenModel {
      override write(data: Buffer): void {
        framesAtScreen.push(link?.frames.length ?? -1);
        super.write(data);
      }
    }
    const host = new SessionHost(spec(), {
      pty,
      screen: (cols, rows, events) => new WatchedScreen(cols, rows, events.modes, events.parsed),
      link: (handlers) => (link = new FakeLink(handlers)),
      log: new RecordingLogger(),
      timings: TIMINGS,
    });
    hosts.push({ host, pty, link: link as FakeLink, sinks: [], log: new RecordingLogger(), killed: [] });
    const l = link as FakeLink;
    l.welcome('unit-1');
    l.tell({ type: 'subscribe', on: true });
    pty.output('a');
    pty.output('b');
    expect(framesAtScreen).toEqual([1, 2]);
    expect(Buffer.concat(l.frames).toString()).toBe('ab');
    expect(await screenLines({ host, pty, link: l, sinks: [], log: new RecordingLogger(), killed: [] })).toEqual(['ab']);
  });

  it('skips output while the link is congested and tells the daemon of the gap before the next frame', async () => {
    const r = rig();
    r.link.welcome('unit-1');
    r.link.tell({ type: 'subscribe', on: true });
    r.link.buffered = 9 * 1024 * 1024;
    r.pty.output('lost');
    expect(r.link.frames).toEqual([]);
    r.link.buffered = 0;
    await new Promise((resolve) => setImmediate(resolve));
    r.pty.output('next');
    expect(r.link.of('gap')).toEqual([{ type: 'gap' }]);
    expect(Buffer.concat(r.link.frames).toString()).toBe('next');
    // Every sink still had every byte.
    expect(r.sinks[0]?.text()).toBe('lostnext');
  });

  it('resizes the PTY and the screen for a viewer of a spawned session, and tells the daemon', async () => {
    const r = rig();
    r.link.welcome('unit-1');
    r.link.tell({ type: 'resize', cols: 100, rows: 30 });
    expect(r.pty.sizes).toEqual([[100, 30]]);
    expect(r.link.of('state')).toContainEqual({ type: 'state', cols: 100, rows: 30 });
    const reply = await r.link.request('screen', { scrollback: false, ansi: false });
    expect(reply).toMatchObject({ ok: true, result: { cols: 100, rows: 30 } });
    // The same size again changes nothing.
    r.host.resize(100, 30);
    expect(r.pty.sizes).toEqual([[100, 30]]);
  });

  it('leaves a wrapped session at its own terminal size when a viewer asks for another', () => {
    const r = rig({ type: 'wrapped' });
    r.link.welcome('unit-1');
    r.link.tell({ type: 'resize', cols: 100, rows: 30 });
    expect(r.pty.sizes).toEqual([]);
    r.host.resize(120, 40);
    expect(r.pty.sizes).toEqual([[120, 40]]);
  });

  it('passes viewer input to the PTY', () => {
    const r = rig();
    r.link.welcome('unit-1');
    r.link.tell({ type: 'input', data: 'abc' });
    expect(r.pty.typed()).toBe('abc');
  });

  it('reports the exit to the daemon after the last output reached the screen, ends its sinks and stops its link', async () => {
    const r = rig();
    r.link.welcome('unit-1');
    r.pty.output('bye');
    r.pty.exit({ code: 3, signal: null });
    await expect(r.host.exited).resolves.toEqual({ code: 3, signal: null });
    expect(r.link.of('exit')).toEqual([{ type: 'exit', code: 3, signal: null }]);
    for (const s of r.sinks) expect(s.ended).toEqual({ code: 3, signal: null });
    expect(r.link.stopped).toBe(true);
  });

  it('sends its last screen just before the exit, only to a daemon that takes it, with at most LAST_SCREEN_SCROLLBACK_LINES of scrollback', async () => {
    const old = rig();
    old.link.welcome('unit-1'); // an older daemon: it would close the link on a message it does not know
    old.pty.output('bye\r\n');
    old.pty.exit({ code: 3, signal: null });
    await old.host.exited;
    expect(old.link.sent.map((m) => m.type)).toContain('exit');
    expect(old.link.of('last_screen')).toEqual([]);

    const r = rig();
    r.link.up = true;
    r.link.handlers.onWelcome({ type: 'welcome', link_version: HOST_LINK_VERSION, session_id: 'unit-1', features: ['last_screen'] });
    const total = LAST_SCREEN_SCROLLBACK_LINES + 100;
    r.pty.output(Array.from({ length: total }, (_, i) => `line-${i + 1}`).join('\r\n') + '\r\n\x1b[31mFATAL: it broke\x1b[0m');
    r.pty.exit({ code: 3, signal: null });
    await r.host.exited;
    const types = r.link.sent.map((m) => m.type);
    expect(types.indexOf('last_screen')).toBe(types.indexOf('exit') - 1);
    const [last] = r.link.of('last_screen');
    expect(last).toMatchObject({ cols: 80, rows: 24, visible: 24, cursor: { x: 15, y: 23 } });
    expect(last?.lines).toHaveLength(24 + LAST_SCREEN_SCROLLBACK_LINES);
    expect(last?.lines.at(0)).toBe(`line-${total + 1 - 23 - LAST_SCREEN_SCROLLBACK_LINES}`);
    expect(last?.lines.at(-1)).toBe('FATAL: it broke');
    expect(last?.ansi_lines.at(-1)).toMatch(/\x1b\[[0-9;]*31mFATAL: it broke/);
    expect(last?.ansi_lines).toHaveLength(last?.lines.length ?? -1);

    // Killed: the daemon removes the session, so no screen is taken for it.
    const killed = rig();
    killed.link.up = true;
    killed.link.handlers.onWelcome({ type: 'welcome', link_version: HOST_LINK_VERSION, session_id: 'unit-1', features: ['last_screen'] });
    killed.link.tell({ type: 'kill', reason: 'killed by telepty kill' });
    await killed.host.exited;
    expect(killed.link.of('exit')).toHaveLength(1);
    expect(killed.link.of('last_screen')).toEqual([]);
  });

  it('ends the session when the daemon kills it: the PTY session with the kill grace, the caller told why', async () => {
    const r = rig();
    r.link.welcome('unit-1');
    r.link.tell({ type: 'kill', reason: 'killed by telepty kill' });
    await expect(r.host.exited).resolves.toEqual({ code: null, signal: 1 });
    expect(r.pty.killGraces).toEqual([TIMINGS.killGraceMs]);
    expect(r.killed).toEqual(['killed by telepty kill']);
    expect(r.link.of('exit')).toEqual([{ type: 'exit', code: null, signal: 1 }]);
  });

  it('answers an unknown request with an error instead of failing', async () => {
    const r = rig();
    r.link.welcome('unit-1');
    const reply = await r.link.request('nonsense' as HostRequestOp, {} as never);
    expect(reply).toMatchObject({ ok: false, error: { code: 'BAD_REQUEST' } });
  });

  it('withdraws a queued job that has not started; its id may be used again', async () => {
    const r = rig();
    r.link.welcome('unit-1');
    r.pty.output('$ ');
    // The first job waits for a person who is typing; the second waits behind it.
    r.host.input('x');
    await r.link.request('inject', { inject_id: 'first', text: 'a', no_enter: true, enter_only: false, force: true });
    const second = await r.link.request('inject', { inject_id: 'second', text: 'b', no_enter: true, enter_only: false });
    expect(second).toMatchObject({ ok: true, result: { position: 1 } });
    expect(await r.link.request('cancel_inject', { inject_id: 'second' })).toMatchObject({ ok: true, result: { cancelled: true } });
    await waitFor('the first job', () => r.link.of('inject_result').find((m: HostInjectResult) => m.inject_id === 'first'), 10_000);
    expect(r.pty.typed()).not.toContain('b');
    const again = await r.link.request('inject', { inject_id: 'second', text: 'c', no_enter: true, enter_only: false });
    expect(again).toMatchObject({ ok: true, result: { queued: true } });
    expect(again.ok && (again.result as { known?: string }).known).toBeUndefined();
  });

  it('says hello with its optional link parts and reports agent state only to a daemon that takes it', async () => {
    const old = rig({ command: 'claude' });
    expect(old.link.handlers.hello().features).toEqual(['agent_state', 'keys', 'hook', 'since', 'last_screen']);
    old.link.welcome('unit-1'); // an older daemon: no features in its welcome
    old.pty.output('✻ Thinking… (esc to interrupt)');
    await new Promise((resolve) => setTimeout(resolve, 300));
    expect(old.link.of('agent_state')).toEqual([]);

    const r = rig({ command: 'claude' });
    r.link.up = true;
    r.link.handlers.onWelcome({ type: 'welcome', link_version: HOST_LINK_VERSION, session_id: 'unit-1', features: ['agent_state'] });
    expect(r.link.of('agent_state')[0]).toMatchObject({ state: 'starting', source: null });
    r.pty.output('✻ Thinking… (esc to interrupt)');
    const working = await waitFor('working', () => r.link.of('agent_state').find((m) => m.state === 'working'));
    expect(working).toMatchObject({ source: 'screen', reason: 'screen rule claude.spinner' });
    expect(working.explain).toContain('screen: working by rule claude.spinner');
    r.pty.exit({ code: 0, signal: null });
    await r.host.exited;
    expect(r.link.of('agent_state').at(-1)?.state).toBe('exited');
  });

  it('writes keys by name to the PTY, in application cursor mode once the program asked for it', async () => {
    const r = rig();
    r.link.welcome('unit-1');
    r.pty.echo = false;
    const reply = await r.link.request('keys', { keys: ['Down', 'Enter'] });
    expect(reply).toMatchObject({ ok: true, result: { keys: ['Down', 'Enter'], bytes: 4 } });
    expect(r.pty.typed()).toBe('\x1b[B\r');
    r.pty.output('\x1b[?1h');
    await r.link.request('keys', { keys: ['Up', 'yes'] });
    expect(r.pty.typed()).toBe('\x1b[B\r\x1bOAyes');
  });

  it('text sent with keys is a draft that holds an inject; Escape sent with it (one keys call) clears it', async () => {
    const r = rig();
    r.link.welcome('unit-1');
    r.pty.output('$ ');
    await r.link.request('keys', { keys: ['abc'] });
    await r.link.request('inject', { inject_id: 'held', text: 'PROMPT', no_enter: true, enter_only: false });
    await new Promise((res) => setTimeout(res, 300));
    expect(r.pty.typed()).toBe('abc');
    await r.link.request('keys', { keys: ['x', 'Escape'] });
    await waitFor('the held prompt typed', () => r.pty.typed().includes('PROMPT'), 3_000);
  });

  it("takes a hook's report: the state it leads to is the answer", async () => {
    const r = rig({ command: 'claude' });
    r.link.welcome('unit-1');
    const reply = await r.link.request('hook', { event: 'Notification', notification_type: 'permission_prompt', message: 'Claude needs your permission to use Bash' });
    expect(reply).toMatchObject({ ok: true, result: { state: { state: 'blocked', source: 'hook', detail: 'Claude needs your permission to use Bash' } } });
  });
});
