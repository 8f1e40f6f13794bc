import { promises as fs } from 'node:fs';
import { TeleptyError } from '../protocol/errors.js';
import { readTextIfExists, writeFileAtomic } from './files.js';
import type { Logger } from './log.js';

/** After a failed write (full disk, read-only folder), the file is tried again this often until it is written. */
export const PERSIST_RETRY_MS = 2_000;

/** One write's outcome: kept as a value, never as a rejected promise nobody may be waiting on. */
type WriteResult = { ok: true } | { ok: false; error: TeleptyError };

/**
 * A JSON file the daemon owns: written atomically (temp + rename), changes within `debounceMs` written once,
 * never a rewrite per event. Writing starts with enable() (only the daemon that won the claim writes). A file it
 * cannot read is moved aside, never deleted, and never fatal.
 *
 * A write that fails is never reported as done: flush() and settle() reject with PERSIST_FAILED (the caller
 * rolls its change back or says it is not saved), and the content is tried again every PERSIST_RETRY_MS until
 * it is on disk, so memory and disk come to agree once space is back.
 */
export class DebouncedJsonFile<T> {
  private timer: NodeJS.Timeout | undefined;
  private writing: Promise<WriteResult> = Promise.resolve({ ok: true });
  private enabled = false;
  private dirty = false;
  /** Failed writes since the last one that succeeded (0: the disk has what memory has, or will at the next write). */
  private failures = 0;

  constructor(
    readonly file: string,
    private readonly snapshot: () => T,
    private readonly log: Logger,
    private readonly debounceMs: number,
  ) {}

  /** The parsed content (which may be JSON null); undefined when the file is missing or had to be moved aside. */
  async loadRaw(): Promise<unknown> {
    const text = await readTextIfExists(this.file);
    if (text === null) return undefined;
    try {
      return JSON.parse(text);
    } catch (err) {
      if (!(err instanceof SyntaxError)) throw err;
      await this.setAside(`not JSON (${err.message})`);
      return undefined;
    }
  }

  async setAside(why: string): Promise<void> {
    const aside = `${this.file}.unreadable-${Date.now()}`;
    this.log.error(`${this.file} is unreadable (${why}); moved to ${aside}, starting empty`);
    await fs.rename(this.file, aside);
  }

  /** Start writing, including any change made before. */
  enable(): void {
    this.enabled = true;
    if (this.dirty) this.schedule();
  }

  schedule(): void {
    this.dirty = true;
    this.arm(this.debounceMs);
  }

  private arm(ms: number): void {
    if (!this.enabled) return;
    this.timer ??= setTimeout(() => {
      this.timer = undefined;
      // Failures are logged and retried by write(); nobody waits on this one.
      void this.write();
    }, ms);
  }

  /** Write now (shutdown, or a change that must not wait), after any write in progress. Rejects with PERSIST_FAILED. */
  async flush(): Promise<void> {
    clearTimeout(this.timer);
    this.timer = undefined;
    if (this.enabled) throwIfFailed(await this.write());
  }

  /**
   * Resolves once every change scheduled so far is on disk: what no write has taken yet is written now, and
   * what one already has is waited for, not written a second time. Rejects with PERSIST_FAILED.
   */
  async settle(): Promise<void> {
    if (this.dirty) await this.flush();
    else throwIfFailed(await this.writing);
  }

  /** True while the file lags behind memory because writes fail (they are being retried). */
  get failing(): boolean {
    return this.failures > 0;
  }

  private write(): Promise<WriteResult> {
    this.dirty = false;
    this.writing = this.writing.then(async (): Promise<WriteResult> => {
      try {
        await writeFileAtomic(this.file, `${JSON.stringify(this.snapshot(), null, 2)}\n`);
      } catch (err) {
        return this.failed(err);
      }
      if (this.failures > 0) this.log.info(`${this.file} is written again (after ${this.failures} failed attempt(s))`);
      this.failures = 0;
      return { ok: true };
    });
    return this.writing;
  }

  private failed(err: unknown): WriteResult {
    // Logged once per run of failures: a full disk must not turn into a log line every retry.
    if (this.failures++ === 0) this.log.error(`could not write ${this.file}; retrying every ${PERSIST_RETRY_MS / 1000} s until it is written`, err);
    // Memory is ahead of the disk: keep trying until they agree.
    this.dirty = true;
    this.arm(PERSIST_RETRY_MS);
    const why = (err instanceof Error ? err.message : String(err)).replace(` (writing ${this.file})`, '');
    return { ok: false, error: new TeleptyError('PERSIST_FAILED', `could not save the change to ${this.file} (${why})`, { file: this.file }) };
  }
}

function throwIfFailed(result: WriteResult): void {
  if (!result.ok) throw result.error;
}
