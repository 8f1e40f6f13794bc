import http from 'node:http';
import type { Duplex } from 'node:stream';
import { TeleptyError } from '../../protocol/errors.js';
import { API_PREFIX, DAEMON_NONCE_HEADER, TOKEN_HEADER } from '../../protocol/headers.js';
import type { Logger } from '../../util/log.js';
import { rateLimitedWarn } from '../../util/rate-limited-log.js';
import { isLocalConnection, type AuthPolicy } from '../auth.js';
import { MAX_BODY_BYTES, isBodyless, readJsonBody } from './body.js';
import { errorAnswer, redactForRemote, sendError, sendJson } from './respond.js';
import type { HttpMethod, RequestContext, Router } from './router.js';

/** After refusing an oversized body, read (and discard) at most this much before closing the socket. */
const MAX_DRAIN_BYTES = 16 * 1024 * 1024;
/** Idle keep-alive sockets are closed after this (clients reconnect cheaply on loopback). */
const KEEP_ALIVE_TIMEOUT_MS = 5_000;
/** Slow-loris bound: the whole request head must arrive within this. */
const HEADERS_TIMEOUT_MS = 10_000;

const BODY_METHODS = new Set(['POST', 'PATCH', 'PUT']);
const KNOWN_METHODS = new Set<string>(['GET', 'POST', 'PATCH', 'DELETE', 'PUT']);

/**
 * An upgrade handler gets the request after auth; it accepts (handleUpgrade) or refuses with a TeleptyError, thrown
 * or (when it first waits for something) as the rejection of the promise it returns.
 */
export type UpgradeHandler = (req: http.IncomingMessage, socket: Duplex, head: Buffer, url: URL) => void | Promise<void>;

export interface HttpServerOptions {
  router: Router;
  auth: AuthPolicy;
  log: Logger;
  upgrade?: UpgradeHandler;
  bodyLimit?: number;
  /** This daemon's nonce (its state-file identity): requests naming another one are refused. */
  nonce?: string;
  /** The home this daemon serves, named when it refuses a request meant for another daemon. */
  home?: string;
  /**
   * Settles once the daemon may serve (true) or must not (false). The daemon listens before it claims the
   * state file, so requests and upgrades that arrive before this settles wait for it: none is answered by a
   * daemon that may still lose (or fail) its claim. Refused ones have their connection closed. Default: serve.
   */
  ready?: Promise<boolean>;
  /** The dashboard (daemon/ui): its pages under /ui, and which requests are its page's own calls. */
  ui?: UiHttp;
}

/** What the server asks of the dashboard (daemon/ui/pages.ts). */
export interface UiHttp {
  isPath(pathname: string): boolean;
  /** The request is the dashboard page's own call (its cookie, its origin): auth lets it through like a token. */
  isSession(req: http.IncomingMessage): boolean;
  serve(req: http.IncomingMessage, res: http.ServerResponse, url: URL): Promise<void>;
}

function parseUrl(raw: string | undefined): URL | null {
  if (!raw || !raw.startsWith('/')) return null;
  try {
    return new URL(raw, 'http://telepty.invalid');
  } catch (err) {
    if (err instanceof TypeError) return null;
    throw err;
  }
}

function isJsonContentType(value: string | undefined): boolean {
  if (!value) return false;
  const type = value.split(';')[0]?.trim().toLowerCase();
  return type === 'application/json';
}

/** Write a JSON error on a raw socket (upgrade refusals) and close it. */
export function refuseSocket(socket: Duplex, err: unknown, log: Logger, remote = false): void {
  const { status, body } = errorAnswer(err, log, 'websocket upgrade');
  const text = JSON.stringify(remote ? redactForRemote(body) : body);
  if (socket.writable) {
    socket.end(
      `HTTP/1.1 ${status} ${http.STATUS_CODES[status] ?? 'Error'}\r\n` +
        'Content-Type: application/json; charset=utf-8\r\n' +
        `Content-Length: ${Buffer.byteLength(text)}\r\nConnection: close\r\n\r\n${text}`,
    );
  }
  socket.destroy();
}

/** CORS headers for an allowed origin (none otherwise). */
function corsHeaders(auth: AuthPolicy, req: http.IncomingMessage): Record<string, string> {
  const origin = req.headers.origin;
  return origin && auth.isOriginAllowed(origin) ? { 'access-control-allow-origin': origin, vary: 'Origin' } : {};
}

