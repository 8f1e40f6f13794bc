import { promises as fs } from 'node:fs';
import net from 'node:net';
import path from 'node:path';
import WebSocket from 'ws';
import { describe, expect, it } from 'vitest';
import { isHostHello, parseHostMessage } from '../../src/protocol/host-link.js';
import { parseViewerMessage } from '../../src/protocol/viewer.js';
import { parseJson, runCli } from '../helpers/cli.js';
import { liveDaemon, useHomes } from '../helpers/daemon.js';
import { ROOT, isAlive, waitFor } from '../helpers/env.js';
import { readSubmissions } from '../helpers/fixtures.js';
import { prng } from '../helpers/prng.js';

/**
 * Thousands of malformed requests and WebSocket frames, bounded in time: every HTTP exchange is answered with
 * JSON or closed, every malformed WS frame gets a JSON error frame or a close, prototype-pollution payloads change
 * no later answer, the daemon never crashes, and a normal inject works afterwards.
 */
const homes = useHomes();
/** Random HTTP cases stop at this bound (whatever the count), and so do the WS frames: the test stays < 15 s. */
const HTTP_BUDGET_MS = 6_000;
const WS_BUDGET_MS = 4_000;
const HTTP_CASES = 2_500;
const WS_CASES = 800;
const IN_FLIGHT = 16;

const SEED = Number(process.env.TELEPTY_FUZZ_SEED ?? 20261124);

function generators(rand: () => number): { request: () => Buffer; frame: () => { data: Buffer | string; binary: boolean } } {
  const pick = <T>(xs: readonly T[]): T => xs[Math.floor(rand() * xs.length)] as T;
  const bytes = (n: number): Buffer => Buffer.from(Array.from({ length: n }, () => Math.floor(rand() * 256)));
  const ids = ['target', 'nobody', '../../x', 'a;rm -rf /', 'x'.repeat(300), '%FF%FE', '%00', '..', '', '%2e%2e%2fetc', 'ok-id', '\u00e9', 'a b'];
  // Mutating routes never name the target session (so the final inject still has somewhere to go).
  const paths = () =>
    pick([
      `/api/sessions/${pick(ids.filter((i) => i !== 'target'))}`,
      `/api/sessions/${pick(ids)}/inject`,
      `/api/sessions/${pick(ids)}/submit`,
      `/api/sessions/${pick(ids)}/screen?lines=${pick(['5', '-1', 'x', '99999999', ''])}&ansi=${pick(['1', 'x'])}`,
      '/api/sessions/spawn',
      '/api/sessions/register',
      '/api/sessions/multicast/inject',
      '/api/sessions/broadcast/inject',
      '/api/sessions',
      '/api/bus/publish',
      '/api/meta',
      '/api/health',
      `/api/handoff/${pick(ids)}${pick(['', '/claim'])}`,
      '/api/handoff',
      `/api/threads/${pick(ids)}`,
      '/api/threads',
      `/api/${bytes(6).toString('latin1').replace(/[\s\r\n]/g, '_')}`,
      `/${'a/'.repeat(Math.floor(rand() * 50))}`,
      '*',
      `/api/sessions/${'%'.repeat(5)}`,
    ]);
  const values = (): unknown =>
    pick([null, true, 0, -1, 1e308, 'x'.repeat(Math.floor(rand() * 3000)), [], {}, [1, 2], { a: { b: { c: 1 } } }, '\u0000', '\ud800', 'PWN\x1b[201~\r', ids[Math.floor(rand() * ids.length)]]);
  const bodies = (): string =>
    pick([
      () => JSON.stringify({ prompt: values(), from: values(), wait: values(), timeout_ms: values(), no_enter: values() }),
      () => JSON.stringify({ command: values(), args: values(), cwd: values(), env: values(), session_id: values(), cols: values() }),
      () => JSON.stringify({ kind: values(), type: values(), target: values(), payload: { prompt: values(), turn_id: values() } }),
      () => JSON.stringify({ session_ids: [values(), values()], prompt: values() }),
      () => JSON.stringify({ new_id: values() }),
      () => JSON.stringify({ synthesis: values(), agent_session_id: values(), status: values(), topic: values() }),
      () => '{"__proto__":{"polluted":true},"constructor":{"prototype":{"x":1}},"kind":"proto"}',
      () => `${'['.repeat(100 + Math.floor(rand() * 5000))}`,
      () => bytes(Math.floor(rand() * 2000)).toString('latin1'),
      () => '{"prompt":"a"'.slice(0, Math.floor(rand() * 12)),
      () => '',
    ])();
  const request = (): Buffer => {
    const method = pick(['GET', 'POST', 'PATCH', 'DELETE', 'PUT', 'OPTIONS', 'BREW', 'POST', 'POST']);
    const body = method === 'GET' && rand() < 0.8 ? '' : bodies();
    const length = pick([Buffer.byteLength(body), Buffer.byteLength(body), 0, Buffer.byteLength(body) + 10, 999999999]);
    const headers = [
      `Host: ${pick(['127.0.0.1', 'localhost', 'evil.example', '[::1]', '', '127.0.0.1:1'])}`,
      pick(['Content-Type: application/json', 'Content-Type: text/plain', 'Content-Type: application/json; charset=utf-8', 'Content-Type: ', '']),
      `Content-Length: ${length}`,
      pick(['', 'Origin: http://evil.example', 'Origin: null', 'Transfer-Encoding: chunked', 'Expect: 100-continue', `X-Junk: ${'j'.repeat(Math.floor(rand() * 20000))}`, 'Authorization: Bearer x']),
      pick(['', 'Connection: close', 'Upgrade: websocket', 'Connection: keep-alive']),
    ].filter(Boolean);
    const line = rand() < 0.05 ? bytes(40).toString('latin1') : `${method} ${paths()} ${pick(['HTTP/1.1', 'HTTP/1.0', 'HTTP/9.9', ''])}`;
    return Buffer.from(`${line}\r\n${headers.join('\r\n')}\r\n\r\n${body}`, 'latin1');
  };
  const frame = (): { data: Buffer | string; binary: boolean } =>
    pick([
      () => ({ data: bodies(), binary: false }),
      () => ({ data: bytes(Math.floor(rand() * 500)), binary: true }),
      () => ({ data: JSON.stringify({ type: pick(['input', 'resize', 'hello', 'reply', 'exit', 'state', 'inject_result']), data: values(), cols: values(), rows: values(), req_id: values() }), binary: false }),
      () => ({ data: `${bodies()}\n${bodies()}\n`, binary: false }),
    ])();
  return { request, frame };
}

