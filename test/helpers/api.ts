import http from 'node:http';
import net from 'node:net';
import WebSocket from 'ws';
import type { BusEvent } from '../../src/protocol/bus.js';
import { liveDaemon } from './daemon.js';

/** The port of the daemon serving `home` (verified by nonce); throws when none runs. */
export async function daemonPort(home: string): Promise<number> {
  const live = await liveDaemon(home);
  if (!live) throw new Error(`no daemon serves ${home}`);
  return live.record.port;
}

export interface ApiAnswer {
  status: number;
  json: Record<string, unknown>;
}

export interface RawAnswer extends ApiAnswer {
  headers: http.IncomingHttpHeaders;
}

/**
 * A raw HTTP request to loopback `port` with exactly these headers and body (no client conveniences, so malformed
 * input reaches the daemon as sent). The body is parsed as JSON; an empty body reads as `{}`.
 */
export function rawRequest(port: number, method: string, urlPath: string, opts: { body?: Buffer | string; headers?: Record<string, string> } = {}): Promise<RawAnswer> {
  return new Promise((resolve, reject) => {
    const req = http.request({ host: '127.0.0.1', port, method, path: urlPath, headers: opts.headers ?? {} }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => {
        const text = Buffer.concat(chunks).toString('utf8');
        try {
          resolve({ status: res.statusCode ?? 0, headers: res.headers, json: text ? (JSON.parse(text) as Record<string, unknown>) : {} });
        } catch (err) {
          reject(new Error(`HTTP ${res.statusCode ?? 0} ${method} ${urlPath}: the body is not JSON: ${(err as Error).message}`));
        }
      });
    });
    req.on('error', reject);
    req.end(opts.body);
  });
}

/**
 * A request written byte for byte on a TCP socket: `head` is the request line and headers (each ending in CRLF);
 * only `Host` and `Connection: close` are added (no Content-Length, no Content-Type unless in `head`).
 */
export function requestBytes(port: number, head: string, body = ''): Promise<ApiAnswer> {
  return new Promise((resolve, reject) => {
    const sock = net.connect(port, '127.0.0.1', () => sock.write(`${head}Host: 127.0.0.1:${port}\r\nConnection: close\r\n\r\n${body}`));
    let text = '';
    sock.on('data', (d: Buffer) => (text += d.toString()));
    sock.on('error', reject);
    sock.on('end', () => {
      const status = Number(/^HTTP\/1\.1 (\d+)/.exec(text)?.[1] ?? 0);
      const answer = text.slice(text.indexOf('\r\n\r\n') + 4);
      try {
        resolve({ status, json: JSON.parse(answer) as Record<string, unknown> });
      } catch (err) {
        reject(new Error(`HTTP ${status}: the body is not JSON (a chunked answer is not read here): ${(err as Error).message}`));
      }
    });
  });
}

/** One plain HTTP request to the daemon on loopback (a string or Buffer body is sent as is, anything else as JSON). */
export async function requestApi(port: number, method: string, urlPath: string, body?: unknown, contentType = 'application/json'): Promise<ApiAnswer> {
  const payload = body === undefined ? undefined : typeof body === 'string' || Buffer.isBuffer(body) ? body : JSON.stringify(body);
  const r = await rawRequest(port, method, urlPath, payload === undefined ? {} : { body: payload, headers: { 'content-type': contentType } });
  return { status: r.status, json: r.json };
}

export function postApi(port: number, urlPath: string, body: unknown, contentType = 'application/json'): Promise<ApiAnswer> {
  return requestApi(port, 'POST', urlPath, body, contentType);
}

export interface BusWatch {
  ws: WebSocket;
  /** Every event received so far (NDJSON batches or one per frame). */
  events: BusEvent[];
  open: Promise<void>;
}

/** A raw bus subscriber that collects events; `query` starts with `?` (or is empty). */
export function subscribeBus(port: number, query: string): BusWatch {
  const ws = new WebSocket(`ws://127.0.0.1:${port}/api/bus${query}`);
  const events: BusEvent[] = [];
  ws.on('message', (d: Buffer) => {
    for (const line of d.toString().split('\n').filter(Boolean)) events.push(JSON.parse(line) as BusEvent);
  });
  return { ws, events, open: new Promise((r) => ws.once('open', () => r())) };
}
