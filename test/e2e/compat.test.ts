// The seed's (0.1.5x) clients against this daemon, written from the seed's documented behaviour
// (../shared/seed, PROTOCOL.md) and from what the original 0.1.53 source does: its `allow` bridge, its record
// shapes, its DELETE, its multicast/broadcast answers and bus events.
import { createRequire } from 'node:module';
import path from 'node:path';
import type { IPty } from 'node-pty';
import WebSocket from 'ws';
import { afterEach, describe, expect, it } from 'vitest';
import type { ScreenSnapshot, SessionObject } from '../../src/protocol/session.js';
import { daemonPort, postApi, requestApi, requestBytes, subscribeBus } from '../helpers/api.js';
import { parseJson, runCli } from '../helpers/cli.js';
import { useHomes } from '../helpers/daemon.js';
import { ROOT, waitFor } from '../helpers/env.js';

const require = createRequire(import.meta.url);
const nodePty = require('node-pty') as typeof import('node-pty');

const homes = useHomes();
const CLAUDE_LIKE = path.join(ROOT, 'test', 'fixtures', 'claude-like.mjs');
const bridges: LegacyBridge[] = [];
afterEach(() => {
  for (const b of bridges.splice(0)) b.dispose();
});

/** What the seed's owner protocol sends a bridge. */
interface OwnerMessage {
  type: string;
  data?: string;
  cols?: number;
  rows?: number;
}

/**
 * The 0.1.5x `telepty allow` bridge, as its source does it: POST /api/sessions/register, a local PTY (node-pty)
 * running the program, a WebSocket to /api/sessions/<id> (`?owner=1` in later clients) that relays the PTY's
 * output as {type:"output", data} and types every {type:"inject", data} it gets; re-register before reconnecting;
 * DELETE at exit.
 */
class LegacyBridge {
  readonly received: OwnerMessage[] = [];
  ws: WebSocket | null = null;
  readonly pty: IPty;
  readonly closes: number[] = [];
  private readonly held: string[] = [];

  constructor(
    readonly port: number,
    readonly id: string,
    command: string,
    args: string[],
  ) {
    this.pty = nodePty.spawn(command, args, { name: 'xterm-256color', cols: 80, rows: 24, cwd: ROOT, env: { ...process.env, TELEPTY_SESSION_ID: id } as Record<string, string> });
    // Output from before the owner socket is open (the program starts at once) is held and sent when it opens:
    // otherwise a fast program's first screen ("claude ready") could be lost to the race.
    this.pty.onData((data) => {
      if (this.ws?.readyState === WebSocket.OPEN) this.ws.send(JSON.stringify({ type: 'output', data }));
      else this.held.push(data);
    });
    bridges.push(this);
  }

  register(): Promise<{ status: number; json: Record<string, unknown> }> {
    return postApi(this.port, '/api/sessions/register', { session_id: this.id, command: 'claude', cwd: ROOT });
  }

  /** Open the owner socket; resolves once open (rejects with the HTTP status when refused). */
  connect(query = ''): Promise<WebSocket> {
    const ws = new WebSocket(`ws://127.0.0.1:${this.port}/api/sessions/${encodeURIComponent(this.id)}${query}`);
    this.ws = ws;
    ws.on('message', (raw: Buffer) => {
      const msg = JSON.parse(raw.toString()) as OwnerMessage;
      this.received.push(msg);
      if (msg.type === 'inject' && typeof msg.data === 'string') this.pty.write(msg.data);
    });
    ws.on('close', (code) => this.closes.push(code));
    return new Promise((resolve, reject) => {
      ws.once('open', () => {
        for (const data of this.held.splice(0)) ws.send(JSON.stringify({ type: 'output', data }));
        resolve(ws);
      });
      ws.once('unexpected-response', (_req, res) => reject(new Error(`refused: ${res.statusCode}`)));
      ws.once('error', reject);
    });
  }

  injects(): string[] {
    return this.received.filter((m) => m.type === 'inject').map((m) => m.data ?? '');
  }

  async close(): Promise<void> {
    const ws = this.ws;
    if (!ws || ws.readyState === WebSocket.CLOSED) return;
    await new Promise<void>((resolve) => {
      ws.once('close', () => resolve());
      ws.close();
    });
  }