/** A request whose body is shorter than its Content-Length waits for more: after this, the client ends its side. */
const SEND_WAIT_MS = 300;
/** Once the client has sent everything (and ended its side), the daemon must answer or close within this. */
const ANSWER_BOUND_MS = 2_000;

interface Exchange {
  bytes: Buffer;
  /** The daemon closed the connection. */
  closed: boolean;
}

/** Bytes of one answer: status, headers and body (by Content-Length), or null while incomplete. */
function completeAnswers(text: string): { status: number; body: string }[] | null {
  const out: { status: number; body: string }[] = [];
  let rest = text;
  while (rest.length > 0) {
    const head = rest.indexOf('\r\n\r\n');
    if (head < 0) return null;
    const status = Number(/^HTTP\/1\.1 (\d{3})/.exec(rest)?.[1] ?? NaN);
    const len = Number(/\r\ncontent-length: *(\d+)/i.exec(rest.slice(0, head))?.[1] ?? 0);
    if (rest.length < head + 4 + len) return null;
    out.push({ status, body: rest.slice(head + 4, head + 4 + len) });
    rest = rest.slice(head + 4 + len);
  }
  return out;
}

/**
 * Send raw bytes on a socket kept open (a half-close right away would make the server drop the request); when no
 * final answer has come after SEND_WAIT_MS, end our side (the body is all there is). Resolves with what came back
 * once a final answer is in or the daemon closed; after ANSWER_BOUND_MS more, with neither (a failure).
 */