type AuthCheck = (what: string, req: http.IncomingMessage, isPublic: boolean) => void;

/** Every refusal (auth, origin, host) is logged, so an attack is visible; a flood is summarised. */
function authChecker(auth: AuthPolicy, noteRefusal: (line: string) => void, ui: UiHttp | undefined): AuthCheck {
  return (what, req, isPublic) => {
    const peer = req.socket.remoteAddress ?? '';
    try {
      auth.check({ peer, headers: req.headers, isPublic, uiSession: ui?.isSession(req) === true });
    } catch (err) {
      if (err instanceof TeleptyError) noteRefusal(`refused ${what} from ${peer}${req.headers.origin ? ` (origin ${JSON.stringify(req.headers.origin.slice(0, 100))})` : ''}: ${err.code}`);
      throw err;
    }
  };
}

/**
 * Run `serve` once the daemon may serve (at once when it already may); otherwise close the connection. Without
 * `ready` it always may.
 */
function servingGate(ready: Promise<boolean> | undefined): (socket: Duplex, serve: () => void) => void {
  let serving: boolean | undefined = ready ? undefined : true;
  const settled = ready?.then(
    (ok) => (serving = ok),
    () => (serving = false),
  );
  return (socket, serve) => {
    if (serving === true) return serve();
    if (serving === false || !settled) return void socket.destroy();
    void settled.then(() => {
      if (serving === true && !socket.destroyed) serve();
      else socket.destroy();
    });
  };
}

/** The answer to a CORS preflight. */
function answerPreflight(res: http.ServerResponse, cors: Record<string, string>): void {
  res.writeHead(204, {
    ...cors,
    'access-control-allow-methods': 'GET, POST, PATCH, DELETE',
    'access-control-allow-headers': `content-type, authorization, ${TOKEN_HEADER}`,
    'access-control-max-age': '600',
  });
  res.end();
}

/**
 * A client that found its daemon through the state file names it by nonce (saving a probe first): another daemon
 * refuses before anything is done; the one named says so in its answer (added to `headers`).
 */
function checkNonce(opts: HttpServerOptions, req: http.IncomingMessage, headers: Record<string, string>): void {
  const expected = req.headers[DAEMON_NONCE_HEADER];
  if (expected === undefined || opts.nonce === undefined) return;
  if (expected !== opts.nonce) {
    const serves = opts.home === undefined ? '' : ` (this daemon serves the home ${opts.home})`;
    throw new TeleptyError('DAEMON_MISMATCH', `this is not the daemon that request was meant for: the nonce differs${serves}; it was not carried out`);
  }
  headers[DAEMON_NONCE_HEADER] = opts.nonce;
}

/** Answer 413, then discard what the client is still sending (bounded: past that the socket is closed). */
function refuseOversized(req: http.IncomingMessage, res: http.ServerResponse, err: TeleptyError, cors: Record<string, string>): void {
  sendJson(res, err.status, err.toBody(), cors);
  let drained = 0;
  req.on('data', (chunk: Buffer) => {
    drained += chunk.length;
    if (drained > MAX_DRAIN_BYTES) req.socket.destroy();
  });
  req.resume();
}

/** A request the HTTP parser could not read: 400 and close. */
function answerClientError(err: NodeJS.ErrnoException, socket: Duplex, log: Logger): void {
  log.debug(`client error: ${err.code ?? err.message}`);
  if (socket.writable) {
    const text = JSON.stringify({ error: 'malformed HTTP request', code: 'BAD_REQUEST' });
    socket.end(`HTTP/1.1 400 Bad Request\r\nContent-Type: application/json\r\nContent-Length: ${text.length}\r\nConnection: close\r\n\r\n${text}`);
  }
  socket.destroy();
}