  dispose(): void {
    this.ws?.terminate();
    this.pty.kill();
  }
}

async function startDaemon(env: Record<string, string> = {}): Promise<{ home: string; port: number }> {
  const home = homes.newHome();
  expect((await runCli(home, ['daemon', 'start'], { env })).exitCode).toBe(0);
  return { home, port: await daemonPort(home) };
}

async function readScreen(port: number, id: string): Promise<ScreenSnapshot> {
  const r = await requestApi(port, 'GET', `/api/sessions/${id}/screen`);
  if (r.status !== 200) throw new Error(`screen: ${r.status} ${JSON.stringify(r.json)}`);
  return r.json as unknown as ScreenSnapshot;
}

function screenShows(port: number, id: string, text: string): Promise<ScreenSnapshot> {
  return waitFor(`${id} to show ${text}`, async () => {
    const s = await readScreen(port, id);
    return s.lines.join('\n').includes(text) ? s : null;
  });
}

async function legacySession(port: number, id: string): Promise<LegacyBridge> {
  const b = new LegacyBridge(port, id, process.execPath, [CLAUDE_LIKE]);
  expect(await b.register()).toMatchObject({ status: 201, json: { session_id: id, type: 'wrapped' } });
  await b.connect();
  await screenShows(port, id, 'claude ready');
  return b;
}

/** Open a viewer; resolves with its socket and what it received, or rejects with the refusal's status. */
function viewer(port: number, id: string, query = ''): Promise<{ ws: WebSocket; frames: { type: string; data?: string }[] }> {
  const ws = new WebSocket(`ws://127.0.0.1:${port}/api/sessions/${encodeURIComponent(id)}${query}`);
  const frames: { type: string; data?: string }[] = [];
  ws.on('message', (raw: Buffer) => frames.push(JSON.parse(raw.toString()) as { type: string; data?: string }));
  return new Promise((resolve, reject) => {
    ws.once('open', () => resolve({ ws, frames }));
    ws.once('unexpected-response', (_req, res) => reject(new Error(`refused: ${res.statusCode}`)));
    ws.once('error', reject);
  });
}

