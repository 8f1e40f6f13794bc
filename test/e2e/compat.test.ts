// The seed's (0.1.5x) clients against this daemon, written from the seed's documented behaviour
// (../shared/seed, PROTOCOL.md) and from what the original 0.1.53 source does: its `allow` bridge, its record
// shapes, its DELETE, its multicast/broadcast answers and bus events.
import { createRequire } from 'node:module';
import path from 'node:path';
import type { IPty } from 'node-pty';
import WebSocket from 'ws';
import { afterEach, describe, expect, it } from 'vitest';
import type { ScreenSnapshot, SessionObject } from '../../src/protocol/session.js';
import { daemonPort, postApi, requestApi } from '../helpers/api.js';
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

  constructor(
    readonly port: number,
    readonly id: string,
    command: string,
    args: string[],
  ) {
    this.pty = nodePty.spawn(command, args, { name: 'xterm-256color', cols: 80, rows: 24, cwd: ROOT, env: { ...process.env, TELEPTY_SESSION_ID: id } as Record<string, string> });
    this.pty.onData((data) => {
      if (this.ws?.readyState === WebSocket.OPEN) this.ws.send(JSON.stringify({ type: 'output', data }));
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
      ws.once('open', () => resolve(ws));
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
});
