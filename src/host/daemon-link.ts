import WebSocket from 'ws';
import { connectHost, readToken } from '../client/discovery.js';
import type { Endpoint } from '../client/http.js';
import { formatHost } from '../client/http.js';
import { readState } from '../daemon/claim.js';
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

/** Where the daemon is now: its state file first (it may have restarted on another port), then the env address. */
export async function resolveDaemonEndpoint(config: TeleptyConfig, env: NodeJS.ProcessEnv): Promise<Endpoint | null> {
  const token = await readToken(config, env);
  const found = await readState(config.paths.stateFile);
  if (found.kind === 'record') return { host: connectHost(found.record.host), port: found.record.port, token };
  if (config.addressExplicit && config.port !== 0) return { host: connectHost(config.host), port: config.port, token };
  return null;
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

  private scheduleRetry(): void {
    if (this.stopped) return;
    const base = Math.min(this.timings.reconnectMaxMs, this.timings.reconnectInitialMs * 2 ** this.attempt);
    this.attempt = Math.min(this.attempt + 1, 16);
    // ±20% jitter so hosts do not stampede a restarted daemon in lockstep.
    const delay = Math.round(base * (0.8 + Math.random() * 0.4));
    this.retryTimer = setTimeout(() => this.connect(), delay);
  }
}