describe('a 0.1.5x owner bridge (telepty allow)', () => {
  it('owns the session it registered: injects come as text then Enter, its output makes `read` work, and the answer is honest', async () => {
    const { home, port } = await startDaemon();
    const b = await legacySession(port, 'old-claude');
    const listed = parseJson<SessionObject[]>(await runCli(home, ['list', '--json']));
    expect(listed).toEqual([expect.objectContaining({ id: 'old-claude', type: 'wrapped', status: 'connected' })]);

    const r = await runCli(home, ['inject', 'old-claude', 'review the auth module', '--json']);
    expect(r.exitCode, r.stderr).toBe(0);
    const answer = parseJson(r);
    expect(answer).toMatchObject({ success: true, status: 'submitted' });
    // The seed's split: the text in one message (a bracketed paste: the program turned it on), Enter alone after it.
    const injects = b.injects();
    expect(injects).toEqual(['\x1b[200~review the auth module\x1b[201~', '\r']);
    await screenShows(port, 'old-claude', '[claude] submitted #1: 22 chars');
    const cli = await runCli(home, ['read', 'old-claude']);
    expect(cli.stdout).toContain('[claude] submitted #1: 22 chars');

    // --no-enter: the text alone, reported as written (never more than was done).
    const w = parseJson(await runCli(home, ['inject', 'old-claude', 'draft', '--no-enter', '--json']));
    expect(w).toMatchObject({ status: 'written' });
    expect(b.injects().slice(2)).toEqual(['\x1b[200~draft\x1b[201~']);
    await screenShows(port, 'old-claude', 'claude> draft');
  });

  it('says `entered`, not `submitted`, when the screen does not react to the Enter', async () => {
    const { home, port } = await startDaemon();
    const b = new LegacyBridge(port, 'mute', process.execPath, [CLAUDE_LIKE]);
    await b.register();
    await b.connect();
    await screenShows(port, 'mute', 'claude ready');
    // A bridge that stops relaying output: nothing the program does reaches the screen model.
    b.pty.pause();
    const r = parseJson(await runCli(home, ['inject', 'mute', 'hello', '--json'], { env: { TELEPTY_SUBMIT_WATCH_MS: '300' } }));
    expect(r.status).not.toBe('submitted');
    expect(['entered', 'written']).toContain(r.status);
  });

  it('relays viewer input to the owner and owner output to viewers; a viewer never becomes the owner', async () => {
    const { port } = await startDaemon();
    const b = await legacySession(port, 'shared');
    const v = await viewer(port, 'shared');
    await waitFor('the replay', () => v.frames.some((f) => f.type === 'replay' && (f.data ?? '').includes('claude ready')));
    v.ws.send(JSON.stringify({ type: 'input', data: 'hi' }));
    await waitFor('the bridge to get the viewer keys', () => b.injects().includes('hi'));
    await waitFor('the viewer to see the echo', () => v.frames.some((f) => f.type === 'output' && (f.data ?? '').includes('claude> hi')));

    // The owner goes away: a plain connection now is not an owner (it would swallow injects): refused.
    await b.close();
    await waitFor('the session to be disconnected', async () => ((await requestApi(port, 'GET', '/api/sessions/shared')).json.status === 'disconnected' ? true : null));
    await expect(viewer(port, 'shared')).rejects.toThrow('refused: 503');
    // Injects are refused while nobody owns it, not swallowed.
    expect((await postApi(port, '/api/sessions/shared/inject', { prompt: 'lost?' })).status).toBe(503);
    v.ws.terminate();
  });

  it('takes the owner back after a reconnect (re-register, then connect; or ?owner=1 over a stale socket)', async () => {
    const { home, port } = await startDaemon();
    const b = await legacySession(port, 'phoenix');
    await b.close();
    await waitFor('disconnected', async () => ((await requestApi(port, 'GET', '/api/sessions/phoenix')).json.status === 'disconnected' ? true : null));
    // 0.1.53: re-register (200, reregistered), then the same plain connection.
    expect(await b.register()).toMatchObject({ status: 200, json: { reregistered: true } });
    await b.connect();
    expect(parseJson(await runCli(home, ['inject', 'phoenix', 'again', '--json']))).toMatchObject({ status: 'submitted' });
    expect(b.injects()).toEqual(['\x1b[200~again\x1b[201~', '\r']);

    // Later clients: ?owner=1 claims it while the old socket still looks open; the old one is cut.
    const stale = b.ws as WebSocket;
    await b.connect('?owner=1');
    await waitFor('the stale owner to be closed', () => stale.readyState === WebSocket.CLOSED);
    expect(parseJson(await runCli(home, ['inject', 'phoenix', 'third', '--json']))).toMatchObject({ status: 'submitted' });
    await screenShows(port, 'phoenix', '[claude] submitted #2: 5 chars');
  });

  it('is owned again after a daemon restart: the bridge re-registers and reconnects, as 0.1.53 does', async () => {
    const { home, port } = await startDaemon();
    const b = await legacySession(port, 'survivor');
    expect((await runCli(home, ['daemon', 'stop'])).exitCode).toBe(0);
    await waitFor('the owner socket to close', () => b.closes.length > 0);
    expect((await runCli(home, ['daemon', 'start'])).exitCode).toBe(0);
    const port2 = await daemonPort(home);
    // The new daemon restored it from sessions.json: listed, disconnected until its owner is back.
    expect((await requestApi(port2, 'GET', '/api/sessions/survivor')).json).toMatchObject({ type: 'wrapped', status: 'disconnected' });
    const again = new LegacyBridge(port2, 'survivor', process.execPath, [CLAUDE_LIKE]);
    expect(await again.register()).toMatchObject({ status: 200, json: { reregistered: true } });
    await again.connect();
    await waitFor('connected', async () => ((await requestApi(port2, 'GET', '/api/sessions/survivor')).json.status === 'connected' ? true : null));
    // The bridge's program is new: only once its start (bracketed paste on) has reached the daemon is it ready.
    await screenShows(port2, 'survivor', 'claude ready');
    expect(parseJson(await runCli(home, ['inject', 'survivor', 'after restart', '--json']))).toMatchObject({ status: 'submitted' });
    expect(again.injects()).toEqual(['\x1b[200~after restart\x1b[201~', '\r']);
  });

  it('keeps a live owner: a plain connection beside it is a viewer even right after a registration, closed when it talks like an owner', async () => {
    const { home, port } = await startDaemon();
    const owner = await legacySession(port, 'kept');
    expect(await owner.register()).toMatchObject({ status: 200, json: { reregistered: true } });
    const intruder = new LegacyBridge(port, 'kept', process.execPath, [CLAUDE_LIKE]);
    await intruder.connect();
    intruder.ws?.send(JSON.stringify({ type: 'output', data: 'not an owner' }));
    await waitFor('the intruder to be closed', () => intruder.closes.length > 0);
    expect(intruder.closes[0]).toBe(4103);
    expect(parseJson(await runCli(home, ['inject', 'kept', 'still mine', '--json']))).toMatchObject({ status: 'submitted' });
    expect(owner.injects()).toEqual(['\x1b[200~still mine\x1b[201~', '\r']);
    expect(intruder.injects()).toEqual([]);
  });

  it('refuses what must not become an owner: unknown ids (no WebSocket creates a session) and sessions our hosts own', async () => {
    const { home, port } = await startDaemon();
    const b = new LegacyBridge(port, 'ghost', process.execPath, [CLAUDE_LIKE]);
    await expect(b.connect()).rejects.toThrow('refused: 404');
    await expect(b.connect('?owner=1')).rejects.toThrow('refused: 404');
    expect((await requestApi(port, 'GET', '/api/sessions')).json).toEqual([]);

    expect((await runCli(home, ['spawn', '--id', 'ours', '--', 'sleep', '60'])).exitCode).toBe(0);
    const thief = new LegacyBridge(port, 'ours', process.execPath, [CLAUDE_LIKE]);
    await expect(thief.connect('?owner=1')).rejects.toThrow('refused: 409');
  });

  it("removes the session at the bridge's DELETE, at once, with the seed's answer", async () => {
    const { port } = await startDaemon();
    const b = await legacySession(port, 'leaving');
    const del = await requestApi(port, 'DELETE', '/api/sessions/leaving');
    expect(del).toEqual({ status: 200, json: { success: true, id: 'leaving', status: 'closing' } });
    expect((await requestApi(port, 'GET', '/api/sessions')).json).toEqual([]);
    await waitFor('the owner socket to be closed', () => b.closes.length > 0);
    expect(b.closes[0]).toBe(1000);
  });

  it('does not keep a registered session that has no owner listed after DELETE; `telepty kill` says it was only removed', async () => {
    const { home, port } = await startDaemon();
    expect((await postApi(port, '/api/sessions/register', { session_id: 'never-owned' })).status).toBe(201);
    expect((await requestApi(port, 'DELETE', '/api/sessions/never-owned')).json).toEqual({ success: true, id: 'never-owned', status: 'closing' });
    expect((await requestApi(port, 'GET', '/api/sessions')).json).toEqual([]);

    await legacySession(port, 'bridged');
    const k = await runCli(home, ['kill', 'bridged']);
    expect(k.exitCode).toBe(0);
    expect(k.stdout).toMatch(/bridged: removed; a 0\.1\.5x bridge owned it/);
    expect((await requestApi(port, 'GET', '/api/sessions')).json).toEqual([]);
  });
});

