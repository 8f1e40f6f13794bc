import http from 'node:http';
import net from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { DaemonClient } from '../../../src/client/daemon-client.js';
import type { DaemonHandle } from '../../../src/wire/discovery.js';
import type { DaemonRecord } from '../../../src/protocol/daemon-state.js';
import { DAEMON_NONCE_HEADER } from '../../../src/protocol/headers.js';
import { isTeleptyError } from '../../../src/protocol/errors.js';
import { getSessionOp, healthOp, injectOp, killSessionOp, listSessionsOp } from '../../../src/protocol/operations.js';
import type { TeleptyConfig } from '../../../src/util/config.js';

const servers: http.Server[] = [];
afterEach(async () => {
  for (const s of servers.splice(0)) {
    s.closeAllConnections();
    await new Promise((r) => s.close(r));
  }
});

interface FakeDaemon {
  port: number;
  /** Requests to /api/do, in order, with the nonce header they carried. */
  done: (string | undefined)[];
  metaProbes: number;
}

/**
 * A stand-in daemon on loopback. `checks`: a daemon of this version (refuses another nonce with 412, echoes its own);
 * `old`: one from before nonce checks (ignores the header); `other`: not telepty at all (no meta).
 */
async function fakeDaemon(kind: 'checks' | 'old' | 'other', nonce: string, pid: number): Promise<FakeDaemon> {
  const state: FakeDaemon = { port: 0, done: [], metaProbes: 0 };
  const server = http.createServer((req, res) => {
    const asked = req.headers[DAEMON_NONCE_HEADER] as string | undefined;
    const json = (status: number, body: unknown, headers: Record<string, string> = {}): void => {
      res.writeHead(status, { 'content-type': 'application/json', ...headers }).end(JSON.stringify(body));
    };
    if (kind === 'other') return json(404, { message: 'nothing here' });
    if (kind === 'checks' && asked !== undefined && asked !== nonce) return json(412, { error: 'not me', code: 'DAEMON_MISMATCH' });
    const proof: Record<string, string> = kind === 'checks' && asked === nonce ? { [DAEMON_NONCE_HEADER]: nonce } : {};
    if (req.url === '/api/meta') {
      state.metaProbes++;
      return json(200, { name: 'telepty', version: '0', pid, host: '127.0.0.1', port: state.port, machine_id: 'm', started_at: '', uptime_seconds: 0, nonce, capabilities: [] }, proof);
    }
    state.done.push(asked);
    return json(200, { did: 'it', by: nonce }, proof);
  });
  servers.push(server);
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  state.port = (server.address() as net.AddressInfo).port;
  return state;
}

function record(port: number, nonce: string, pid: number): DaemonRecord {
  return { state_version: 1, pid, host: '127.0.0.1', port, version: '0', started_at: '', nonce };
}

/** A client for the daemon a state file names, with a rediscovery that says whether it ran. */
function claimedClient(port: number, nonce: string, pid: number, rediscovered: DaemonHandle | null): { client: DaemonClient; rediscoveries: () => number } {
  let n = 0;
  const client = new DaemonClient({ endpoint: { host: '127.0.0.1', port }, record: record(port, nonce, pid) }, {} as TeleptyConfig, async () => {
    n++;
    if (!rediscovered) throw new Error('rediscovery was not expected');
    return rediscovered;
  });
  return { client, rediscoveries: () => n };
}

const verified = (port: number, nonce: string, pid: number): DaemonHandle => ({ endpoint: { host: '127.0.0.1', port }, meta: {} as DaemonHandle['meta'], record: record(port, nonce, pid) });

