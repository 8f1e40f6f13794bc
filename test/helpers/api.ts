import http from 'node:http';
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

/** One plain HTTP request to the daemon on loopback (a string or Buffer body is sent as is, anything else as JSON). */
export function requestApi(port: number, method: string, urlPath: string, body?: unknown, contentType = 'application/json'): Promise<ApiAnswer> {
  const payload = body === undefined ? undefined : typeof body === 'string' || Buffer.isBuffer(body) ? body : JSON.stringify(body);
  return new Promise((resolve, reject) => {
    const req = http.request({ host: '127.0.0.1', port, method, path: urlPath, headers: payload === undefined ? {} : { 'content-type': contentType } }, (res) => {
      let text = '';
      res.on('data', (c: Buffer) => (text += c.toString()));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, json: JSON.parse(text) as Record<string, unknown> }));
    });
    req.on('error', reject);
    req.end(payload);
  });
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
