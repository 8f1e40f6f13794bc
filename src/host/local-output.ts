import type { Logger } from '../util/log.js';
import type { TerminalWriter } from './terminal-writer.js';

/**
 * Output `telepty wrap` holds for its own terminal while a write to it is under way: past this the terminal has
 * stopped reading (a suspended `less`, a paused tmux pane, a terminal on a frozen machine), the backlog is dropped
 * and the terminal gets a repaint of the screen when it reads again, as a viewer does (ws-viewer.ts).
 */
export const LOCAL_MAX_BUFFERED_BYTES = 1024 * 1024;
/** At exit, the last output gets this long to reach a terminal that does not read, then it is given up. */
const DRAIN_MAX_MS = 1_000;

/**
 * The wrapped program's output to the user's terminal, written without ever blocking the host's event loop.
 * Node writes to a terminal synchronously: a terminal that stops reading froze the whole host (the daemon dropped
 * it after a missed heartbeat, injects failed with SESSION_DISCONNECTED). Here each write goes to the terminal
 * without blocking (terminal-writer.ts), one at a time; output that comes meanwhile waits, up to
 * LOCAL_MAX_BUFFERED_BYTES; beyond it, it is dropped and replaced by a repaint once the terminal reads again.
 */
export class LocalOutput {
  private writing = false;
  private queued: Buffer[] = [];
  private queuedBytes = 0;
  private behind = false;
  private droppedBytes = 0;
  private closed = false;
  private idle: (() => void)[] = [];

  constructor(
    private readonly writer: TerminalWriter,
    /** The session's screen as an escape sequence that redraws it (what a viewer gets on attach). */
    private readonly repaint: () => Promise<string>,
    private readonly log: Logger,
    private readonly maxBufferedBytes = LOCAL_MAX_BUFFERED_BYTES,
  ) {}

  write(data: Buffer): void {
    if (this.closed) return;
    if (this.behind) {
      this.droppedBytes += data.length;
      return;
    }
    if (!this.writing) return this.start(data);
    this.queued.push(data);
    this.queuedBytes += data.length;
    if (this.queuedBytes > this.maxBufferedBytes) {
      this.behind = true;
      this.droppedBytes += this.queuedBytes;
      this.queued = [];
      this.queuedBytes = 0;
      this.log.info('the terminal stopped reading; its output is dropped until it reads again, then repainted');
    }
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
