import net from 'node:net';
import { TeleptyError, isErrorBody, isTeleptyError } from '../protocol/errors.js';
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
  /**
   * Sending it twice does what sending it once does (a GET, or a request carrying an id the daemon or host
   * remembers: inject_id, request_id). Only such a request is sent again when the connection dropped after it
   * was sent (the daemon may have carried it out before it died).
   */
  idempotent?: boolean;
  /** Extra header fields (names lower case). */
  headers?: Record<string, string>;
}

/** The connection ended (empty close or reset) after the whole request was sent and before any answer byte. */
export function isDropped(err: unknown): boolean {
  return isTeleptyError(err) && err.details?.dropped === true;
}

/** A plain request needs no more than this unless the caller says (waits for injects pass their own). */
export const DEFAULT_REQUEST_TIMEOUT_MS = 10_000;

/** An answer larger than this is not one of the daemon's (its largest, a scrollback read, is a few MiB). */
const MAX_ANSWER_BYTES = 64 * 1024 * 1024;

export function formatHost(host: string): string {
  return host.includes(':') && !host.startsWith('[') ? `[${host}]` : host;
}

/** `http://host:port` of an endpoint (an IPv6 host in brackets): where a local program or browser reaches it. */
export function httpBase(ep: { host: string; port: number }): string {
  return `http://${formatHost(ep.host)}:${ep.port}`;
}

const NETWORK_CODES = new Set(['ECONNREFUSED', 'ECONNRESET', 'EHOSTUNREACH', 'ENETUNREACH', 'ENOTFOUND', 'EADDRNOTAVAIL']);

/** A JSON answer as it came: status, header fields (names lowercased) and the parsed body. */
export interface JsonAnswer {
  status: number;
  headers: Record<string, string>;
  body: unknown;
}

/**
 * One JSON request to the daemon, spoken over node:net. A CLI does one or two requests per run, and node:http
 * (agent, parser, outgoing/incoming streams) costs a CLI start ~10 ms of CPU to load and warm up, a tenth of
 * `telepty inject`. The request is HTTP/1.0 (one request per connection), so the answer is never chunked: it is
 * Content-Length-delimited (the daemon always sends one) or ends with the connection.
 * A daemon that cannot be reached is DAEMON_UNREACHABLE (details.errno says why); an answer that is not HTTP
 * with a JSON body is PROTOCOL_MISMATCH (nothing a telepty daemon sends: callers take it as "not the daemon"); one
 * over 64 MiB is PAYLOAD_TOO_LARGE. Error statuses are left to the caller (see resultOf).
 */
export function exchangeJson(endpoint: Endpoint, req: JsonRequest, extraHeaders: Record<string, string> = {}): Promise<JsonAnswer> {
  const method = req.method ?? 'GET';
  // The daemon requires Content-Type: application/json on every POST/PATCH (browser form defence): send `{}`.
  const body = req.body ?? (method === 'POST' || method === 'PATCH' ? {} : undefined);
  const payload = body === undefined ? undefined : Buffer.from(JSON.stringify(body));
  const where = `${formatHost(endpoint.host)}:${endpoint.port}`;
  const lines = [`${method} ${req.path} HTTP/1.0`, `host: ${where}`, 'accept: application/json', 'connection: close'];
  if (payload) lines.push('content-type: application/json', `content-length: ${payload.length}`);
  if (endpoint.token) lines.push(`${TOKEN_HEADER}: ${endpoint.token}`);
  for (const [name, value] of Object.entries({ ...req.headers, ...extraHeaders })) lines.push(`${name}: ${value}`);
  const head = Buffer.from(`${lines.join('\r\n')}\r\n\r\n`, 'latin1');
  const timeoutMs = req.timeoutMs ?? DEFAULT_REQUEST_TIMEOUT_MS;

  return new Promise<JsonAnswer>((resolve, reject) => {
    const chunks: Buffer[] = [];
    let received = 0;
    let settled = false;
    /**
     * The request was handed to the connection: from here a lost connection may mean the daemon acted on it (its
     * bytes may have reached the daemon before the write completed here; only a refused connect proves nothing did).
     */
    let sent = false;
    const socket = net.connect({ host: endpoint.host, port: endpoint.port });
    const end = (): boolean => {
      if (settled) return false;
      settled = true;
      clearTimeout(timer);
      socket.destroy();
      return true;
    };
    const finish = (err: Error): void => {
      if (end()) reject(err);
    };
    const answered = (value: JsonAnswer): void => {
      if (end()) resolve(value);
    };
    const timer = setTimeout(() => finish(new TeleptyError('TIMEOUT', `no answer from the daemon at ${where} within ${timeoutMs} ms`)), timeoutMs);
    socket.on('connect', () => {
      sent = true;
      socket.write(payload ? Buffer.concat([head, payload]) : head);
    });
    socket.on('data', (c: Buffer) => {
      chunks.push(c);
      received += c.length;
      if (received > MAX_ANSWER_BYTES) {
        finish(new TeleptyError('PAYLOAD_TOO_LARGE', `the answer from ${where} is larger than ${MAX_ANSWER_BYTES} bytes`));
        return;
      }
      settle(parseAnswer(Buffer.concat(chunks, received), false));
    });
    socket.on('end', () => {
      if (received === 0 && sent) {
        finish(new TeleptyError('PROTOCOL_MISMATCH', `${where} closed the connection without answering (the daemon may have stopped); the request may have been carried out`, { dropped: true }));
        return;
      }
      settle(parseAnswer(Buffer.concat(chunks, received), true));
    });
    socket.on('error', (err: NodeJS.ErrnoException) => {
      const dropped = sent && received === 0 && (err.code === 'ECONNRESET' || err.code === 'EPIPE');
      if (dropped) finish(new TeleptyError('DAEMON_UNREACHABLE', `the connection to ${where} was reset after the request was sent (${err.code}); the request may have been carried out`, { errno: err.code, dropped: true }));
      // Before the connection was made nothing was sent (a refused connect, or a reset while the daemon died):
      // `unsent` tells the caller a new try cannot repeat anything.
      else if (err.code && NETWORK_CODES.has(err.code)) finish(new TeleptyError('DAEMON_UNREACHABLE', `cannot reach the daemon at ${where} (${err.code})`, { errno: err.code, ...(sent ? {} : { unsent: true }) }));
      else finish(err);
    });

    function settle(answer: HttpAnswer | 'partial' | 'invalid'): void {
      if (answer === 'partial') return;
      if (answer === 'invalid') {
        finish(new TeleptyError('PROTOCOL_MISMATCH', `${where} did not give a complete HTTP answer (not a telepty daemon?)`));
        return;
      }
      let parsed: unknown;
      try {
        parsed = answer.text.length > 0 ? JSON.parse(answer.text) : undefined;
      } catch (err) {
        finish(new TeleptyError('PROTOCOL_MISMATCH', `the daemon answered ${answer.status} with non-JSON text`, { cause_text: String(err) }));
        return;
      }
      answered({ status: answer.status, headers: answer.headers, body: parsed });
    }
  });
}