describe('a client of the daemon named by the state file', () => {
  it('sends the request at once with the recorded nonce, and takes the answer that echoes it (no probe first)', async () => {
    const d = await fakeDaemon('checks', 'n-live', 101);
    const { client, rediscoveries } = claimedClient(d.port, 'n-live', 101, null);
    expect(await client.request({ method: 'POST', path: '/api/do' })).toEqual({ did: 'it', by: 'n-live' });
    expect(d.done).toEqual(['n-live']);
    expect(d.metaProbes).toBe(0);
    expect(rediscoveries()).toBe(0);
  });

  it('finds the daemon again when nobody listens at the recorded address, and sends the request there once', async () => {
    const closed = await fakeDaemon('checks', 'n-dead', 102);
    const deadPort = closed.port;
    const s = servers.pop() as http.Server;
    await new Promise((r) => s.close(r));
    const fresh = await fakeDaemon('checks', 'n-new', 103);
    const { client, rediscoveries } = claimedClient(deadPort, 'n-dead', 102, verified(fresh.port, 'n-new', 103));
    expect(await client.request({ method: 'POST', path: '/api/do' })).toEqual({ did: 'it', by: 'n-new' });
    expect(rediscoveries()).toBe(1);
    expect(fresh.done).toEqual([undefined]);
  });

  it('never has a request carried out by another daemon that took the address: it refuses, the right one gets it', async () => {
    const impostor = await fakeDaemon('checks', 'n-other-home', 104);
    const right = await fakeDaemon('checks', 'n-right', 105);
    const { client, rediscoveries } = claimedClient(impostor.port, 'n-mine', 106, verified(right.port, 'n-right', 105));
    expect(await client.request({ method: 'POST', path: '/api/do' })).toEqual({ did: 'it', by: 'n-right' });
    expect(impostor.done).toEqual([]);
    expect(right.done).toEqual([undefined]);
    expect(rediscoveries()).toBe(1);
  });

  it('keeps the answer of a daemon from before nonce checks once a probe proves it is the one named (no second send)', async () => {
    const old = await fakeDaemon('old', 'n-old', 107);
    const { client, rediscoveries } = claimedClient(old.port, 'n-old', 107, null);
    expect(await client.request({ method: 'POST', path: '/api/do' })).toEqual({ did: 'it', by: 'n-old' });
    expect(old.done).toHaveLength(1);
    expect(old.metaProbes).toBe(1);
    expect(rediscoveries()).toBe(0);
  });

  it('sends the request to the real daemon when the program at the recorded address is not telepty', async () => {
    const other = await fakeDaemon('other', 'x', 108);
    const right = await fakeDaemon('checks', 'n-right', 109);
    const { client, rediscoveries } = claimedClient(other.port, 'n-gone', 110, verified(right.port, 'n-right', 109));
    expect(await client.request({ method: 'POST', path: '/api/do' })).toEqual({ did: 'it', by: 'n-right' });
    expect(right.done).toHaveLength(1);
    expect(rediscoveries()).toBe(1);
  });

  it('proves the daemon by probe before a caller needs its meta or a WebSocket', async () => {
    const d = await fakeDaemon('checks', 'n-live', 111);
    const { client, rediscoveries } = claimedClient(d.port, 'n-live', 111, null);
    const handle = await client.handle();
    expect(handle.meta.nonce).toBe('n-live');
    expect(handle.endpoint.port).toBe(d.port);
    expect(rediscoveries()).toBe(0);
  });
});

