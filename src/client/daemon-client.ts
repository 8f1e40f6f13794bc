import type { DaemonRecord } from '../protocol/daemon-state.js';
import { TeleptyError, isTeleptyError } from '../protocol/errors.js';
import { loadConfig, type TeleptyConfig } from '../util/config.js';
import { findDaemon, proveRecord, readToken, recordEndpoint, type DaemonHandle } from '../wire/discovery.js';
import { readStateRecord } from '../wire/local-files.js';
import { noteDaemonVersion, noteRecordVersion } from './version-check.js';
import { DAEMON_NONCE_HEADER, REPEAT_HEADER } from '../protocol/headers.js';
import { exchangeJson, isDropped, requestJson, resultOf, type Endpoint, type JsonAnswer, type JsonRequest } from '../wire/http.js';

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
   * One request. When the connection drops after the request was sent (the daemon died with it: it may have
   * acted), only an idempotent request is sent again, with the same body (the same inject or request id), to the
   * daemon found (or started) anew, for at most RETRY_WINDOW_MS while the daemon or the session's host is not back;
   * the answer is then the outcome that really happened. `onRetryError` may turn an error of a repeat into the
   * answer (a repeated kill finding the session gone: the first try killed it).
   */
  async request<T>(req: JsonRequest, onRetryError?: (err: TeleptyError) => Promise<T | null>): Promise<T> {
    try {
      return await this.once<T>(req);
    } catch (err) {
      if (!isDropped(err)) throw err;
      const idempotent = req.idempotent ?? (req.method ?? 'GET') === 'GET';
      if (!idempotent) {
        throw new TeleptyError('DAEMON_UNREACHABLE', `${(err as Error).message}; it was not sent again (it carries no id that would make a repeat safe)`, { dropped: true });
      }
      return this.retry<T>(req, onRetryError);
    }
  }

  private async retry<T>(req: JsonRequest, onRetryError?: (err: TeleptyError) => Promise<T | null>): Promise<T> {
    const deadline = Date.now() + RETRY_WINDOW_MS;
    for (;;) {
      await new Promise((r) => setTimeout(r, RETRY_PAUSE_MS));
      try {
        this.verified = await this.rediscover();
        return await requestJson<T>(this.verified.endpoint, { ...req, headers: { ...req.headers, [REPEAT_HEADER]: '1' } });
      } catch (err) {
        if (!isTeleptyError(err)) throw err;
        const answer = onRetryError ? await onRetryError(err) : null;
        if (answer !== null) return answer;
        if (!(NOT_BACK_YET.has(err.code) || isDropped(err)) || Date.now() > deadline) throw err;
        this.verified = null;
      }
    }
  }

  private async once<T>(req: JsonRequest): Promise<T> {
    if (this.verified) return requestJson<T>(this.verified.endpoint, req);
    const claimed = this.claimed;
    if (!claimed) return this.resend(req);
    let answer: JsonAnswer;
    try {
      answer = await exchangeJson(claimed.endpoint, req, { [DAEMON_NONCE_HEADER]: claimed.record.nonce });
    } catch (err) {
      // Nobody listens there: the request went nowhere. Find (or start) the daemon and send it there.
      if (isTeleptyError(err) && err.code === 'DAEMON_UNREACHABLE' && err.details?.errno === 'ECONNREFUSED') return this.resend(req);
      // Not an HTTP JSON answer: not a telepty daemon, so nothing was done. (A connection closed without a byte
      // after the request was sent is not that: the daemon may have died acting on it. See request().)
      if (isTeleptyError(err) && err.code === 'PROTOCOL_MISMATCH' && !isDropped(err)) return this.resend(req);
      throw err;
    }
    if (answer.headers[DAEMON_NONCE_HEADER] === claimed.record.nonce) return resultOf<T>(answer);
    // No echo: another daemon that refused it unread (412 DAEMON_MISMATCH), a daemon from before nonce checks
    // (it did the request, so its answer stands), or another program. Only a probe can tell the second apart.
    if (answer.status !== 412) {
      const handle = await this.handle();
      if (handle.record?.nonce === claimed.record.nonce) return resultOf<T>(answer);
      return requestJson<T>(handle.endpoint, req);
    }
    return this.resend(req);
  }

  private async resend<T>(req: JsonRequest): Promise<T> {
    this.verified = await this.rediscover();
    return requestJson<T>(this.verified.endpoint, req);
  }
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
  const env = opts.env ?? process.env;
  const config = await loadConfig(env);
  const token = await readToken(config, env);
  const discover = async (): Promise<DaemonHandle> => {
    const found = await findDaemon(config, token);
    if (found) return found;
    // Only now load the start-up code (child_process, spinner): the common case never needs it.
    const { ensureDaemon } = await import('./autostart.js');
    const { startProgress } = await import('../ui/progress.js');
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
