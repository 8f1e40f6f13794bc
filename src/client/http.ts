import http from 'node:http';
import { TeleptyError, isErrorBody } from '../protocol/errors.js';
import { TOKEN_HEADER } from '../protocol/headers.js';

export interface Endpoint {
  host: string;
  port: number;
  token?: string | undefined;
}

export interface JsonRequest {
  method?: 'GET' | 'POST' | 'PATCH' | 'DELETE';
  path: string;
  body?: unknown;
  /** Whole request bound, from connect to the last byte of the answer. */
  timeoutMs?: number;
  agent?: http.Agent;
}

/** A plain request needs no more than this unless the caller says (waits for injects pass their own). */
export const DEFAULT_REQUEST_TIMEOUT_MS = 10_000;

export function formatHost(host: string): string {
  return host.includes(':') && !host.startsWith('[') ? `[${host}]` : host;
}

/**
 * One JSON request over node:http (cheaper to load than fetch/undici: CLI start time matters).
 * Error answers `{error, code}` become TeleptyError; a daemon that cannot be reached is DAEMON_UNREACHABLE.
 */
export function requestJson<T>(endpoint: Endpoint, req: JsonRequest): Promise<T> {
  const method = req.method ?? 'GET';
  // The daemon requires Content-Type: application/json on every POST/PATCH (browser form defence): send `{}`.
  const body = req.body ?? (method === 'POST' || method === 'PATCH' ? {} : undefined);
  const payload = body === undefined ? undefined : Buffer.from(JSON.stringify(body));
  const headers: http.OutgoingHttpHeaders = { accept: 'application/json' };
  if (payload) {
    headers['content-type'] = 'application/json';
    headers['content-length'] = payload.length;
  }
  if (endpoint.token) headers[TOKEN_HEADER] = endpoint.token;
  const timeoutMs = req.timeoutMs ?? DEFAULT_REQUEST_TIMEOUT_MS;

  return new Promise<T>((resolve, reject) => {
    const r = http.request(
      { host: endpoint.host, port: endpoint.port, method, path: req.path, headers, agent: req.agent },
      (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('error', reject);
        res.on('end', () => {
          clearTimeout(timer);
          const text = Buffer.concat(chunks).toString('utf8');
          let parsed: unknown;
          try {
            parsed = text.length > 0 ? JSON.parse(text) : undefined;
          } catch (err) {
            reject(new TeleptyError('PROTOCOL_MISMATCH', `the daemon answered ${res.statusCode} with non-JSON text`, { cause_text: String(err) }));
            return;
          }
          const status = res.statusCode ?? 0;
          if (status >= 400) {
            reject(isErrorBody(parsed) ? TeleptyError.fromBody(parsed) : new TeleptyError('INTERNAL', `the daemon answered ${status}`));
            return;
          }
          resolve(parsed as T);
        });
      },
    );
    const timer = setTimeout(() => {
      r.destroy(new TeleptyError('TIMEOUT', `no answer from the daemon at ${formatHost(endpoint.host)}:${endpoint.port} within ${timeoutMs} ms`));
    }, timeoutMs);
    r.on('error', (err: NodeJS.ErrnoException) => {
      clearTimeout(timer);
      if (err instanceof TeleptyError) reject(err);
      else if (err.code === 'ECONNREFUSED' || err.code === 'ECONNRESET' || err.code === 'EHOSTUNREACH' || err.code === 'ENOTFOUND') {
        reject(new TeleptyError('DAEMON_UNREACHABLE', `cannot reach the daemon at ${formatHost(endpoint.host)}:${endpoint.port} (${err.code})`));
      } else reject(err);
    });
    r.end(payload);
  });
}
