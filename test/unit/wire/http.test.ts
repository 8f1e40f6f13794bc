import http from 'node:http';
import net from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { parseAnswer, requestJson } from '../../../src/wire/http.js';
import { TeleptyError } from '../../../src/protocol/errors.js';

const servers: net.Server[] = [];
const sockets = new Set<net.Socket>();

async function listen(server: net.Server): Promise<number> {
  servers.push(server);
  server.on('connection', (s: net.Socket) => sockets.add(s));
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return (server.address() as net.AddressInfo).port;
}

afterEach(async () => {
  for (const s of sockets) s.destroy();
  sockets.clear();
  for (const s of servers.splice(0)) await new Promise((r) => s.close(r));
});

async function failure(p: Promise<unknown>): Promise<TeleptyError> {
  const err = await p.then(
    () => null,
    (e: unknown) => e,
  );
  expect(err).toBeInstanceOf(TeleptyError);
  return err as TeleptyError;
}

describe('the CLI request client (node:net)', () => {
  it('sends method, path, JSON body and token, and reads a JSON answer from a node:http server', async () => {
    let seen: { method?: string; url?: string; headers?: http.IncomingHttpHeaders; body?: string } = {};
    const port = await listen(
      http.createServer((req, res) => {
        let body = '';
        req.on('data', (c: Buffer) => (body += c.toString()));
        req.on('end', () => {
          seen = { method: req.method, url: req.url, headers: req.headers, body };
          res.writeHead(200, { 'content-type': 'application/json' });
          res.end(JSON.stringify({ ok: true, echo: JSON.parse(body) as unknown }));
        });
      }),
    );
    const answer = await requestJson<{ ok: boolean; echo: unknown }>({ host: '127.0.0.1', port, token: 't0k' }, { method: 'POST', path: '/api/x?y=1', body: { prompt: 'héllo ✓' } });
    expect(answer).toEqual({ ok: true, echo: { prompt: 'héllo ✓' } });
    expect(seen.method).toBe('POST');
    expect(seen.url).toBe('/api/x?y=1');
    expect(seen.headers?.['content-type']).toBe('application/json');
    expect(seen.headers?.['x-telepty-token']).toBe('t0k');
    expect(seen.headers?.host).toBe(`127.0.0.1:${port}`);
    expect(JSON.parse(seen.body ?? '')).toEqual({ prompt: 'héllo ✓' });
  });

  it('sends {} as the body of a POST without one (the daemon wants application/json on every POST)', async () => {
    let body = '';
    const port = await listen(
      http.createServer((req, res) => {
        req.on('data', (c: Buffer) => (body += c.toString()));
        req.on('end', () => res.end(JSON.stringify({ type: req.headers['content-type'] })));
      }),
    );
    expect(await requestJson({ host: '127.0.0.1', port }, { method: 'POST', path: '/' })).toEqual({ type: 'application/json' });
    expect(body).toBe('{}');
  });

  it('reads a large answer that arrives in many pieces, multi-byte characters split between them', async () => {
    const big = { text: '✓'.repeat(300_000) };
    const port = await listen(
      net.createServer((s) => {
        s.once('data', () => {
          const body = Buffer.from(JSON.stringify(big));
          s.write(`HTTP/1.1 200 OK\r\ncontent-length: ${body.length}\r\n\r\n`);
          // Odd-sized pieces cut through the three-byte characters.
          let at = 0;
          const next = (): void => {
            if (at >= body.length) return;
            s.write(body.subarray(at, at + 4097), next);
            at += 4097;
          };
          next();
        });
      }),
    );
    expect(await requestJson({ host: '127.0.0.1', port }, { path: '/' })).toEqual(big);
  });

  it('reads an answer without Content-Length up to the end of the connection', async () => {
    const port = await listen(net.createServer((s) => s.once('data', () => s.end('HTTP/1.0 200 OK\r\n\r\n{"closed":true}'))));
    expect(await requestJson({ host: '127.0.0.1', port }, { path: '/' })).toEqual({ closed: true });
  });

  it('turns {error, code} answers into typed errors', async () => {
    const port = await listen(http.createServer((_req, res) => res.writeHead(404, { 'content-type': 'application/json' }).end(JSON.stringify({ error: 'no session "x"', code: 'SESSION_NOT_FOUND' }))));
    const err = await failure(requestJson({ host: '127.0.0.1', port }, { path: '/api/sessions/x' }));
    expect(err.code).toBe('SESSION_NOT_FOUND');
    expect(err.message).toBe('no session "x"');
  });

  it('says PROTOCOL_MISMATCH for something that is not an HTTP JSON answer', async () => {
    const garbage = await listen(net.createServer((s) => s.once('data', () => s.end('SSH-2.0-OpenSSH_9.2\r\n'))));
    expect((await failure(requestJson({ host: '127.0.0.1', port: garbage }, { path: '/' }))).code).toBe('PROTOCOL_MISMATCH');
    const html = await listen(http.createServer((_req, res) => res.end('<html>hi</html>')));
    expect((await failure(requestJson({ host: '127.0.0.1', port: html }, { path: '/' }))).code).toBe('PROTOCOL_MISMATCH');
    const cut = await listen(net.createServer((s) => s.once('data', () => s.end('HTTP/1.1 200 OK\r\ncontent-length: 50\r\n\r\n{"short"'))));
    expect((await failure(requestJson({ host: '127.0.0.1', port: cut }, { path: '/' }))).code).toBe('PROTOCOL_MISMATCH');
  });

  it('says DAEMON_UNREACHABLE for a port nobody listens on, and TIMEOUT for a server that never answers', async () => {
    const closed = await listen(net.createServer());
    await new Promise((r) => servers.pop()?.close(r));
    expect((await failure(requestJson({ host: '127.0.0.1', port: closed }, { path: '/' }))).code).toBe('DAEMON_UNREACHABLE');
    const silent = await listen(net.createServer(() => undefined));
    const t0 = Date.now();
    expect((await failure(requestJson({ host: '127.0.0.1', port: silent }, { path: '/', timeoutMs: 200 }))).code).toBe('TIMEOUT');
    expect(Date.now() - t0).toBeLessThan(5_000);
  });
});