/** One API request: auth, nonce, route, body (validated at the edge), handler, answer. */
async function handleRequest(opts: HttpServerOptions, checkAuth: AuthCheck, noteRefusal: (line: string) => void, req: http.IncomingMessage, res: http.ServerResponse): Promise<void> {
  const { router, auth, log } = opts;
  const method = req.method ?? 'GET';
  const url = parseUrl(req.url);
  const peer = req.socket.remoteAddress ?? '';
  const remote = !isLocalConnection(req.socket);
  /** Headers of every answer: CORS for an allowed origin, and the nonce proof. */
  const cors = corsHeaders(auth, req);
  const what = `${method} ${(url?.pathname ?? '?').slice(0, 100)}`;
  if (url && opts.ui?.isPath(url.pathname)) {
    // The pages themselves are public (the Host and Origin rules still apply); what they call is not.
    checkAuth(what, req, true);
    await opts.ui.serve(req, res, url);
    return;
  }
  if (!url || !(url.pathname === API_PREFIX || url.pathname.startsWith(`${API_PREFIX}/`))) {
    checkAuth(what, req, false);
    throw new TeleptyError('NOT_FOUND', 'no such route');
  }
  if (method === 'OPTIONS') {
    checkAuth(what, req, true);
    answerPreflight(res, cors);
    return;
  }
  const match = router.match(method, url.pathname);
  checkAuth(what, req, match.kind === 'found' && match.route.public === true);
  checkNonce(opts, req, cors);
  if (match.kind === 'found' && match.route.localOnly && remote) {
    noteRefusal(`refused ${what} from ${peer}: local only`);
    throw new TeleptyError('FORBIDDEN', 'this route is only for the local user (a connection from this machine)');
  }
  if (match.kind === 'bad-path') throw new TeleptyError('BAD_REQUEST', 'the path is not valid percent-encoding');
  if (match.kind === 'not-found' || !KNOWN_METHODS.has(method)) throw new TeleptyError('NOT_FOUND', `no route ${method} ${url.pathname}`);
  if (match.kind === 'method-not-allowed') {
    sendJson(res, 405, new TeleptyError('METHOD_NOT_ALLOWED', `${method} is not allowed here`).toBody(), { allow: match.allowed.join(', '), ...cors });
    return;
  }
  if (BODY_METHODS.has(method) && !isJsonContentType(req.headers['content-type']) && !isBodyless(req)) {
    throw new TeleptyError('UNSUPPORTED_MEDIA_TYPE', 'POST and PATCH bodies must be sent as Content-Type: application/json');
  }
  const abort = new AbortController();
  res.on('close', () => {
    if (!res.writableFinished) abort.abort();
  });
  try {
    // Validate at the edge: every body is read (bounded) and parsed before any handler runs.
    const body = BODY_METHODS.has(method) ? await readJsonBody(req, opts.bodyLimit ?? MAX_BODY_BYTES) : undefined;
    const ctx: RequestContext = {
      method: method as HttpMethod,
      path: url.pathname,
      params: match.params,
      query: url.searchParams,
      headers: req.headers,
      peer,
      remote,
      signal: abort.signal,
      body,
    };
    const result = await match.route.handler(ctx);
    sendJson(res, result.status ?? 200, result.body, cors);
  } catch (err) {
    if (err instanceof TeleptyError && err.code === 'PAYLOAD_TOO_LARGE') {
      refuseOversized(req, res, err, cors);
      return;
    }
    sendError(res, err, log, `${method} ${url.pathname}`, cors, remote);
  }
}

export function createHttpServer(opts: HttpServerOptions): http.Server {
  const { log } = opts;
  const noteRefusal = rateLimitedWarn(log);
  const checkAuth = authChecker(opts.auth, noteRefusal, opts.ui);
  const whenServing = servingGate(opts.ready);

  const server = http.createServer({ keepAliveTimeout: KEEP_ALIVE_TIMEOUT_MS, headersTimeout: HEADERS_TIMEOUT_MS }, (req, res) => {
    whenServing(req.socket, () => {
      void handleRequest(opts, checkAuth, noteRefusal, req, res).catch((err: unknown) => sendError(res, err, log, 'request handler', {}, !isLocalConnection(req.socket)));
    });
  });

  server.on('upgrade', (req: http.IncomingMessage, socket: Duplex, head: Buffer) => {
    socket.on('error', (err) => log.debug(`upgrade socket error: ${err.message}`));
    whenServing(socket, () => {
      try {
        const url = parseUrl(req.url);
        checkAuth(`WebSocket ${(url?.pathname ?? '?').slice(0, 100)}`, req, false);
        if (!url || !opts.upgrade) throw new TeleptyError('NOT_FOUND', 'no such WebSocket route');
        const later = opts.upgrade(req, socket, head, url);
        later?.catch((err: unknown) => refuseSocket(socket, err, log, !isLocalConnection(req.socket)));
      } catch (err) {
        refuseSocket(socket, err, log, !isLocalConnection(req.socket));
      }
    });
  });

  server.on('clientError', (err: NodeJS.ErrnoException, socket: Duplex) => answerClientError(err, socket, log));

  return server;
}