/** A check of an answer's shape (src/protocol/guard.ts). */
export type AnswerGuard<T> = (value: unknown) => value is T;

/**
 * The body of a successful answer; an error status becomes its TeleptyError ({error, code}, or INTERNAL). With a
 * guard, a body of another shape is PROTOCOL_MISMATCH (not the answer this daemon's contract gives: `what` names
 * the request); without one it is `unknown`, for the caller to check. (The type parameter without a guard is
 * kept for callers that name it; it types nothing.)
 */
export function resultOf<T = unknown>(answer: JsonAnswer): unknown;
export function resultOf<T>(answer: JsonAnswer, guard: AnswerGuard<T>, what?: string): T;
export function resultOf<T>(answer: JsonAnswer, guard?: AnswerGuard<T>, what = 'the request'): unknown {
  if (answer.status >= 400) {
    throw isErrorBody(answer.body) ? TeleptyError.fromBody(answer.body) : new TeleptyError('INTERNAL', `the daemon answered ${answer.status}`);
  }
  if (guard && !guard(answer.body)) {
    throw new TeleptyError('PROTOCOL_MISMATCH', `the daemon's answer to ${what} is not of the expected shape (another version or not a telepty daemon?)`, { status: answer.status, wrong_shape: true });
  }
  return answer.body;
}

/** The answer was HTTP and JSON but not of the operation's shape: the daemon did answer (a repeat would not help). */
export function isWrongShape(err: unknown): boolean {
  return isTeleptyError(err) && err.details?.wrong_shape === true;
}

/** One request, its successful body (checked by `guard` when given) or its error (see exchangeJson and resultOf). */
export async function requestJson<T = unknown>(endpoint: Endpoint, req: JsonRequest): Promise<unknown>;
export async function requestJson<T>(endpoint: Endpoint, req: JsonRequest, guard: AnswerGuard<T>): Promise<T>;
export async function requestJson<T>(endpoint: Endpoint, req: JsonRequest, guard?: AnswerGuard<T>): Promise<unknown> {
  const answer = await exchangeJson(endpoint, req);
  return guard ? resultOf(answer, guard, `${req.method ?? 'GET'} ${req.path}`) : resultOf(answer);
}

interface HttpAnswer {
  status: number;
  headers: Record<string, string>;
  text: string;
}

const HEAD_END = Buffer.from('\r\n\r\n');

/**
 * The HTTP answer in the bytes received so far: complete once its Content-Length bytes of body are in or, without
 * one, when the connection has ended; 'partial' until then; 'invalid' when the bytes are not an HTTP answer.
 */
export function parseAnswer(bytes: Buffer, ended: boolean): HttpAnswer | 'partial' | 'invalid' {
  const headEnd = bytes.indexOf(HEAD_END);
  if (headEnd < 0) return ended ? 'invalid' : 'partial';
  const head = bytes.subarray(0, headEnd).toString('latin1').split('\r\n');
  const statusLine = /^HTTP\/1\.[01] (\d{3})[ \r]?/.exec(head[0] ?? '');
  if (!statusLine) return 'invalid';
  const status = Number(statusLine[1]);
  const headers: Record<string, string> = {};
  for (const line of head.slice(1)) {
    const colon = line.indexOf(':');
    if (colon > 0) headers[line.slice(0, colon).trim().toLowerCase()] = line.slice(colon + 1).trim();
  }
  const body = bytes.subarray(headEnd + HEAD_END.length);
  const declared = headers['content-length'];
  if (declared === undefined) return ended ? { status, headers, text: body.toString('utf8') } : 'partial';
  const length = /^\d+$/.test(declared) ? Number(declared) : NaN;
  if (!Number.isSafeInteger(length)) return 'invalid';
  if (body.length >= length) return { status, headers, text: body.subarray(0, length).toString('utf8') };
  return ended ? 'invalid' : 'partial';
}