describe('parseAnswer', () => {
  const bytes = (s: string): Buffer => Buffer.from(s, 'latin1');

  it('waits for the whole head and the whole Content-Length body', () => {
    expect(parseAnswer(bytes('HTTP/1.1 200 OK\r\ncontent-le'), false)).toBe('partial');
    expect(parseAnswer(bytes('HTTP/1.1 200 OK\r\nContent-Length: 4\r\n\r\n{}'), false)).toBe('partial');
    expect(parseAnswer(bytes('HTTP/1.1 201 Created\r\nContent-Length: 2\r\nX-Telepty-Daemon-Nonce: abc\r\n\r\n{}'), false)).toEqual({
      status: 201,
      headers: { 'content-length': '2', 'x-telepty-daemon-nonce': 'abc' },
      text: '{}',
    });
  });

  it('refuses what is not an HTTP answer, or a body cut short', () => {
    expect(parseAnswer(bytes('hello\r\n\r\n'), false)).toBe('invalid');
    expect(parseAnswer(bytes('HTTP/1.1 200 OK\r\nContent-Length: 4\r\n\r\n{}'), true)).toBe('invalid');
    expect(parseAnswer(bytes('HTTP/1.1 200 OK\r\nContent-Length: -1\r\n\r\n'), false)).toBe('invalid');
    expect(parseAnswer(bytes('HTTP/1.1 200'), true)).toBe('invalid');
  });
});

describe('answers checked by a guard', () => {
  it('gives the body when the guard takes it, PROTOCOL_MISMATCH (marked wrong_shape) when not; error statuses keep their code', async () => {
    const answers: Record<string, [number, string]> = { '/good': [200, '{"n":1}'], '/bad': [200, '{"n":"one"}'], '/err': [404, '{"error":"gone","code":"SESSION_NOT_FOUND"}'] };
    const port = await listen(
      http.createServer((req, res) => {
        const [status, body] = answers[req.url ?? ''] ?? [500, '{}'];
        res.writeHead(status, { 'content-type': 'application/json' }).end(body);
      }),
    );
    const isN = (v: unknown): v is { n: number } => typeof v === 'object' && v !== null && typeof (v as { n?: unknown }).n === 'number';
    const good = await requestJson({ host: '127.0.0.1', port }, { path: '/good' }, isN);
    expect(good.n).toBe(1);
    const bad = await failure(requestJson({ host: '127.0.0.1', port }, { path: '/bad' }, isN));
    expect(bad.code).toBe('PROTOCOL_MISMATCH');
    expect(bad.details?.wrong_shape).toBe(true);
    expect(bad.message).toMatch(/GET \/bad/);
    expect((await failure(requestJson({ host: '127.0.0.1', port }, { path: '/err' }, isN))).code).toBe('SESSION_NOT_FOUND');
  });
});

describe('a request that never left', () => {
  it('says so (unsent) when nobody listens, so a caller may send it elsewhere without repeating anything', async () => {
    const server = net.createServer();
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
    const port = (server.address() as net.AddressInfo).port;
    await new Promise<void>((r) => server.close(() => r()));
    const err = await requestJson({ host: '127.0.0.1', port }, { path: '/api/health' }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(TeleptyError);
    expect(err).toMatchObject({ code: 'DAEMON_UNREACHABLE', details: { errno: 'ECONNREFUSED', unsent: true } });
  });

  it('is not unsent once the connection opened (a reset after that may have carried it out)', async () => {
    const server = net.createServer((s) => s.once('data', () => s.resetAndDestroy()));
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
    const port = (server.address() as net.AddressInfo).port;
    try {
      const err = await requestJson({ host: '127.0.0.1', port }, { path: '/api/health' }).catch((e: unknown) => e);
      expect(err).toMatchObject({ code: 'DAEMON_UNREACHABLE', details: { dropped: true } });
      expect((err as TeleptyError).details?.unsent).toBeUndefined();
    } finally {
      await new Promise<void>((r) => server.close(() => r()));
    }
  });
});
