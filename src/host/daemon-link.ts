import { watch, type FSWatcher } from 'node:fs';
import path from 'node:path';
import WebSocket from 'ws';
import { locateDaemon } from '../wire/discovery.js';
import type { Endpoint } from '../wire/http.js';
import { formatHost } from '../wire/http.js';
import { TOKEN_HEADER } from '../protocol/headers.js';
import { HOST_LINK_PATH, parseDaemonMessage, type HostToDaemon, HOST_LINK_MAX_PAYLOAD } from '../protocol/host-link.js';
import { sleep, Waiters } from '../util/async.js';
import type { TeleptyConfig } from '../util/config.js';
import type { Logger } from '../util/log.js';
import type { HostLink, LinkHandlers } from './parts.js';
import type { LinkTimings } from './timings.js';

export type { LinkHandlers } from './parts.js';
export { DEFAULT_LINK_TIMINGS, type LinkTimings } from './timings.js';

/** Host link frames can carry a scrollback snapshot: a generous bound. */
/** How often flush() looks whether queued frames have left (it waits at most its timeout, at exit). */
const FLUSH_POLL_MS = 5;
/** A WS handshake to a live local daemon takes milliseconds. */
const HANDSHAKE_TIMEOUT_MS = 3_000;

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

/** Homes already reported by this process (a host retries every second or so). */
const reportedHomes = new Set<string>();

/**
 * Where the daemon is now (wire/discovery.ts, shared with the CLI): the state file's daemon once it proved the
 * record's nonce (it may have restarted on another port), else the address in the environment when it serves
 * this home. Also starts watching the state file, so a new daemon's claim wakes the links that wait.
 */
export async function resolveDaemonEndpoint(config: TeleptyConfig, env: NodeJS.ProcessEnv, log?: Logger): Promise<LinkTarget | null> {
  watchDaemonState(config.paths.stateFile, log);
  const found = await locateDaemon(config, env, (err) => {
    if (reportedHomes.has(err.message)) return;
    reportedHomes.add(err.message);
    log?.warn(`${err.message}; waiting for a daemon of this home`);
  });
  if (!found) return null;
  // Handled here, at once: the link may be gone before it looks at the proof.
  const proof = found.proven.catch((err: unknown) => {
    log?.warn(`could not prove the daemon at ${formatHost(found.endpoint.host)}:${found.endpoint.port}: ${(err as Error).message}`);
    return false;
  });
  return { ...found.endpoint, proof };
}

/**
 * Where the link connects. With `proof`, the hello (the session's registration) waits until it settles true: the
 * proof (an HTTP round trip) and the WebSocket handshake run side by side, so proving costs the link no time.
 */
export interface LinkTarget extends Endpoint {
  /** Never rejects. */
  proof?: Promise<boolean>;
}

/** The host's side of the link: connects, says hello, keeps a heartbeat, reconnects with backoff forever. */
export class DaemonLink implements HostLink {
  private ws: WebSocket | null = null;
  private welcomed = false;
  private stopped = false;
  private attempt = 0;
  private retryTimer: NodeJS.Timeout | undefined;
  private heartbeat: NodeJS.Timeout | undefined;
  private lastPong = 0;
  private readonly upWaiters = new Waiters();
  /** The state file changed while an attempt was under way: its failure retries at once. */
  private wokenMidAttempt = false;

  constructor(
    private readonly endpoint: () => Promise<LinkTarget | null>,
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
    return this.up ? Promise.resolve(true) : this.upWaiters.wait(timeoutMs);
  }

  /** Wait (bounded) until queued frames have left the socket. */
  async flush(timeoutMs: number): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    while (this.ws && this.ws.bufferedAmount > 0 && Date.now() < deadline) await sleep(FLUSH_POLL_MS);
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
    // Listening for state-file changes from the first try until welcomed (wake).
    sleepingLinks.add(this.wake);
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

  private open(ep: LinkTarget): void {
    const url = `ws://${formatHost(ep.host)}:${ep.port}${HOST_LINK_PATH}`;
    const ws = new WebSocket(url, {
      headers: ep.token ? { [TOKEN_HEADER]: ep.token } : {},
      handshakeTimeout: HANDSHAKE_TIMEOUT_MS,
      perMessageDeflate: false,
      maxPayload: HOST_LINK_MAX_PAYLOAD,
    });
    this.ws = ws;
    this.welcomed = false;
    ws.on('open', () => {
      this.lastPong = Date.now();
      this.heartbeat = setInterval(() => this.beat(ws), this.timings.heartbeatMs);
      if (!ep.proof) return this.sayHello(ws);
      void ep.proof.then((proven) => {
        if (this.ws !== ws || ws.readyState !== WebSocket.OPEN) return;
        if (proven) return this.sayHello(ws);
        this.log.info(`the daemon at ${formatHost(ep.host)}:${ep.port} is not the one its state file names; retrying`);
        ws.close(1000, 'not the daemon of the state file');
      });
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
        this.wokenMidAttempt = false;
        sleepingLinks.delete(this.wake);
        this.handlers.onWelcome(message);
        this.upWaiters.wake();
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

  private sayHello(ws: WebSocket): void {
    ws.send(JSON.stringify(this.handlers.hello()));
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
    if (this.stopped) return;
    // Mid-attempt (it may have read the state file before the change, and will fail its proof): retry at once
    // when it fails, not after the backoff.
    if (this.retryTimer === undefined) {
      if (!this.welcomed) this.wokenMidAttempt = true;
      return;
    }
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
    const woken = this.wokenMidAttempt;
    this.wokenMidAttempt = false;
    const delay = woken ? 0 : Math.round(base * (0.8 + Math.random() * 0.4));
    this.log.debug(`daemon link: next try in ${delay} ms (base ${base} ms)`);
    this.retryTimer = setTimeout(() => {
      this.retryTimer = undefined;
      sleepingLinks.delete(this.wake);
      this.connect();
    }, delay);
    sleepingLinks.add(this.wake);
  }
}