describe('the seed\'s requests and record shapes', () => {
  it('takes a body-less POST /submit (the original `deliberate`), and still refuses what a browser could send', async () => {
    const { port } = await startDaemon();
    const b = await legacySession(port, 'delib');
    const ok = await requestBytes(port, 'POST /api/sessions/delib/submit HTTP/1.1\r\n');
    expect(ok.status, JSON.stringify(ok.json)).toBe(200);
    expect(ok.json).toMatchObject({ success: true });
    await waitFor('the Enter to reach the bridge', () => b.injects().includes('\r'));
    const enters = b.injects().length;
    // The browser defences stay: a foreign Origin, a form's Content-Type (even without a body), a foreign Host.
    expect((await requestBytes(port, 'POST /api/sessions/delib/submit HTTP/1.1\r\nOrigin: http://evil.example\r\n')).status).toBe(403);
    expect((await requestBytes(port, 'POST /api/sessions/delib/submit HTTP/1.1\r\nContent-Type: application/x-www-form-urlencoded\r\nContent-Length: 0\r\n')).status).toBe(415);
    expect((await requestBytes(port, 'POST /api/sessions/delib/submit HTTP/1.1\r\nContent-Type: text/plain\r\nContent-Length: 2\r\n', '{}')).status).toBe(415);
    expect(b.injects().length).toBe(enters);
  });

  it('gives handoffs and threads the 0.1.53 fields beside ours', async () => {
    const { port } = await startDaemon();
    const created = await postApi(port, '/api/handoff', { synthesis: { tasks: [{ title: 'a' }, { title: 'b' }] }, deliberation_id: 'd-1' });
    expect(created).toMatchObject({ status: 201, json: { handoff_id: expect.any(String), status: 'pending' } });
    const id = created.json.handoff_id as string;
    const list = (await requestApi(port, 'GET', '/api/handoff')).json as unknown as Record<string, unknown>[];
    expect(list).toEqual([expect.objectContaining({ id, handoff_id: id, status: 'pending', task_count: 2, deliberation_id: 'd-1', claimed_by: null, created_at: expect.any(String), updated_at: expect.any(String) })]);
    expect((await postApi(port, `/api/handoff/${id}/claim`, { agent_session_id: 'dev-1' })).json).toEqual({ success: true, handoff_id: id, status: 'claimed' });
    // The original CLI sends message: null when it has none.
    const patched = await requestApi(port, 'PATCH', `/api/handoff/${id}`, { status: 'executing', message: null });
    expect(patched.json).toMatchObject({ success: true, handoff_id: id, status: 'executing' });
    const done = await requestApi(port, 'PATCH', `/api/handoff/${id}`, { status: 'completed', message: 'all green' });
    expect(done.json).toMatchObject({ success: true, handoff_id: id, status: 'completed' });
    const full = (await requestApi(port, 'GET', `/api/handoff/${id}`)).json;
    expect(full).toMatchObject({ id, handoff_id: id, status: 'completed', claimed_by: 'dev-1', synthesis: { tasks: [{ title: 'a' }, { title: 'b' }] } });
    const progress = full.progress as Record<string, unknown>[];
    expect(progress.at(-1)).toMatchObject({ message: 'all green', timestamp: expect.any(String) });
    for (const p of progress) expect(p.timestamp).toBe(p.at);

    const opened = await postApi(port, '/api/threads', { topic: 'auth review', orchestrator_session_id: 'orch', participant_session_ids: ['a', 'b', 'c'] });
    expect(opened).toMatchObject({ status: 201, json: { thread_id: expect.any(String), status: 'active' } });
    const tid = opened.json.thread_id as string;
    const threads = (await requestApi(port, 'GET', '/api/threads')).json as unknown as Record<string, unknown>[];
    expect(threads).toEqual([expect.objectContaining({ id: tid, thread_id: tid, topic: 'auth review', status: 'active', orchestrator_session_id: 'orch', participant_count: 3, message_count: 0, created_at: expect.any(String), updated_at: expect.any(String) })]);
    const closed = await requestApi(port, 'PATCH', `/api/threads/${tid}`, { status: 'closed' });
    expect(closed.json).toMatchObject({ success: true, thread_id: tid, status: 'closed' });
    const t = (await requestApi(port, 'GET', `/api/threads/${tid}`)).json;
    expect(t).toMatchObject({ id: tid, participant_count: 3, status: 'closed' });
    expect(t.updated_at).toBe(t.closed_at);
  });

  it('carries lastInjectFrom, lastInjectReplyTo and alias on session objects, and filters with idle_gt', async () => {
    const { home, port } = await startDaemon();
    expect((await runCli(home, ['spawn', '--id', 'quiet', '--', 'sleep', '120'])).exitCode).toBe(0);
    expect((await runCli(home, ['spawn', '--id', 'chatty', '--', 'bash', '--norc', '--noprofile', '-c', 'while :; do echo tick; sleep 0.2; done'])).exitCode).toBe(0);
    const r = await postApi(port, '/api/sessions/quiet/inject', { prompt: 'x', from: 'orch', reply_to: 'orch-inbox', no_enter: true });
    expect(r.status).toBe(200);
    const quiet = (await requestApi(port, 'GET', '/api/sessions/quiet')).json;
    expect(quiet).toMatchObject({ id: 'quiet', lastInjectFrom: 'orch', lastInjectReplyTo: 'orch-inbox', alias: null, last_from: 'orch' });
    expect((await requestApi(port, 'GET', '/api/sessions/chatty')).json).toMatchObject({ lastInjectFrom: null, lastInjectReplyTo: null, alias: null });

    const ids = async (q: string): Promise<string[]> => ((await requestApi(port, 'GET', `/api/sessions${q}`)).json as unknown as SessionObject[]).map((s) => s.id).sort();
    await waitFor('quiet to be idle for 2 s', async () => ((await requestApi(port, 'GET', '/api/sessions/quiet')).json.idleSeconds as number) >= 2);
    expect(await ids('')).toEqual(['chatty', 'quiet']);
    expect(await ids('?idle_gt=1')).toEqual(['quiet']);
    expect(await ids('?idle_gt=3600')).toEqual([]);
    expect((await requestApi(port, 'GET', '/api/sessions?idle_gt=soon')).json).toMatchObject({ code: 'INVALID_FIELD' });
  });

  it('answers a plain DELETE at once with {success, status: "closing"}, the session gone from the list; the program still ends', async () => {
    const { home, port } = await startDaemon();
    const s = parseJson<SessionObject>(await runCli(home, ['spawn', '--id', 'doomed', '--json', '--', 'sleep', '120']));
    const del = await requestApi(port, 'DELETE', '/api/sessions/doomed');
    expect(del).toEqual({ status: 200, json: { success: true, id: 'doomed', status: 'closing' } });
    expect((await requestApi(port, 'GET', '/api/sessions')).json).toEqual([]);
    await waitFor('the program to end', () => {
      try {
        process.kill(s.pid as number, 0);
        return false;
      } catch {
        return true;
      }
    });
    // Our CLI asks to wait (?wait=1) and still says what happened.
    expect((await runCli(home, ['spawn', '--id', 'doomed2', '--', 'sleep', '120'])).exitCode).toBe(0);
    const k = await runCli(home, ['kill', 'doomed2', '--json']);
    expect(k.exitCode).toBe(0);
    expect(parseJson<Record<string, unknown>>(k)).toMatchObject({ id: 'doomed2', status: 'killed', exit_code: expect.any(Number) });
  });
});

