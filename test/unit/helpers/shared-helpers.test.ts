import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { TeleptyError } from '../../../src/protocol/errors.js';
import { rawRequest, requestApi, requestBytes } from '../../helpers/api.js';
import { waitFor } from '../../helpers/env.js';
import { codeOf, codeOrNull } from '../../helpers/errors.js';

describe('codeOf and codeOrNull', () => {
  const throwsCode = (): never => {
    throw new TeleptyError('INVALID_FIELD', 'bad');
  };
  it('give the code of a TeleptyError thrown', () => {
    expect(codeOf(throwsCode)).toBe('INVALID_FIELD');
    expect(codeOrNull(throwsCode)).toBe('INVALID_FIELD');
  });
  it('codeOf fails when nothing is thrown, codeOrNull says null', () => {
    expect(() => codeOf(() => 1)).toThrow(/nothing was thrown/);
    expect(codeOrNull(() => 1)).toBeNull();
  });
  it('let any other error through', () => {
    const boom = (): never => {
      throw new RangeError('boom');
    };
    expect(() => codeOf(boom)).toThrow(RangeError);
    expect(() => codeOrNull(boom)).toThrow(RangeError);
  });
});

describe('waitFor', () => {
  it('returns the first value that is not null, undefined or false', async () => {
    let n = 0;
    expect(await waitFor('n to reach 3', () => (++n >= 3 ? n : false), 1_000, 1)).toBe(3);
  });
  it('says what it waited for, and the last error, when time runs out', async () => {
    await expect(
      waitFor('the moon', () => {
        throw new Error('not yet');
      }, 30, 5),
    ).rejects.toThrow(/timed out after 30 ms waiting for the moon: Error: not yet/);
  });
});

describe('raw requests', () => {
  let server: http.Server;
  let port = 0;
  const seen: { method?: string; url?: string; headers: http.IncomingHttpHeaders; body: string }[] = [];
  beforeAll(async () => {
    server = http.createServer((req, res) => {
      let body = '';
      req.on('data', (c: Buffer) => (body += c.toString()));
      req.on('end', () => {
        seen.push({ method: req.method, url: req.url, headers: req.headers, body });
        if (req.url === '/empty') {
          res.writeHead(204).end();
          return;
        }
        const answer = JSON.stringify({ echo: body });
        // With a length (as the daemon answers): requestBytes does not read a chunked body.
        res.writeHead(201, { 'x-mark': 'yes', 'content-type': 'application/json', 'content-length': Buffer.byteLength(answer) }).end(answer);
      });
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    port = (server.address() as AddressInfo).port;
  });
  afterAll(() => new Promise<void>((r) => server.close(() => r())));

  it('rawRequest sends exactly the headers and body given, and gives status, headers and JSON', async () => {
    const a = await rawRequest(port, 'POST', '/x', { body: '{"a":1}', headers: { 'content-type': 'text/plain' } });
    expect(a).toMatchObject({ status: 201, json: { echo: '{"a":1}' } });
    expect(a.headers['x-mark']).toBe('yes');
    expect(seen.at(-1)).toMatchObject({ method: 'POST', url: '/x', body: '{"a":1}', headers: { 'content-type': 'text/plain' } });
    const empty = await rawRequest(port, 'GET', '/empty');
    expect(empty).toMatchObject({ status: 204, json: {} });
    expect(seen.at(-1)?.headers['content-type']).toBeUndefined();
  });

  it('requestApi sends an object as JSON and gives status and JSON only', async () => {
    expect(await requestApi(port, 'PUT', '/y', { b: 2 })).toEqual({ status: 201, json: { echo: '{"b":2}' } });
    expect(seen.at(-1)?.headers['content-type']).toBe('application/json');
  });

  it('requestBytes writes the head as given, adding only Host and Connection: close', async () => {
    const a = await requestBytes(port, 'POST /z HTTP/1.1\r\nContent-Length: 2\r\n', '{}');
    expect(a).toEqual({ status: 201, json: { echo: '{}' } });
    expect(seen.at(-1)).toMatchObject({ method: 'POST', url: '/z', body: '{}' });
    expect(seen.at(-1)?.headers['content-type']).toBeUndefined();
    expect(seen.at(-1)?.headers.connection).toBe('close');
  });
});

describe('raw requests to something that does not answer JSON', () => {
  it('fail with the status instead of throwing out of an event handler', async () => {
    const server = http.createServer((_req, res) => res.writeHead(200, { 'content-length': 9 }).end('not json!'));
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    const port = (server.address() as AddressInfo).port;
    try {
      await expect(rawRequest(port, 'GET', '/')).rejects.toThrow(/HTTP 200 GET \/: the body is not JSON/);
      await expect(requestBytes(port, 'GET / HTTP/1.1\r\n')).rejects.toThrow(/HTTP 200: the body is not JSON/);
    } finally {
      await new Promise<void>((r) => server.close(() => r()));
    }
  });
});
