import type { DaemonRecord } from '../protocol/daemon-state.js';
import { TeleptyError, isTeleptyError } from '../protocol/errors.js';
import { loadConfig, type TeleptyConfig, processEnv } from '../util/config.js';
import { findDaemon, proveRecord, readToken, recordEndpoint, type DaemonHandle } from '../wire/discovery.js';
import { readStateRecord } from '../wire/local-files.js';
import { noteDaemonVersion, noteRecordVersion } from './version-check.js';
import { DAEMON_NONCE_HEADER, REPEAT_HEADER } from '../protocol/headers.js';
import { exchangeJson, httpBase, isDropped, isWrongShape, resultOf, type AnswerGuard, type Endpoint, type JsonAnswer, type JsonRequest } from '../wire/http.js';
import { pathFor, type HttpMethod, type Operation, type PathParams } from '../protocol/ops/contract.js';
import { sleep } from '../util/async.js';
import { startProgress } from './progress.js';

/**
 * The daemon as the state file names it, not yet heard from. Requests to it carry the record's nonce; a daemon
 * with another nonce refuses them before doing anything, and the one named echoes the nonce in its answer. That
 * saves every command a round trip to prove the daemon's identity first (`telepty inject` does two requests
 * instead of one on a warm path: start time is a product feature).
 */
interface Claimed {
  endpoint: Endpoint;
  record: DaemonRecord;
}

/** A request whose connection dropped is repeated (same id) for at most this long: a daemon killed mid-request is
 * replaced, and its sessions' hosts reconnect, within a few seconds. */
const RETRY_WINDOW_MS = 15_000;
/** Pause between repeats while the daemon or the session's host is not back yet. */
const RETRY_PAUSE_MS = 200;
/** Errors of a repeat that mean "not back yet": try again within the window. */
const NOT_BACK_YET = new Set<string>(['SESSION_DISCONNECTED', 'DAEMON_UNREACHABLE', 'DAEMON_START_FAILED', 'DAEMON_MISMATCH', 'SHUTTING_DOWN', 'PROTOCOL_MISMATCH']);

/** Find (probe, or start) the daemon from scratch: what a claimed daemon that turns out stale falls back to. */
export type Rediscover = () => Promise<DaemonHandle>;

/** Typed requests to one daemon. Commands get one from `connect()`. */
export class DaemonClient {
  private verified: DaemonHandle | null;
  private readonly claimed: Claimed | null;

  constructor(
    found: DaemonHandle | Claimed,
    readonly config: TeleptyConfig,
    private readonly rediscover: Rediscover,
  ) {
    this.verified = 'meta' in found ? found : null;
    this.claimed = 'meta' in found ? null : found;
  }

  /** `http://host:port` of the daemon, its identity proven: where a program of this machine reaches it. */
  async baseUrl(): Promise<string> {
    return httpBase((await this.handle()).endpoint);
  }

  /** The daemon, its identity proven (probed, or found again when the claimed one was stale). For WebSockets. */
  async handle(): Promise<DaemonHandle> {
    if (this.verified) return this.verified;
    const claimed = this.claimed;
    if (!claimed) {
      this.verified = await this.rediscover();
      return this.verified;
    }
    this.verified = (await proveRecord(claimed.record, claimed.endpoint.token)) ?? (await this.rediscover());
    return this.verified;
  }

  /**
   * One operation of the contract (src/protocol/operations.ts): its path from `params`, its query and body, and
   * its answer checked by the operation's guard (an answer of another shape is PROTOCOL_MISMATCH, like one that
   * is not JSON). Retries as `request` does; `onRetryError` may turn an error of a repeat into the answer.
   */
  call<P extends string, B, Q, R, A>(op: Operation<P, B, Q, R, A>, ...args: CallArgs<P, B, Q, A>): Promise<A> {
    const opts: CallOptions<P, B, Q, A> | undefined = args[0];
    return this.exchange(requestFor(op, opts), checkOf(op), opts?.onRetryError);
  }

  /**
   * One request outside the contract, its answer unchecked (`unknown`: the caller checks it). Prefer `call`.
   * (The type parameter types only what `onRetryError` may answer.)
   */
  request<T = unknown>(req: JsonRequest, onRetryError?: (err: TeleptyError) => Promise<T | null>): Promise<unknown> {
    return this.exchange<unknown>(req, { guard: isAnything, what: `${req.method ?? 'GET'} ${req.path}` }, onRetryError);
  }

