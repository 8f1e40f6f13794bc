import http from 'node:http';
import net from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { DaemonClient } from '../../../src/client/daemon-client.js';
import type { DaemonHandle } from '../../../src/wire/discovery.js';
import type { DaemonRecord } from '../../../src/protocol/daemon-state.js';
import { DAEMON_NONCE_HEADER } from '../../../src/protocol/headers.js';
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