/** A server that reads a whole request, then closes the connection without a byte (or resets it): a daemon dying mid-request. */
async function droppingServer(how: 'close' | 'reset'): Promise<{ port: number; bodies: string[] }> {
  const state = { port: 0, bodies: [] as string[] };
  const server = net.createServer((s) => {
    let got = '';
    s.on('data', (c: Buffer) => {
      got += c.toString();
      const end = got.indexOf('\r\n\r\n');
      const length = /content-length: (\d+)/i.exec(got);
      if (end < 0 || (length && got.length < end + 4 + Number(length[1]))) return;
      state.bodies.push(got.slice(end + 4));
      if (how === 'reset') s.resetAndDestroy();
      else s.end();
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  state.port = (server.address() as net.AddressInfo).port;
  droppers.push(server);
  return state;
}
const droppers: net.Server[] = [];
afterEach(async () => {
  for (const s of droppers.splice(0)) await new Promise((r) => s.close(r));
});

describe('a request whose connection dropped after it was sent', () => {
  for (const how of ['close', 'reset'] as const) {
    it(`(${how}) is sent again, with the same body, only when it is idempotent; the answer is the new daemon's`, async () => {
      const dying = await droppingServer(how);
      const next = await fakeDaemon('checks', 'n-next', 301);
      const { client, rediscoveries } = claimedClient(dying.port, 'n-dying', 300, verified(next.port, 'n-next', 301));
      const body = { prompt: 'once', inject_id: 'fixed-id' };
      expect(await client.request({ method: 'POST', path: '/api/do', body, idempotent: true })).toEqual({ did: 'it', by: 'n-next' });
      expect(dying.bodies.map((b) => JSON.parse(b) as unknown)).toEqual([body]);
      expect(next.done).toHaveLength(1);
      expect(rediscoveries()).toBe(1);
    });

    it(`(${how}) is not sent again when it carries no id, and says it may have been carried out`, async () => {
      const dying = await droppingServer(how);
      const { client, rediscoveries } = claimedClient(dying.port, 'n-dying', 300, null);
      const err = await client.request({ method: 'POST', path: '/api/do' }).then(
        () => null,
        (e: unknown) => e as Error,
      );
      expect(err?.message).toMatch(/may have been carried out.*not sent again/);
      expect(dying.bodies).toHaveLength(1);
      expect(rediscoveries()).toBe(0);
    });
  }

  it('marks the repeat (x-telepty-repeat), so a daemon can wait for the first try\'s session host', async () => {
    const dying = await droppingServer('close');
    const seen: (string | undefined)[] = [];
    const next = http.createServer((req, res) => {
      seen.push(req.headers['x-telepty-repeat'] as string | undefined);
      res.writeHead(201, { 'content-type': 'application/json' }).end('{"session_id":"s"}');
    });
    servers.push(next);
    await new Promise<void>((r) => next.listen(0, '127.0.0.1', r));
    const port = (next.address() as net.AddressInfo).port;
    const { client } = claimedClient(dying.port, 'n-dying', 300, verified(port, 'n-next', 301));
    expect(await client.request({ method: 'POST', path: '/api/sessions/spawn', body: { request_id: 'r1' }, idempotent: true })).toEqual({ session_id: 's' });
    expect(seen).toEqual(['1']);
  });

  it('lets the caller read an error of the repeat as the first try\'s success (a kill that already killed)', async () => {
    const dying = await droppingServer('close');
    const gone = http.createServer((_req, res) => res.writeHead(404, { 'content-type': 'application/json' }).end(JSON.stringify({ error: 'no such session', code: 'SESSION_NOT_FOUND' })));
    servers.push(gone);
    await new Promise<void>((r) => gone.listen(0, '127.0.0.1', r));
    const port = (gone.address() as net.AddressInfo).port;
    const { client } = claimedClient(dying.port, 'n-dying', 300, verified(port, 'n-next', 301));
    const r = await client.request<{ killed: boolean }>({ method: 'DELETE', path: '/api/sessions/x', idempotent: true }, async (e) => (e.code === 'SESSION_NOT_FOUND' ? { killed: true } : null));
    expect(r).toEqual({ killed: true });
  });
});

/** A daemon stand-in that records each request (method, URL, body, headers) and answers what `answer` says. */
async function contractServer(answer: (req: { method: string; url: string; body: string }) => { status: number; body: string }): Promise<{ port: number; seen: { method: string; url: string; body: string; repeat: string | undefined }[] }> {
  const state = { port: 0, seen: [] as { method: string; url: string; body: string; repeat: string | undefined }[] };
  const server = http.createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const seen = { method: req.method ?? '', url: req.url ?? '', body: Buffer.concat(chunks).toString('utf8'), repeat: req.headers['x-telepty-repeat'] as string | undefined };
      state.seen.push(seen);
      const a = answer(seen);
      res.writeHead(a.status, { 'content-type': 'application/json' }).end(a.body);
    });
  });
  servers.push(server);
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  state.port = (server.address() as net.AddressInfo).port;
  return state;
}

function verifiedClient(port: number): DaemonClient {
  return new DaemonClient(verified(port, 'n', 1), {} as TeleptyConfig, async () => {
    throw new Error('rediscovery was not expected');
  });
}

async function codeOfCall(p: Promise<unknown>): Promise<string | null> {
  return p.then(
    () => null,
    (e: unknown) => (isTeleptyError(e) ? e.code : String(e)),
  );
}