  /**
   * When the connection drops after the request was sent (the daemon died with it: it may have acted), only an
   * idempotent request is sent again, with the same body (the same inject or request id), to the daemon found (or
   * started) anew, for at most RETRY_WINDOW_MS while the daemon or the session's host is not back; the answer is
   * then the outcome that really happened. `onRetryError` may turn an error of a repeat into the answer (a repeated
   * kill finding the session gone: the first try killed it).
   */
  private async exchange<T>(req: JsonRequest, check: Checked<T>, onRetryError?: (err: TeleptyError) => Promise<T | null>): Promise<T> {
    try {
      return await this.once(req, check);
    } catch (err) {
      // Nothing reached a daemon (the connection never opened): find it anew and send it once more, whatever it is.
      if (isUnsent(err)) return this.resend(req, check);
      if (!isDropped(err)) throw err;
      const idempotent = req.idempotent ?? (req.method ?? 'GET') === 'GET';
      if (!idempotent) {
        throw new TeleptyError('DAEMON_UNREACHABLE', `${err instanceof Error ? err.message : String(err)}; it was not sent again (it carries no id that would make a repeat safe)`, { dropped: true });
      }
      return this.retry(req, check, onRetryError);
    }
  }

  private async retry<T>(req: JsonRequest, check: Checked<T>, onRetryError?: (err: TeleptyError) => Promise<T | null>): Promise<T> {
    const deadline = Date.now() + RETRY_WINDOW_MS;
    for (;;) {
      await sleep(RETRY_PAUSE_MS);
      try {
        this.verified = await this.rediscover();
        return await this.send(this.verified.endpoint, { ...req, headers: { ...req.headers, [REPEAT_HEADER]: '1' } }, check);
      } catch (err) {
        if (!isTeleptyError(err)) throw err;
        const answer = onRetryError ? await onRetryError(err) : null;
        if (answer !== null) return answer;
        if (!((NOT_BACK_YET.has(err.code) && !isWrongShape(err)) || isDropped(err)) || Date.now() > deadline) throw err;
        this.verified = null;
      }
    }
  }

  private async send<T>(endpoint: Endpoint, req: JsonRequest, check: Checked<T>): Promise<T> {
    return resultOf(await exchangeJson(endpoint, req), check.guard, check.what);
  }

  private async once<T>(req: JsonRequest, check: Checked<T>): Promise<T> {
    if (this.verified) return this.send(this.verified.endpoint, req, check);
    const claimed = this.claimed;
    if (!claimed) return this.resend(req, check);
    let answer: JsonAnswer;
    try {
      answer = await exchangeJson(claimed.endpoint, req, { [DAEMON_NONCE_HEADER]: claimed.record.nonce });
    } catch (err) {
      // Nobody listens there: the request went nowhere. Find (or start) the daemon and send it there.
      if (isUnsent(err)) return this.resend(req, check);
      // Not an HTTP JSON answer: not a telepty daemon, so nothing was done. (A connection closed without a byte
      // after the request was sent is not that: the daemon may have died acting on it. See exchange().)
      if (isTeleptyError(err) && err.code === 'PROTOCOL_MISMATCH' && !isDropped(err)) return this.resend(req, check);
      throw err;
    }
    if (answer.headers[DAEMON_NONCE_HEADER] === claimed.record.nonce) return resultOf(answer, check.guard, check.what);
    // No echo: another daemon that refused it unread (412 DAEMON_MISMATCH), a daemon from before nonce checks
    // (it did the request, so its answer stands), or another program. Only a probe can tell the second apart.
    if (answer.status !== 412) {
      const handle = await this.handle();
      if (handle.record?.nonce === claimed.record.nonce) return resultOf(answer, check.guard, check.what);
      return this.send(handle.endpoint, req, check);
    }
    return this.resend(req, check);
  }

  private async resend<T>(req: JsonRequest, check: Checked<T>): Promise<T> {
    this.verified = await this.rediscover();
    return this.send(this.verified.endpoint, req, check);
  }
}

/** The request of one operation: its path from the params, its query string, body and the caller's bounds. */
function requestFor<P extends string, B, Q, R, A>(op: Operation<P, B, Q, R, A>, opts: CallOptions<P, B, Q, A> | undefined): JsonRequest {
  const qs = opts?.query !== undefined && op.query ? op.query(opts.query).toString() : '';
  return {
    method: requestMethod(op.method),
    path: `${pathFor(op.path, opts?.params ?? {})}${qs ? `?${qs}` : ''}`,
    ...(opts?.body !== undefined ? { body: opts.body } : {}),
    ...(opts?.timeoutMs !== undefined ? { timeoutMs: opts.timeoutMs } : {}),
    ...(opts?.idempotent !== undefined ? { idempotent: opts.idempotent } : {}),
    ...(opts?.headers !== undefined ? { headers: opts.headers } : {}),
  };
}

