import { promises as fs } from 'node:fs';
import net from 'node:net';
import path from 'node:path';
import WebSocket from 'ws';
import { describe, expect, it } from 'vitest';
import { parseJson, runCli } from '../helpers/cli.js';
import { liveDaemon, useHomes } from '../helpers/daemon.js';
import { ROOT, isAlive, waitFor } from '../helpers/env.js';

/**
 * Thousands of malformed requests and WebSocket frames, bounded in time: every HTTP answer is a JSON
 * {error, code} (or the socket is closed), the daemon never crashes, and a normal inject works afterwards.
 */
const homes = useHomes();
const TIME_BUDGET_MS = 20_000;
const HTTP_CASES = 2_500;
const WS_CASES = 1_000;
const IN_FLIGHT = 16;

/** Deterministic PRNG (mulberry32), so a failure can be replayed from its seed. */
function prng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

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

/** How long to wait for an answer (a request whose body is shorter than its Content-Length waits for more). */
const ANSWER_WAIT_MS = 400;

/**
 * Send raw bytes on a socket kept open (a half-close would make the server drop the request), and resolve with
 * what came back once a whole answer is in, or the server closed, or ANSWER_WAIT_MS passed.
 */
function rawExchange(port: number, payload: Buffer): Promise<Buffer> {
  return new Promise((resolve) => {
    const chunks: Buffer[] = [];
    const socket = net.connect(port, '127.0.0.1');
    const done = (): void => {
      clearTimeout(timer);
      socket.destroy();
      resolve(Buffer.concat(chunks));
    };
    const timer = setTimeout(done, ANSWER_WAIT_MS);
    socket.on('connect', () => socket.write(payload));
    socket.on('data', (d: Buffer) => {
      chunks.push(d);
      const text = Buffer.concat(chunks).toString('latin1');
      const head = text.indexOf('\r\n\r\n');
      const len = Number(/content-length: *(\d+)/i.exec(text.slice(0, head))?.[1] ?? NaN);
      if (head >= 0 && Number.isFinite(len) && text.length >= head + 4 + len) done();
    });
    socket.on('error', done);
    socket.on('close', done);
  });
}

/** Every HTTP answer in the bytes: status >= 400 must carry a JSON {error, code}. Returns how many answers. */
function checkAnswers(raw: Buffer, problems: string[], sent: string): number {
  const text = raw.toString('latin1');
  let count = 0;
  for (const m of text.matchAll(/HTTP\/1\.1 (\d{3})[^\r\n]*\r\n([\s\S]*?)\r\n\r\n/g)) {
    count++;
    const status = Number(m[1]);
    if (status < 400) continue;
    const len = Number(/content-length: *(\d+)/i.exec(m[2] ?? '')?.[1] ?? NaN);
    const start = (m.index ?? 0) + m[0].length;
    const body = text.slice(start, Number.isFinite(len) ? start + len : undefined);
    try {
      const j = JSON.parse(body) as Record<string, unknown>;
      if (typeof j.error !== 'string' || typeof j.code !== 'string') problems.push(`${status} without {error, code} for ${sent}: ${body.slice(0, 120)}`);
      if (/\/work\/|node_modules|at \S+ \(/.test(body)) problems.push(`leaked internals for ${sent}: ${body.slice(0, 120)}`);
    } catch {
      problems.push(`${status} with a non-JSON body for ${sent}: ${JSON.stringify(body.slice(0, 80))}`);
    }
  }
  return count;
}

describe('fuzz', () => {
  it('answers thousands of malformed requests and frames with JSON errors or a closed socket, and keeps working', async () => {
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
    const deadline = Date.now() + TIME_BUDGET_MS;

    let httpCases = 0;
    let answered = 0;
    const worker = async (): Promise<void> => {
      while (httpCases < HTTP_CASES && Date.now() < deadline) {
        httpCases++;
        const req = gen.request();
        const sent = JSON.stringify(req.subarray(0, 80).toString('latin1'));
        const got = await rawExchange(port, req);
        const n = checkAnswers(got, problems, sent);
        answered += n > 0 ? 1 : 0;
      }
    };
    await Promise.all(Array.from({ length: IN_FLIGHT }, worker));

    let wsCases = 0;
    for (const route of ['/api/bus?ack=1', '/api/host', '/api/sessions/scratch', '/api/bus?batch=1&since=0']) {
      const ws = new WebSocket(`ws://127.0.0.1:${port}${route}`);
      await new Promise<void>((r) => {
        ws.once('open', () => r());
        ws.once('error', () => r());
      });
      for (let i = 0; i < WS_CASES / 4 && ws.readyState === WebSocket.OPEN && Date.now() < deadline + 10_000; i++) {
        const f = gen.frame();
        ws.send(f.data, { binary: f.binary });
        wsCases++;
      }
      await new Promise((r) => setTimeout(r, 200));
      ws.terminate();
    }

    expect(problems, problems.slice(0, 10).join('\n')).toEqual([]);
    expect(httpCases + wsCases).toBeGreaterThan(2_000);
    expect(answered).toBeGreaterThan(httpCases / 2);
    expect(isAlive(pid)).toBe(true);
    expect((await liveDaemon(home))?.record.pid).toBe(pid);
    expect(({} as Record<string, unknown>).polluted).toBeUndefined();

    const r = await runCli(home, ['inject', 'target', 'still standing after the fuzz', '--json']);
    expect(r.exitCode, r.stderr).toBe(0);
    expect(parseJson<{ status: string }>(r).status).toBe('submitted');
    const submitted = await waitFor('the prompt', async () => (await fs.readFile(log, 'utf8').catch(() => '')).trim().split('\n').filter(Boolean));
    expect(submitted.map((l) => (JSON.parse(l) as { text: string }).text)).toEqual(['still standing after the fuzz']);
    const daemonLog = await fs.readFile(path.join(home, 'daemon.log'), 'utf8');
    expect(daemonLog).not.toMatch(/uncaught|unhandled/i);
  }, 120_000);
});