function rawExchange(port: number, payload: Buffer): Promise<Exchange> {
  return new Promise((resolve) => {
    const chunks: Buffer[] = [];
    const socket = net.connect(port, '127.0.0.1');
    let settled = false;
    const done = (closed: boolean): void => {
      if (settled) return;
      settled = true;
      clearTimeout(endTimer);
      clearTimeout(giveUp);
      socket.destroy();
      resolve({ bytes: Buffer.concat(chunks), closed });
    };
    const endTimer = setTimeout(() => socket.end(), SEND_WAIT_MS);
    const giveUp = setTimeout(() => done(false), SEND_WAIT_MS + ANSWER_BOUND_MS);
    socket.on('connect', () => socket.write(payload));
    socket.on('data', (d: Buffer) => {
      chunks.push(d);
      const answers = completeAnswers(Buffer.concat(chunks).toString('latin1'));
      if (answers?.some((a) => a.status >= 200)) done(false);
    });
    socket.on('error', () => done(true));
    socket.on('close', () => done(true));
  });
}

/**
 * Check one exchange: a final answer whose body is JSON ({error, code} from 400 on; 101/204 have none), or a close.
 * Anything else (no answer and no close, a non-JSON body, leaked internals) is a problem.
 */
function checkExchange(x: Exchange, problems: string[], sent: string): void {
  const text = x.bytes.toString('latin1');
  const answers = completeAnswers(text) ?? [];
  const final = answers.filter((a) => a.status >= 200);
  if (final.length === 0) {
    if (!x.closed) problems.push(`neither an answer nor a close within ${ANSWER_BOUND_MS} ms for ${sent}`);
    else if (text.length > 0 && answers.length === 0) problems.push(`a partial answer, then a close, for ${sent}: ${JSON.stringify(text.slice(0, 80))}`);
    return;
  }
  for (const a of final) {
    if (a.status === 101 || a.status === 204) continue;
    try {
      const j = JSON.parse(a.body) as Record<string, unknown>;
      if (a.status >= 400 && (typeof j.error !== 'string' || typeof j.code !== 'string')) problems.push(`${a.status} without {error, code} for ${sent}: ${a.body.slice(0, 120)}`);
    } catch {
      problems.push(`${a.status} with a non-JSON body for ${sent}: ${JSON.stringify(a.body.slice(0, 80))}`);
    }
    // Errors only: a session listing rightly shows each session's cwd.
    if (a.status >= 400 && /\/work\/|node_modules|at \S+ \(/.test(a.body)) problems.push(`leaked internals for ${sent}: ${a.body.slice(0, 120)}`);
  }
}

/** A WebSocket client that keeps every frame it gets (parsed JSON, or a marker when not JSON) and its close. */
class WsClient {
  readonly frames: unknown[] = [];
  closed = false;
  private waiters: (() => void)[] = [];

  private constructor(readonly ws: WebSocket) {
    ws.on('message', (d: Buffer) => {
      try {
        this.frames.push(JSON.parse(d.toString('utf8')));
      } catch {
        this.frames.push({ notJson: d.toString('utf8').slice(0, 80) });
      }
      this.wake();
    });
    ws.on('close', () => {
      this.closed = true;
      this.wake();
    });
    ws.on('error', () => undefined); // a close follows; it is what the test looks at
  }

  static async open(url: string): Promise<WsClient> {
    const ws = new WebSocket(url);
    await new Promise<void>((resolve, reject) => {
      ws.once('open', () => resolve());
      ws.once('error', reject);
    });
    return new WsClient(ws);
  }

  private wake(): void {
    for (const w of this.waiters.splice(0)) w();
  }

  /** Wait until `done()` holds, or `ms` passed: returns whether it held. */
  async until(done: () => boolean, ms: number): Promise<boolean> {
    const deadline = Date.now() + ms;
    while (!done()) {
      const left = deadline - Date.now();
      if (left <= 0) return false;
      await new Promise<void>((resolve) => {
        const t = setTimeout(resolve, left);
        this.waiters.push(() => {
          clearTimeout(t);
          resolve();
        });
      });
    }
    return true;
  }
}

type Frame = { data: Buffer | string; binary: boolean };
const framesText = (f: Frame): string => (typeof f.data === 'string' ? f.data : f.data.toString('utf8'));
const isObj = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null;

/**
 * Bus (ack=1, subscribe=0): every event line is answered, with bus.ack or a JSON bus.error; a binary or empty frame
 * gets one bus.error. Each frame's answers must arrive within ANSWER_BOUND_MS.
 */
async function fuzzBus(port: number, frames: Frame[], problems: string[], deadline: number): Promise<number> {
  let ws = await WsClient.open(`ws://127.0.0.1:${port}/api/bus?ack=1&subscribe=0`);
  let sent = 0;
  for (const f of frames) {
    if (Date.now() > deadline) break;
    if (ws.closed) ws = await WsClient.open(`ws://127.0.0.1:${port}/api/bus?ack=1&subscribe=0`);
    const lines = f.binary ? 1 : Math.max(1, framesText(f).split('\n').filter((l) => l.trim()).length);
    const before = ws.frames.length;
    ws.ws.send(f.data, { binary: f.binary });
    sent++;
    const what = JSON.stringify(framesText(f).slice(0, 60));
    if (!(await ws.until(() => ws.closed || ws.frames.length >= before + lines, ANSWER_BOUND_MS))) {
      problems.push(`bus: ${ws.frames.length - before} of ${lines} answers within ${ANSWER_BOUND_MS} ms for ${what}`);
      continue;
    }
    for (const a of ws.frames.slice(before)) {
      const ok = isObj(a) && (a.kind === 'bus.ack' || (a.kind === 'bus.error' && typeof a.code === 'string' && typeof a.error === 'string'));
      if (!ok) problems.push(`bus: not an ack or a JSON error for ${what}: ${JSON.stringify(a).slice(0, 100)}`);
    }
  }
  ws.ws.terminate();
  return sent;
}

/**
 * Viewer and host link: a frame their protocol refuses must get an error frame or a close within ANSWER_BOUND_MS
 * (then a new connection takes the next frame); a valid one is taken without an answer.
 */
async function fuzzLink(port: number, route: string, isValid: (f: Frame) => boolean, frames: Frame[], problems: string[], deadline: number): Promise<number> {
  let ws = await WsClient.open(`ws://127.0.0.1:${port}${route}`);
  let sent = 0;
  for (const f of frames) {
    if (Date.now() > deadline) break;
    if (ws.closed) ws = await WsClient.open(`ws://127.0.0.1:${port}${route}`);
    const before = ws.frames.length;
    ws.ws.send(f.data, { binary: f.binary });
    sent++;
    if (isValid(f)) continue;
    const errorFrame = (): boolean => ws.frames.slice(before).some((m) => isObj(m) && m.type === 'error' && typeof m.code === 'string');
    if (!(await ws.until(() => ws.closed || errorFrame(), ANSWER_BOUND_MS))) {
      problems.push(`${route}: neither an error frame nor a close within ${ANSWER_BOUND_MS} ms for ${JSON.stringify(framesText(f).slice(0, 60))}`);
      ws.ws.terminate();
      ws = await WsClient.open(`ws://127.0.0.1:${port}${route}`);
    }
  }
  ws.ws.terminate();
  return sent;
}

/** A JSON request on loopback: status and parsed body. */
async function api(port: number, method: string, urlPath: string, body?: unknown): Promise<{ status: number; json: unknown }> {
  const res = await fetch(`http://127.0.0.1:${port}${urlPath}`, {
    method,
    headers: { 'content-type': 'application/json' },
    ...(body === undefined ? {} : { body: typeof body === 'string' ? body : JSON.stringify(body) }),
  });
  const text = await res.text();
  return { status: res.status, json: text ? (JSON.parse(text) as unknown) : null };
}

/** Fields that differ between two identical requests (ids, clocks; records carry 0.1.53's `id` too); everything else must stay the same. */
const VOLATILE = new Set(['id', 'handoff_id', 'thread_id', 'message_id', 'seq', 'ts', 'timestamp', 'created_at', 'updated_at', 'at', 'uptime_seconds', 'lastActivityAt', 'idleSeconds', 'delivered']);
function stable(v: unknown): unknown {
  if (Array.isArray(v)) return v.map(stable);
  if (!isObj(v)) return v;
  return Object.fromEntries(
    Object.keys(v)
      .sort()
      .map((k) => [k, VOLATILE.has(k) ? typeof v[k] : stable(v[k])]),
  );
}

/**
 * Answers that read optional fields a polluted Object.prototype would fill in (every body here leaves them out):
 * the daemon's view, not this process's. Compared before and after the pollution payloads and the fuzz.
 */
async function probeAnswers(port: number): Promise<unknown> {
  const thread = await api(port, 'POST', '/api/threads', { topic: 'probe' });
  const threadId = (thread.json as { thread_id: string }).thread_id;
  const handoff = await api(port, 'POST', '/api/handoff', { synthesis: { tasks: [] } });
  const handoffId = (handoff.json as { handoff_id: string }).handoff_id;
  const meta = (await api(port, 'GET', '/api/meta')).json;
  return stable({
    thread,
    threadRecord: await api(port, 'GET', `/api/threads/${threadId}`),
    handoff,
    handoffRecord: await api(port, 'GET', `/api/handoff/${handoffId}`),
    claim: await api(port, 'POST', `/api/handoff/${handoffId}/claim`, {}),
    publish: await api(port, 'POST', '/api/bus/publish', { kind: 'probe' }),
    multicast: await api(port, 'POST', '/api/sessions/multicast/inject', { session_ids: ['nobody'], prompt: 'x' }),
    spawn: await api(port, 'POST', '/api/sessions/spawn', {}),
    meta,
    health: await api(port, 'GET', '/api/health'),
  });
}

/** Keys a later request might read when left out of its body; the payload tries to plant them in Object.prototype. */
const PLANTED = { polluted: true, session_id: 'polluted', command: 'polluted', orchestrator_session_id: 'polluted', source_session_id: 'polluted', auto_execute: true, context: 'polluted', participant_session_ids: ['polluted'], agent_session_id: 'polluted', status: 'closed', kind: 'polluted', target: 'polluted', prompt: 'polluted', wait: true, isAdmin: true };
const POLLUTION = [
  `{"__proto__":${JSON.stringify(PLANTED)},"topic":"t","synthesis":{"tasks":[],"__proto__":${JSON.stringify(PLANTED)}},"kind":"proto"}`,
  `{"constructor":{"prototype":${JSON.stringify(PLANTED)}},"topic":"t","synthesis":{"tasks":[]},"kind":"proto"}`,
  `{"__proto__":{"__proto__":${JSON.stringify(PLANTED)}},"payload":{"__proto__":${JSON.stringify(PLANTED)}},"kind":"proto","session_ids":["nobody"],"prompt":"x"}`,
];
const BODY_ROUTES: [string, string][] = [
  ['POST', '/api/threads'],
  ['POST', '/api/handoff'],
  ['POST', '/api/bus/publish'],
  ['POST', '/api/sessions/multicast/inject'], // (not broadcast: it would type into the target session)
  ['POST', '/api/sessions/spawn'],
  ['POST', '/api/sessions/register'],
  ['PATCH', '/api/sessions/nobody'],
  ['POST', '/api/sessions/nobody/inject'],
];

describe('fuzz', () => {
  it('answers thousands of malformed requests and frames with JSON errors or a close, within bounds, and keeps working', async () => {
    const home = homes.newHome();
    const log = path.join(home, 'target.submissions');
    await runCli(home, ['spawn', '--id', 'target', '--env', `FIXTURE_LOG=${log}`, '--', process.execPath, path.join(ROOT, 'test', 'fixtures', 'claude-like.mjs')]);
    await waitFor('target ready', async () => (await runCli(home, ['read', 'target'])).stdout.includes('ready'));
    // Viewer frames are typing from a trusted local viewer: they go to a scratch session, not the target.
    await runCli(home, ['spawn', '--id', 'scratch', '--', process.execPath, path.join(ROOT, 'test', 'fixtures', 'claude-like.mjs')]);
    const live = await liveDaemon(home);
    const port = live?.record.port as number;
    const pid = live?.record.pid as number;
    const gen = generators(prng(SEED));
    const problems: string[] = [];
    const started = Date.now();

    // Prototype pollution, aimed at every body route and the bus: no later answer may change.
    const baseline = await probeAnswers(port);
    for (const payload of POLLUTION) {
      for (const [method, route] of BODY_ROUTES) {
        const r = await api(port, method, route, payload);
        if (r.status >= 500) problems.push(`${r.status} for a pollution payload on ${method} ${route}`);
      }
    }
    const bus = await WsClient.open(`ws://127.0.0.1:${port}/api/bus?ack=1&subscribe=0`);
    for (const payload of POLLUTION) bus.ws.send(payload);
    await bus.until(() => bus.frames.length >= POLLUTION.length, ANSWER_BOUND_MS);
    bus.ws.terminate();
    expect(await probeAnswers(port), 'answers after the pollution payloads').toEqual(baseline);

    let httpCases = 0;
    const httpDeadline = Date.now() + HTTP_BUDGET_MS;
    const worker = async (): Promise<void> => {
      while (httpCases < HTTP_CASES && Date.now() < httpDeadline) {
        httpCases++;
        const req = gen.request();
        checkExchange(await rawExchange(port, req), problems, JSON.stringify(req.subarray(0, 80).toString('latin1')));
      }
    };
    await Promise.all(Array.from({ length: IN_FLIGHT }, worker));

    const frames = Array.from({ length: WS_CASES }, () => gen.frame());
    const quarter = WS_CASES / 4;
    const wsDeadline = Date.now() + WS_BUDGET_MS;
    const viewerValid = (f: Frame): boolean => !f.binary && parseViewerMessage(framesText(f)) !== null;
    const hostValid = (f: Frame): boolean => {
      const m = f.binary ? null : parseHostMessage(framesText(f));
      return m !== null && isHostHello(m);
    };
    const [busSent, viewerSent, hostSent] = await Promise.all([
      fuzzBus(port, frames.slice(0, 2 * quarter), problems, wsDeadline),
      fuzzLink(port, '/api/sessions/scratch', viewerValid, frames.slice(2 * quarter, 3 * quarter), problems, wsDeadline),
      fuzzLink(port, '/api/host', hostValid, frames.slice(3 * quarter), problems, wsDeadline),
    ]);

    expect(problems, problems.slice(0, 10).join('\n')).toEqual([]);
    expect(httpCases).toBeGreaterThan(1_000);
    expect(busSent).toBeGreaterThan(100);
    expect(viewerSent).toBeGreaterThan(50);
    expect(hostSent).toBeGreaterThan(50);
    expect(Date.now() - started).toBeLessThan(15_000);
    expect(isAlive(pid)).toBe(true);
    expect((await liveDaemon(home))?.record.pid).toBe(pid);
    expect(await probeAnswers(port), 'answers after the fuzz').toEqual(baseline);

    const r = await runCli(home, ['inject', 'target', 'still standing after the fuzz', '--json']);
    expect(r.exitCode, r.stderr).toBe(0);
    expect(parseJson<{ status: string }>(r).status).toBe('submitted');
    // The fixture logs a little after the answer: wait until there is a submission (an empty list is no answer).
    const submitted = await waitFor('the prompt', async () => {
      const all = await readSubmissions(log);
      return all.length > 0 ? all : null;
    });
    expect(submitted.map((x) => x.text), JSON.stringify(submitted)).toEqual(['still standing after the fuzz']);
    const daemonLog = await fs.readFile(path.join(home, 'daemon.log'), 'utf8');
    expect(daemonLog).not.toMatch(/uncaught|unhandled/i);
  }, 120_000);
});
