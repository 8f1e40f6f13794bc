import type { Logger } from '../util/log.js';
import type { TerminalWriter } from './terminal-writer.js';

/**
 * Output `telepty wrap` holds for its own terminal while a write to it is under way. Past this the program's output
 * is no longer read (the PTY is paused: the program waits, as it would on a terminal of its own) until the terminal
 * takes what is under way. 1 MiB is about 20 ms of a flood here: a terminal that lags that much for a moment (its
 * process descheduled on a loaded machine) lost the rest of the flood when this bound dropped output at once.
 */
export const LOCAL_MAX_BUFFERED_BYTES = 1024 * 1024;
/**
 * A terminal that takes nothing for this long while the program waits on it has stopped reading (a suspended `less`,
 * a paused tmux pane, a terminal on a frozen machine): the backlog is dropped, the program goes on, and the terminal
 * gets a repaint of the screen when it reads again, as a viewer does (ws-viewer.ts). Long enough for a terminal that
 * is only slow or descheduled; short enough that the session (its injects wait on its screen) never seems hung.
 */
export const LOCAL_STALL_MS = 1_000;
/** At exit, the last output gets this long to reach a terminal that does not read, then it is given up. */
const DRAIN_MAX_MS = 1_000;

export interface LocalOutputOptions {
  /**
   * Holds the program's output back (pauses reading the PTY) while the terminal is behind (true), and lets it go
   * again (false). Without it, output past the bound is dropped at once.
   */
  hold?: (held: boolean) => void;
  maxBufferedBytes?: number;
  stallMs?: number;
}

/**
 * The wrapped program's output to the user's terminal, written without ever blocking the host's event loop.
 * Node writes to a terminal synchronously: a terminal that stops reading froze the whole host (the daemon dropped
 * it after a missed heartbeat, injects failed with SESSION_DISCONNECTED). Here each write goes to the terminal
 * without blocking (terminal-writer.ts), one at a time; output that comes meanwhile waits, up to
 * LOCAL_MAX_BUFFERED_BYTES; beyond it the program is held back until the terminal takes what is under way, and a
 * terminal that takes nothing for LOCAL_STALL_MS has its backlog dropped and replaced by a repaint once it reads again.
 */
export class LocalOutput {
  private writing = false;
  private queued: Buffer[] = [];
  private queuedBytes = 0;
  private behind = false;
  private droppedBytes = 0;
  private closed = false;
  private idle: (() => void)[] = [];
  /** Set while the program is held back for the terminal: when it fires, the terminal has stopped reading. */
  private stall: NodeJS.Timeout | undefined;
  private readonly maxBufferedBytes: number;
  private readonly stallMs: number;

  constructor(
    private readonly writer: TerminalWriter,
    /** The session's screen as an escape sequence that redraws it (what a viewer gets on attach). */
    private readonly repaint: () => Promise<string>,
    private readonly log: Logger,
    private readonly opts: LocalOutputOptions = {},
  ) {
    this.maxBufferedBytes = opts.maxBufferedBytes ?? LOCAL_MAX_BUFFERED_BYTES;
    this.stallMs = opts.stallMs ?? LOCAL_STALL_MS;
  }

  write(data: Buffer): void {
    if (this.closed) return;
    if (this.behind) {
      this.droppedBytes += data.length;
      return;
    }
    if (!this.writing) return this.start(data);
    this.queued.push(data);
    this.queuedBytes += data.length;
    if (this.queuedBytes <= this.maxBufferedBytes || this.stall) return;
    // Chunks read before the hold took effect still come; they wait with the rest.
    if (!this.opts.hold) return this.dropBacklog();
    this.opts.hold(true);
    this.stall = setTimeout(() => this.dropBacklog(), this.stallMs);
  }

  /** The terminal stopped reading: what waits for it is dropped (a repaint replaces it), and the program goes on. */
  private dropBacklog(): void {
    this.release();
    this.behind = true;
    this.droppedBytes += this.queuedBytes;
    this.queued = [];
    this.queuedBytes = 0;
    this.log.info('the terminal stopped reading; its output is dropped until it reads again, then repainted');
  }

  /** The program's output is read again (the terminal caught up, stopped reading, or is gone). */
  private release(): void {
    if (!this.stall) return;
    clearTimeout(this.stall);
    this.stall = undefined;
    this.opts.hold?.(false);
  }

  /** Resolves once everything written so far reached the terminal, or after DRAIN_MAX_MS (it may not be reading). */
  drain(): Promise<void> {
    if (!this.writing) return Promise.resolve();
    return new Promise((resolve) => {
      const timer = setTimeout(resolve, DRAIN_MAX_MS);
      this.idle.push(() => {
        clearTimeout(timer);
        resolve();
      });
    });
  }

  /** Nothing more is written (the program exited); what the terminal has not taken by now is given up. */
  close(): Promise<void> {
    this.closed = true;
    this.release();
    this.queued = [];
    this.queuedBytes = 0;
    return this.writer.close();
  }

  private start(data: Buffer): void {
    this.writing = true;
    this.writer.write(data, (err) => {
      if (err && !this.closed) {
        // The terminal is gone (EIO, EPIPE): nothing more can reach it; the session goes on without it.
        this.log.warn(`writing to the terminal failed: ${err.message}; its output is no longer shown`);
        this.closed = true;
        this.release();
        this.finish();
        return;
      }
      this.next();
    });
  }

  private next(): void {
    if (this.queued.length > 0 && !this.closed) {
      const chunk = this.queued.length === 1 ? (this.queued[0] as Buffer) : Buffer.concat(this.queued, this.queuedBytes);
      this.queued = [];
      this.queuedBytes = 0;
      // The terminal took what was under way: the program may write again while this goes out.
      this.release();
      return this.start(chunk);
    }
    if (this.behind && !this.closed) {
      // The terminal reads again: it gets the screen as it is now instead of the backlog it missed.
      this.behind = false;
      this.log.info(`the terminal reads again; repainting (${this.droppedBytes} bytes of output were dropped)`);
      this.droppedBytes = 0;
      this.writing = true;
      this.repaint().then(
        (screen) => this.start(Buffer.from(`\x1b[H\x1b[2J${screen}`)),
        (err: unknown) => {
          this.log.warn(`repainting the terminal failed: ${(err as Error).message}`);
          this.next();
        },
      );
      return;
    }
    this.finish();
  }

  private finish(): void {
    this.writing = false;
    for (const f of this.idle.splice(0)) f();
  }
}
