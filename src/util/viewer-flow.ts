import type { Writable } from 'node:stream';
import type WebSocket from 'ws';
import { framePayload } from './ws-frame.js';
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
 * The output a viewer was sent and what it has confirmed, whatever carries the confirmations (a WebSocket's pongs,
 * another machine's acks). More than a window unconfirmed pauses it (`pause`, once); a confirmation of everything
 * sent resumes it (`caughtUp`: it then needs a fresh screen); paused for `catchUpMs`, it is given up (`tooSlow`).
 */
export class OutputWindow {
  behind = false;
  private sent = 0;
  private confirmed = 0;
  private catchUpTimer: NodeJS.Timeout | undefined;

  constructor(
    private readonly catchUpMs: number,
    private readonly on: { pause(): void; caughtUp(): void; tooSlow(): void },
  ) {}

  /** The bytes sent so far (what a confirmation counts up to). */
  get count(): number {
    return this.sent;
  }

  /** `bytes` more were sent. False when that leaves more than a window unconfirmed: paused. */
  add(bytes: number): boolean {
    this.sent += bytes;
    if (this.sent - this.confirmed <= VIEWER_WINDOW_BYTES) return true;
    if (!this.behind) {
      this.behind = true;
      this.catchUpTimer = setTimeout(() => this.on.tooSlow(), this.catchUpMs);
      this.catchUpTimer.unref();
      this.on.pause();
    }
    return false;
  }

  /** The viewer confirmed the first `n` bytes; a paused one that has them all is resumed. */
  confirm(n: number): void {
    // A count this viewer was never sent, or an old one (a client may pong unasked), confirms nothing.
    if (!Number.isInteger(n) || n > this.sent || n <= this.confirmed) return;
    this.confirmed = n;
    if (this.behind && this.confirmed === this.sent) this.resume();
  }

  /** Everything sent counts as confirmed (a fresh screen replaces it): resumed, paused or not. */
  confirmAll(): void {
    this.confirmed = this.sent;
    this.resume();
  }

  /** The viewer is gone: no more giving up on it. */
  stop(): void {
    clearTimeout(this.catchUpTimer);
  }

  private resume(): void {
    this.behind = false;
    clearTimeout(this.catchUpTimer);
    this.on.caughtUp();
  }
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
  private pingedAt = 0;
  private readonly window: OutputWindow;
  /** The socket under `ws`, written to directly with whole frames (sendFrame); null: frames go through ws. */
  private readonly socket: Writable | null;
  /** Settles when the socket has closed. */
  readonly closed: Promise<void>;

  /**
   * `socket`, when given, is the socket `ws` runs on (the one its server's handleUpgrade took): frames made by
   * textFrame are then written to it as they are, in order with what ws writes. Not with an extension (deflate),
   * whose frames only ws can make.
   */
  constructor(
    private readonly ws: WebSocket,
    catchUpMs: number,
    events: ViewerFlowEvents,
    socket?: Writable,
  ) {
    this.socket = socket && ws.extensions === '' ? socket : null;
    this.window = new OutputWindow(catchUpMs, {
      pause: () => {
        this.ready = false;
        // This ping's pong proves that everything sent so far arrived.
        this.ping();
        events.fellBehind(this);
      },
      caughtUp: () => events.caughtUp(this),
      tooSlow: () => this.drop(),
    });
    ws.on('pong', (data: Buffer) => this.window.confirm(Number(data.toString('latin1'))));
    this.closed = new Promise((resolve) =>
      ws.on('close', () => {
        this.window.stop();
        resolve();
      }),
    );
  }

  /** Fell behind (stopped confirming output): gets none until it catches up, then a fresh replay. */
  get behind(): boolean {
    return this.window.behind;
  }

  send(data: string | Buffer): boolean {
    if (!this.writable()) return false;
    this.ws.send(data, { binary: false });
    this.sent(typeof data === 'string' ? Buffer.byteLength(data) : data.length);
    return true;
  }

  /** A text frame made by textFrame (ws-frame.ts): one socket write when this viewer has its socket. */
  sendFrame(frame: Buffer): boolean {
    if (!this.writable()) return false;
    const payload = framePayload(frame);
    if (this.socket) this.socket.write(frame);
    else this.ws.send(payload, { binary: false });
    this.sent(payload.length);
    return true;
  }

  close(code: number, reason: string): void {
    this.ws.close(code, reason);
  }

  /** Open and not too far behind on its socket (one that is gets dropped). */
  private writable(): boolean {
    if (this.ws.readyState !== this.ws.OPEN) return false;
    if (this.ws.bufferedAmount <= VIEWER_MAX_BUFFERED_BYTES) return true;
    this.drop();
    return false;
  }

  private sent(bytes: number): void {
    if (this.window.add(bytes) && this.window.count - this.pingedAt >= VIEWER_PING_EVERY_BYTES) this.ping();
  }

  private ping(): void {
    this.pingedAt = this.window.count;
    this.ws.ping(String(this.window.count));
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
