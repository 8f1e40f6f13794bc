import type WebSocket from 'ws';
import { VIEWER_CLOSE, parseViewerMessage, type ViewerClientMessage } from '../protocol/viewer.js';

/**
 * A viewer this far behind on its own socket is dropped outright (a huge replay to a peer that reads nothing):
 * it must never hold the memory of the process serving it (the daemon, or a session host).
 */
export const VIEWER_MAX_BUFFERED_BYTES = 1024 * 1024;
/**
 * Output a viewer may have unconfirmed (sent, its pong not yet back) before it is paused. The kernel's socket
 * buffers on loopback take ~5 MB before `bufferedAmount` moves, so counting confirmations is what notices a
 * viewer that stopped reading; 1 MiB is ~40 ms of a flood here, far more than a reading viewer lags.
 */
export const VIEWER_WINDOW_BYTES = 1024 * 1024;
/** A ping goes out with every this much output, so confirmations keep coming during a flood (~8 per window). */
export const VIEWER_PING_EVERY_BYTES = 128 * 1024;
/** Input and resize messages are small; a paste of a long prompt fits easily. */
export const VIEWER_MAX_PAYLOAD = 1024 * 1024;
/** A reading viewer confirms a window of output in milliseconds; one silent for this long has stopped reading. */
export const DEFAULT_VIEWER_CATCH_UP_MS = 5_000;
/** A dropped viewer that still reads takes its close frame at once; one that does not is cut after this. */
const VIEWER_CLOSE_GRACE_MS = 1_000;

export interface ViewerFlowEvents {
  /** The viewer stopped confirming output: it gets none until it catches up. */
  fellBehind(viewer: WsViewer): void;
  /** Everything sent has reached the viewer again: it needs a fresh screen, then live output. */
  caughtUp(viewer: WsViewer): void;
}

/**
 * A viewer WebSocket with flow control. Output is counted as it is sent and confirmed by pongs (each ping carries
 * the count so far). A viewer more than a window behind is paused rather than fed: the session and the other
 * viewers never wait for it, the daemon never buffers for it, and when its pong shows it read everything it is
 * repainted from the screen (as tmux redraws a client) instead of being sent the backlog. A viewer that has not
 * caught up within `catchUpMs` is dropped with 4101.
 */
export class WsViewer {
  ready = false;
  behind = false;
  private sent = 0;
  private confirmed = 0;
  private pingedAt = 0;
  private catchUpTimer: NodeJS.Timeout | undefined;
  /** Settles when the socket has closed. */
  readonly closed: Promise<void>;

  constructor(
    private readonly ws: WebSocket,
    private readonly catchUpMs: number,
    private readonly events: ViewerFlowEvents,
  ) {
    ws.on('pong', (data: Buffer) => this.onPong(data));
    this.closed = new Promise((resolve) =>
      ws.on('close', () => {
        clearTimeout(this.catchUpTimer);
        resolve();
      }),
    );
  }

  send(data: string | Buffer): boolean {
    if (this.ws.readyState !== this.ws.OPEN) return false;
    if (this.ws.bufferedAmount > VIEWER_MAX_BUFFERED_BYTES) {
      this.drop();
      return false;
    }
    this.ws.send(data, { binary: false });
    this.sent += typeof data === 'string' ? Buffer.byteLength(data) : data.length;
    if (this.sent - this.confirmed > VIEWER_WINDOW_BYTES) this.fallBehind();
    else if (this.sent - this.pingedAt >= VIEWER_PING_EVERY_BYTES) this.ping();
    return true;
  }

  close(code: number, reason: string): void {
    this.ws.close(code, reason);
  }

  private ping(): void {
    this.pingedAt = this.sent;
    this.ws.ping(String(this.sent));
  }

  private fallBehind(): void {
    if (this.behind) return;
    this.behind = true;
    this.ready = false;
    // This ping's pong proves that everything sent so far arrived.
    this.ping();
    this.catchUpTimer = setTimeout(() => this.drop(), this.catchUpMs);
    this.catchUpTimer.unref();
    this.events.fellBehind(this);
  }

  private onPong(data: Buffer): void {
    const n = Number(data.toString('latin1'));
    // A pong this viewer's pings did not ask for (a client may pong unasked) confirms nothing.
    if (!Number.isInteger(n) || n > this.sent || n <= this.confirmed) return;
    this.confirmed = n;
    if (!this.behind || this.confirmed < this.sent) return;
    this.behind = false;
    clearTimeout(this.catchUpTimer);
    this.events.caughtUp(this);
  }

  private drop(): void {
    this.ready = false;
    if (this.ws.readyState !== this.ws.OPEN) return;
    this.ws.close(VIEWER_CLOSE.TOO_SLOW, 'viewer too slow; dropped');
    // A stuck peer may never complete the closing handshake.
    setTimeout(() => this.ws.terminate(), VIEWER_CLOSE_GRACE_MS).unref();
  }
}

/** Viewer → server messages on `ws`, parsed, to `handle`; anything else closes the viewer with 4103. */
export function onViewerMessages(ws: WebSocket, handle: (msg: ViewerClientMessage) => void): void {
  ws.on('message', (data: Buffer, isBinary: boolean) => {
    const msg = isBinary ? null : parseViewerMessage(data.toString('utf8'));
    if (!msg) ws.close(VIEWER_CLOSE.BAD_MESSAGE, 'expected {type:"input",data} or {type:"resize",cols,rows}');
    else handle(msg);
  });
}
