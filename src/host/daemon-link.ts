import { watch, type FSWatcher } from 'node:fs';
import path from 'node:path';
import WebSocket from 'ws';
import { assertSameHome, connectHost, readToken } from '../wire/discovery.js';
import { requestJson } from '../wire/http.js';
import { PROBE_TIMEOUT_MS } from '../wire/probe.js';
import { isTeleptyError } from '../protocol/errors.js';
import { isMetaResponse } from '../protocol/meta.js';
import type { Endpoint } from '../wire/http.js';
import { formatHost } from '../wire/http.js';
import { readState } from '../wire/state-file.js';
import { TOKEN_HEADER } from '../protocol/headers.js';
import { HOST_LINK_PATH, parseDaemonMessage, type DaemonToHost, type DaemonWelcome, type HostHello, type HostToDaemon } from '../protocol/host-link.js';
import type { TeleptyConfig } from '../util/config.js';
import type { Logger } from '../util/log.js';

export interface LinkTimings {
  /** First reconnect delay; doubles per failed attempt. Small: a restarted daemon is usually up within ~0.3 s. */
  reconnectInitialMs: number;
  /** Reconnect delay cap: keeps "new daemon → session connected" within the 3 s the issue asks for. */
  reconnectMaxMs: number;
  /** Ping interval both ways; a half-open link is noticed within heartbeatTimeoutMs. */
  heartbeatMs: number;
  heartbeatTimeoutMs: number;
}

export const DEFAULT_LINK_TIMINGS: LinkTimings = {
  reconnectInitialMs: 100,
  reconnectMaxMs: 1_000,
  heartbeatMs: 2_000,
  heartbeatTimeoutMs: 6_000,
};

/** Host link frames can carry a scrollback snapshot: a generous bound. */
const LINK_MAX_PAYLOAD = 64 * 1024 * 1024;
/** A WS handshake to a live local daemon takes milliseconds. */
const HANDSHAKE_TIMEOUT_MS = 3_000;

export interface LinkHandlers {
  hello(): HostHello;
  onWelcome(welcome: DaemonWelcome): void;
  onMessage(message: DaemonToHost): void;
  /** The link went down (code from the daemon, or 1006 when it vanished); it reconnects unless stopped. */
  onDown(code: number, reason: string): void;
}

/** Links waiting to reconnect, woken when the state file changes (a new daemon has claimed it). */
const sleepingLinks = new Set<() => void>();
let stateWatcher: FSWatcher | null = null;

/**
 * Watch the state file's folder (once per process): when a new daemon writes its claim, every link waiting in its
 * reconnect backoff tries at once instead of after up to reconnectMaxMs. The folder is watched, not the file,
 * because the file is absent while no daemon runs. Best effort: without a watch the backoff still reconnects.
 */
export function watchDaemonState(stateFile: string, log?: Logger): void {
  if (stateWatcher) return;
  const name = path.basename(stateFile);
  try {
    stateWatcher = watch(path.dirname(stateFile), { persistent: false }, (_event, file) => {
      if (file !== null && file !== name) return;
      for (const wake of [...sleepingLinks]) wake();
    });
    stateWatcher.on('error', (err) => log?.debug(`state file watch ended: ${err.message}`));
  } catch (err) {
    log?.debug(`cannot watch ${path.dirname(stateFile)}: ${(err as Error).message}; reconnecting by backoff only`);
  }
}

/** Where the daemon is now: its state file first (it may have restarted on another port), then the env address. */
export async function resolveDaemonEndpoint(config: TeleptyConfig, env: NodeJS.ProcessEnv, log?: Logger): Promise<Endpoint | null> {
  watchDaemonState(config.paths.stateFile, log);
  const token = await readToken(config, env);
  const found = await readState(config.paths.stateFile);
  if (found.kind === 'record') return { host: connectHost(found.record.host), port: found.record.port, token };
  if (config.addressExplicit && config.port !== 0) {
    const endpoint = { host: connectHost(config.host), port: config.port, token };
    return (await servesAnotherHome(config, endpoint, log)) ? null : endpoint;
  }
  return null;
}

/** Homes already reported by this process (a host retries every second or so). */
const reportedHomes = new Set<string>();

/**
 * Found by address alone (no claim in our home): a daemon there that names another home is not ours, and a host
 * must not register its session into it. Anything else (no answer yet, an older daemon) is tried as before.
 */
async function servesAnotherHome(config: TeleptyConfig, endpoint: Endpoint, log?: Logger): Promise<boolean> {
  let meta: unknown;
  try {
    meta = await requestJson<unknown>(endpoint, { path: '/api/meta', timeoutMs: PROBE_TIMEOUT_MS });
  } catch (err) {
    if (isTeleptyError(err)) return false;
    throw err;
  }
  if (!isMetaResponse(meta)) return false;
  try {
    await assertSameHome(config, endpoint, meta);
    return false;
  } catch (err) {
    if (!isTeleptyError(err) || err.code !== 'DAEMON_MISMATCH') throw err;
    if (!reportedHomes.has(err.message)) {
      reportedHomes.add(err.message);
      log?.warn(`${err.message}; waiting for a daemon of this home`);
    }
    return true;
  }
}

/** The host's side of the link: connects, says hello, keeps a heartbeat, reconnects with backoff forever. */
export class DaemonLink {
  private ws: WebSocket | null = null;
  private welcomed = false;
  private stopped = false;
  private attempt = 0;
  private retryTimer: NodeJS.Timeout | undefined;
  private heartbeat: NodeJS.Timeout | undefined;
  private lastPong = 0;
  private upWaiters: (() => void)[] = [];