describe('the seed\'s smaller semantics', () => {
  it('multicast: success with the failed list on a partial failure, one `injection` event per session that took it', async () => {
    const { home, port } = await startDaemon();
    await legacySession(port, 'm-old');
    expect((await runCli(home, ['spawn', '--id', 'm-new', '--', 'sleep', '120'])).exitCode).toBe(0);
    const watch = subscribeBus(port, '?kind=injection');
    await watch.open;
    const r = await postApi(port, '/api/sessions/multicast/inject', { session_ids: ['m-old', 'm-new', 'nobody'], prompt: 'hello all' });
    expect(r.status).toBe(200);
    expect(r.json).toMatchObject({ success: true, results: { failed: [{ id: 'nobody', code: 'SESSION_NOT_FOUND' }] } });
    expect((r.json.results as { successful: { id: string }[] }).successful.map((x) => x.id).sort()).toEqual(['m-new', 'm-old']);
    const events = await waitFor('two injection events', () => (watch.events.length >= 2 ? watch.events : null));
    expect(events.map((e) => e.target_agent).sort()).toEqual(['m-new', 'm-old']);
    for (const e of events) expect(e).toMatchObject({ type: 'injection', kind: 'injection', content: 'hello all', timestamp: expect.any(String) });
    watch.ws.close();
  });

  it('broadcast: a disconnected wrapped session is listed in failed; one `injection` event for the whole broadcast', async () => {
    const { home, port } = await startDaemon();
    const away = await legacySession(port, 'b-away');
    await away.close();
    await waitFor('b-away disconnected', async () => ((await requestApi(port, 'GET', '/api/sessions/b-away')).json.status === 'disconnected' ? true : null));
    const here = await legacySession(port, 'b-here');
    expect((await runCli(home, ['spawn', '--id', 'b-spawned', '--', 'sleep', '120'])).exitCode).toBe(0);
    const watch = subscribeBus(port, '?kind=injection');
    await watch.open;
    const r = await postApi(port, '/api/sessions/broadcast/inject', { prompt: 'to everyone' });
    expect(r.json).toMatchObject({ success: true, results: { failed: [{ id: 'b-away', code: 'SESSION_DISCONNECTED' }] } });
    expect((r.json.results as { successful: { id: string }[] }).successful.map((x) => x.id).sort()).toEqual(['b-here', 'b-spawned']);
    const [ev] = await waitFor('the injection event', () => (watch.events.length >= 1 ? watch.events : null));
    expect(ev).toMatchObject({ type: 'injection', target_agent: 'all', content: 'to everyone' });
    expect((ev?.session_ids as string[]).sort()).toEqual(['b-here', 'b-spawned']);
    await waitFor('the broadcast to reach the bridge', () => here.injects().includes('\r'));
    watch.ws.close();
  });

  it('answers an inject with the submit {deferred, strategy} block, and an empty prompt presses Enter', async () => {
    const { home, port } = await startDaemon();
    const b = await legacySession(port, 'enter-me');
    expect((await runCli(home, ['spawn', '--id', 'spawned', '--', 'sleep', '120'])).exitCode).toBe(0);
    expect((await postApi(port, '/api/sessions/spawned/inject', { prompt: 'x' })).json).toMatchObject({ status: 'queued', submit: { deferred: true, strategy: 'pty_split_cr' } });
    expect((await postApi(port, '/api/sessions/spawned/inject', { prompt: 'x', no_enter: true })).json).toMatchObject({ submit: null });
    const waited = await postApi(port, '/api/sessions/enter-me/inject', { prompt: 'typed', no_enter: true, wait: true });
    expect(waited.json).toMatchObject({ status: 'written', submit: null });
    const done = await postApi(port, '/api/sessions/enter-me/inject', { prompt: 'more', wait: true });
    expect(done.json).toMatchObject({ status: 'submitted', submit: { deferred: false, strategy: 'ws_split_cr' } });

    const before = b.injects().length;
    const enter = await postApi(port, '/api/sessions/enter-me/inject', { prompt: '', wait: true });
    expect(enter.status, JSON.stringify(enter.json)).toBe(200);
    expect(b.injects().slice(before)).toEqual(['\r']);
    // With no_enter there would be nothing to do: still refused.
    expect((await postApi(port, '/api/sessions/enter-me/inject', { prompt: '', no_enter: true })).json).toMatchObject({ code: 'INVALID_FIELD' });
  });

  it("refuses a duplicate spawn with the seed's message", async () => {
    const { port } = await startDaemon();
    expect((await postApi(port, '/api/sessions/spawn', { session_id: 'twice', command: 'sleep', args: ['60'] })).status).toBe(201);
    const again = await postApi(port, '/api/sessions/spawn', { session_id: 'twice', command: 'sleep', args: ['60'] });
    expect(again).toMatchObject({ status: 409, json: { error: "Session ID 'twice' is already active.", code: 'SESSION_EXISTS' } });
  });

  it('does not echo a bus publisher its own event (0.1.53 excluded the sender); others, and its later events from others, still reach it', async () => {
    const { port } = await startDaemon();
    const a = subscribeBus(port, '?kind=chat.*');
    const b = subscribeBus(port, '?kind=chat.*');
    await Promise.all([a.open, b.open]);
    a.ws.send(JSON.stringify({ kind: 'chat.ping', payload: { n: 1 } }));
    await waitFor('b to get the ping', () => b.events.some((e) => e.kind === 'chat.ping'));
    b.ws.send(JSON.stringify({ kind: 'chat.pong', payload: { n: 2 } }));
    await waitFor('a to get the pong', () => a.events.some((e) => e.kind === 'chat.pong'));
    expect(a.events.map((e) => e.kind)).toEqual(['chat.pong']);
    expect(b.events.map((e) => e.kind)).toEqual(['chat.ping']);
    a.ws.close();
    b.ws.close();
  });
});
