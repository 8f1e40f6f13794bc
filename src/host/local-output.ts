import { constants, promises as fsp, write as fsWrite } from 'node:fs';
import { isatty } from 'node:tty';
import type { Logger } from '../util/log.js';

/**
 * Output `telepty wrap` holds for its own terminal while a write to it is under way: past this the terminal has
 * stopped reading (a suspended `less`, a paused tmux pane, a terminal on a frozen machine), the backlog is dropped
 * and the terminal gets a repaint of the screen when it reads again, as a viewer does (ws-viewer.ts).
 */
export const LOCAL_MAX_BUFFERED_BYTES = 1024 * 1024;
/** A terminal in non-blocking mode that is full answers EAGAIN: try again this much later. */
const RETRY_MS = 10;
/** At exit, the last output gets this long to reach a terminal that does not read, then it is given up. */
const DRAIN_MAX_MS = 1_000;

/**
 * The wrapped program's output to the user's terminal, written without ever blocking the host's event loop.
 * Node writes to a terminal synchronously: a terminal that stops reading froze the whole host (the daemon dropped
 * it after a missed heartbeat, injects failed with SESSION_DISCONNECTED). Here each write goes to the file
 * descriptor through libuv's thread pool, one at a time; output that comes meanwhile waits, up to
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
    private readonly fd: number,
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

  /** Nothing more is written (the program exited); a write under way still completes. */
  close(): void {
    this.closed = true;
    this.queued = [];
    this.queuedBytes = 0;
  }

  private start(data: Buffer, offset = 0): void {
    this.writing = true;
    fsWrite(this.fd, data, offset, data.length - offset, null, (err, written) => {
      if (err) {
        const code = (err as NodeJS.ErrnoException).code;
        if (code === 'EAGAIN') {
          // Once closed, what the terminal has not taken is given up (close() came after drain()'s bound).
          setTimeout(() => (this.closed ? this.finish() : this.start(data, offset)), RETRY_MS);
          return;
        }
        // The terminal is gone (EIO, EPIPE): nothing more can reach it; the session goes on without it.
        this.log.warn(`writing to the terminal failed: ${err.message}; its output is no longer shown`);
        this.closed = true;
        this.finish();
        return;
      }
      if (offset + written < data.length) return this.start(data, offset + written);
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

/** The terminal LocalOutput writes to, and how to let it go. */
export interface TerminalWrites {
  fd: number;
  close(): Promise<void>;
}

/**
 * The user's terminal behind `fd`, opened again for LocalOutput in non-blocking mode. Node keeps a terminal's own fd
 * blocking, so a write to a terminal that stopped reading sat in libuv's pool until it read again, holding the
 * terminal's write lock: wrap's exit then waited too (restoring the terminal's modes waits for that lock, and Node
 * joins the pool's threads at exit). On Linux /proc/self/fd/N opens a new description of the same terminal, so the
 * non-blocking mode is LocalOutput's alone, not the shell's that shares `fd`. Elsewhere (opening /dev/fd/N shares the
 * description), or when `fd` is no terminal (a file would be written from its start), `fd` itself, as before.
 */
export async function terminalWrites(fd: number, log: Logger): Promise<TerminalWrites> {
  const same: TerminalWrites = { fd, close: () => Promise.resolve() };
  if (process.platform !== 'linux' || !isatty(fd)) return same;
  return fsp.open(`/proc/self/fd/${fd}`, constants.O_WRONLY | constants.O_NONBLOCK | constants.O_NOCTTY).then(
    (handle): TerminalWrites => ({ fd: handle.fd, close: () => handle.close() }),
    (err: unknown): TerminalWrites => {
      log.warn(`opening the terminal again for non-blocking writes failed (${(err as Error).message}); writing to fd ${fd}`);
      return same;
    },
  );
}