function checkOf<A>(op: Operation<string, unknown, unknown, unknown, A>): Checked<A> {
  return { guard: op.isAnswer, what: `${op.name} (${op.method} ${op.path})` };
}

/**
 * One operation sent once to a daemon already found (`daemon stop`, `daemon restart`): no claim to trust first, no
 * repeat; the answer checked by the operation's guard.
 */
export async function callEndpoint<P extends string, B, Q, R, A>(endpoint: Endpoint, op: Operation<P, B, Q, R, A>, ...args: CallArgs<P, B, Q, A>): Promise<A> {
  const check = checkOf(op);
  return resultOf(await exchangeJson(endpoint, requestFor(op, args[0])), check.guard, check.what);
}

/** How an answer is checked, and the request's name for the error when it fails. */
interface Checked<T> {
  guard: AnswerGuard<T>;
  what: string;
}

/** `request` checks nothing: its caller gets `unknown`. */
function isAnything(_value: unknown): _value is unknown {
  return true;
}

/** What `call` sends besides the operation: `params` for its path's `:params`, a body and a query of its types. */
export interface CallOptions<P extends string, B, Q, A> {
  params?: Record<PathParams<P>, string>;
  body?: B;
  query?: Q;
  /** Whole request bound (default DEFAULT_REQUEST_TIMEOUT_MS). */
  timeoutMs?: number;
  /** Safe to send again after a dropped connection (default: GET only). See JsonRequest.idempotent. */
  idempotent?: boolean;
  headers?: Record<string, string>;
  /** An error of a repeat read as the first try's success (or null: it stays an error). */
  onRetryError?: (err: TeleptyError) => Promise<A | null>;
}

/** The options of `call`: required (with `params`) when the path has `:params`, optional otherwise. */
export type CallArgs<P extends string, B, Q, A> = [PathParams<P>] extends [never]
  ? [opts?: CallOptions<P, B, Q, A>]
  : [opts: CallOptions<P, B, Q, A> & { params: Record<PathParams<P>, string> }];

/** The methods node:net's exchange speaks (the contract declares no PUT). */
function requestMethod(method: HttpMethod): NonNullable<JsonRequest['method']> {
  if (method === 'PUT') throw new TeleptyError('INTERNAL', 'no operation of the contract uses PUT');
  return method;
}

export interface ConnectOptions {
  env?: NodeJS.ProcessEnv;
  /** Start the daemon when none answers (default true). */
  autostart?: boolean;
}

/**
 * Find (and by default start) the daemon for the current environment. Returns null only with autostart off.
 * With autostart on and a state file present, the daemon it names is trusted on its first answer (see Claimed).
 */
export async function connect(opts: ConnectOptions & { autostart: false }): Promise<DaemonClient | null>;
export async function connect(opts?: ConnectOptions): Promise<DaemonClient>;
export async function connect(opts: ConnectOptions = {}): Promise<DaemonClient | null> {
  const env = opts.env ?? processEnv();
  const config = await loadConfig(env);
  const token = await readToken(config, env);
  const discover = async (): Promise<DaemonHandle> => {
    const found = await findDaemon(config, token);
    if (found) return found;
    // Only now load the start-up code (child_process): the common case never needs it.
    const { ensureDaemon } = await import('./autostart.js');
    return ensureDaemon(config, { env, token, progress: startProgress('starting the telepty daemon…') });
  };
  if (opts.autostart === false) {
    const handle = await findDaemon(config, token);
    if (handle) noteDaemonVersion(handle.meta.version);
    return handle ? new DaemonClient(handle, config, discover) : null;
  }
  const record = readStateRecord(config.paths.stateFile);
  if (record) {
    noteRecordVersion(record);
    return new DaemonClient({ endpoint: recordEndpoint(record, token), record }, config, discover);
  }
  const found = await discover();
  noteDaemonVersion(found.meta.version);
  return new DaemonClient(found, config, discover);
}

/** The request never left: the connection was refused or reset before it opened (a daemon dying, or none). */
function isUnsent(err: unknown): boolean {
  return isTeleptyError(err) && err.code === 'DAEMON_UNREACHABLE' && (err.details?.errno === 'ECONNREFUSED' || err.details?.unsent === true);
}