describe('DaemonClient.call: one operation of the contract', () => {
  const injected = { success: true, inject_id: 'i-1', session_id: 'a b', status: 'submitted', written_at: 't', submitted_at: 't' };

  it('sends the operation\'s method, its path with the params encoded, its query and body, and gives the checked answer', async () => {
    const d = await contractServer((req) => (req.url.endsWith('/inject') ? { status: 200, body: JSON.stringify(injected) } : { status: 200, body: JSON.stringify({ success: true, id: 'a b', status: 'killed', exit_code: 0 }) }));
    const client = verifiedClient(d.port);
    const answer = await client.call(injectOp, { params: { id: 'a b' }, body: { prompt: 'hi', inject_id: 'i-1' } });
    expect(answer.status).toBe('submitted');
    expect(await client.call(killSessionOp, { params: { id: 'a b' }, query: { wait: true } })).toMatchObject({ status: 'killed' });
    expect(d.seen.map((s) => `${s.method} ${s.url}`)).toEqual(['POST /api/sessions/a%20b/inject', 'DELETE /api/sessions/a%20b?wait=1']);
    expect(JSON.parse(d.seen[0]?.body ?? '')).toEqual({ prompt: 'hi', inject_id: 'i-1' });
  });

  it('refuses an answer of another shape as PROTOCOL_MISMATCH, naming the operation', async () => {
    const d = await contractServer(() => ({ status: 200, body: JSON.stringify({ success: true, inject_id: 'i', status: 'lost' }) }));
    const client = verifiedClient(d.port);
    const err = await client.call(injectOp, { params: { id: 's' }, body: { prompt: 'hi' } }).then(
      () => null,
      (e: unknown) => e,
    );
    expect(isTeleptyError(err) && err.code).toBe('PROTOCOL_MISMATCH');
    expect(err instanceof Error && err.message).toMatch(/inject \(POST \/api\/sessions\/:id\/inject\)/);
    const list = await contractServer(() => ({ status: 200, body: JSON.stringify({ sessions: [] }) }));
    expect(await codeOfCall(verifiedClient(list.port).call(listSessionsOp))).toBe('PROTOCOL_MISMATCH');
    const notJson = await contractServer(() => ({ status: 200, body: 'ok' }));
    expect(await codeOfCall(verifiedClient(notJson.port).call(healthOp))).toBe('PROTOCOL_MISMATCH');
  });

  it('keeps an error answer\'s code (the guard checks only successes)', async () => {
    const d = await contractServer(() => ({ status: 404, body: JSON.stringify({ error: 'no session x', code: 'SESSION_NOT_FOUND' }) }));
    expect(await codeOfCall(verifiedClient(d.port).call(getSessionOp, { params: { id: 'x' } }))).toBe('SESSION_NOT_FOUND');
  });

  it('repeats an idempotent call after a dropped connection and checks the repeat\'s answer too', async () => {
    const dying = await droppingServer('close');
    const next = await contractServer(() => ({ status: 200, body: JSON.stringify(injected) }));
    const { client } = claimedClient(dying.port, 'n-dying', 300, verified(next.port, 'n-next', 301));
    expect(await client.call(injectOp, { params: { id: 'a b' }, body: { prompt: 'once', inject_id: 'i-1' }, idempotent: true })).toEqual(injected);
    expect(next.seen.map((s) => s.repeat)).toEqual(['1']);
    const dying2 = await droppingServer('close');
    const wrong = await contractServer(() => ({ status: 200, body: '{"nothing":1}' }));
    const second = claimedClient(dying2.port, 'n-dying', 300, verified(wrong.port, 'n-next', 301));
    expect(await codeOfCall(second.client.call(injectOp, { params: { id: 's' }, body: { prompt: 'once', inject_id: 'i-2' }, idempotent: true }))).toBe('PROTOCOL_MISMATCH');
  });

  it('lets onRetryError turn an error of a repeat into the answer', async () => {
    const dying = await droppingServer('close');
    const gone = await contractServer(() => ({ status: 404, body: JSON.stringify({ error: 'no such session', code: 'SESSION_NOT_FOUND' }) }));
    const { client } = claimedClient(dying.port, 'n-dying', 300, verified(gone.port, 'n-next', 301));
    const r = await client.call(killSessionOp, {
      params: { id: 'x' },
      query: { wait: true },
      idempotent: true,
      onRetryError: async (e) => (e.code === 'SESSION_NOT_FOUND' ? { success: true, id: 'x', status: 'killed', exit_code: null } : null),
    });
    expect(r).toEqual({ success: true, id: 'x', status: 'killed', exit_code: null });
  });
});