  constructor(
    private readonly endpoint: () => Promise<Endpoint | null>,
    private readonly handlers: LinkHandlers,
    private readonly timings: LinkTimings,
    private readonly log: Logger,
  ) {}

  start(): void {
    this.connect();
  }

  /** Connected and welcomed by the daemon. */
  get up(): boolean {
    return this.welcomed && this.ws?.readyState === WebSocket.OPEN;
  }

  /** Bytes queued on the socket and not yet sent (congestion). */
  get buffered(): number {
    return this.ws?.bufferedAmount ?? 0;
  }

  send(message: HostToDaemon): boolean {
    if (!this.up || !this.ws) return false;
    this.ws.send(JSON.stringify(message));
    return true;
  }

  sendBinary(frame: Buffer): boolean {
    if (!this.up || !this.ws) return false;
    this.ws.send(frame, { binary: true });
    return true;
  }

  /** Resolves when the link is up, or false after `timeoutMs`. */
  waitUp(timeoutMs: number): Promise<boolean> {
    if (this.up) return Promise.resolve(true);
    return new Promise((resolve) => {
      const timer = setTimeout(() => {
        this.upWaiters = this.upWaiters.filter((w) => w !== done);
        resolve(false);
      }, timeoutMs);
      const done = (): void => {
        clearTimeout(timer);
        resolve(true);
      };
      this.upWaiters.push(done);
    });
  }

  /** Wait (bounded) until queued frames have left the socket. */
  async flush(timeoutMs: number): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    while (this.ws && this.ws.bufferedAmount > 0 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 5));
  }

  stop(): void {
    this.stopped = true;
    sleepingLinks.delete(this.wake);
    clearTimeout(this.retryTimer);
    clearInterval(this.heartbeat);
    this.ws?.close(1000, 'host done');
    this.ws = null;
  }

  private connect(): void {
    if (this.stopped) return;
    void this.endpoint()
      .then((ep) => {
        if (this.stopped) return;
        if (!ep) {
          this.scheduleRetry();
          return;
        }
        this.open(ep);
      })
      .catch((err: unknown) => {
        this.log.warn(`daemon discovery failed: ${(err as Error).message}`);
        this.scheduleRetry();
      });
  }

  private open(ep: Endpoint): void {
    const url = `ws://${formatHost(ep.host)}:${ep.port}${HOST_LINK_PATH}`;
    const ws = new WebSocket(url, {
      headers: ep.token ? { [TOKEN_HEADER]: ep.token } : {},
      handshakeTimeout: HANDSHAKE_TIMEOUT_MS,
      perMessageDeflate: false,
      maxPayload: LINK_MAX_PAYLOAD,
    });
    this.ws = ws;
    this.welcomed = false;
    ws.on('open', () => {
      this.lastPong = Date.now();
      ws.send(JSON.stringify(this.handlers.hello()));
      this.heartbeat = setInterval(() => this.beat(ws), this.timings.heartbeatMs);
    });
    ws.on('pong', () => (this.lastPong = Date.now()));
    ws.on('message', (data, isBinary) => {
      // Anything the daemon says proves it is there, as a pong does.
      this.lastPong = Date.now();
      if (isBinary) return;
      const message = parseDaemonMessage(data.toString());
      if (!message) {
        this.log.warn('ignored a malformed message from the daemon');
        return;
      }
      if (message.type === 'welcome') {
        this.welcomed = true;
        this.attempt = 0;
        this.handlers.onWelcome(message);
        for (const w of this.upWaiters.splice(0)) w();
        return;
      }
      this.handlers.onMessage(message);
    });
    ws.on('error', (err) => this.log.debug(`link error: ${err.message}`));
    ws.on('close', (code, reason) => {
      clearInterval(this.heartbeat);
      if (this.ws !== ws) return;
      const wasUp = this.welcomed;
      this.ws = null;
      this.welcomed = false;
      if (wasUp || code >= 4000) this.handlers.onDown(code, reason.toString());
      this.scheduleRetry();
    });
  }

  private beat(ws: WebSocket): void {
    if (Date.now() - this.lastPong > this.timings.heartbeatTimeoutMs) {
      this.log.warn('daemon link silent; reconnecting');
      ws.terminate();
      return;
    }
    ws.ping();
  }

  /** The state file changed while we wait to retry: a new daemon may be there, try now. */
  private readonly wake = (): void => {
    if (this.stopped || this.retryTimer === undefined) return;
    sleepingLinks.delete(this.wake);
    clearTimeout(this.retryTimer);
    this.retryTimer = undefined;
    this.connect();
  };

  private scheduleRetry(): void {
    if (this.stopped) return;
    const base = Math.min(this.timings.reconnectMaxMs, this.timings.reconnectInitialMs * 2 ** this.attempt);
    this.attempt = Math.min(this.attempt + 1, 16);
    // ±20% jitter so hosts do not stampede a restarted daemon in lockstep.
    const delay = Math.round(base * (0.8 + Math.random() * 0.4));
    this.retryTimer = setTimeout(() => {
      this.retryTimer = undefined;
      sleepingLinks.delete(this.wake);
      this.connect();
    }, delay);
    sleepingLinks.add(this.wake);
  }
}
