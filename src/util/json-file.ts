import { promises as fs } from 'node:fs';
import { readTextIfExists, writeFileAtomic } from './files.js';
import type { Logger } from './log.js';

/**
 * A JSON file the daemon owns: written atomically (temp + rename), changes within `debounceMs` written once,
 * never a rewrite per event. Writing starts with enable() (only the daemon that won the claim writes). A file it
 * cannot read is moved aside, never deleted, and never fatal.
 */
export class DebouncedJsonFile<T> {
  private timer: NodeJS.Timeout | undefined;
  private writing: Promise<void> = Promise.resolve();
  private enabled = false;
  private dirty = false;

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
    if (!this.enabled) return;
    this.timer ??= setTimeout(() => {
      this.timer = undefined;
      void this.write();
    }, this.debounceMs);
  }

  /** Write now (shutdown, or a change that must not wait), after any write in progress. */
  async flush(): Promise<void> {
    clearTimeout(this.timer);
    this.timer = undefined;
    if (this.enabled) await this.write();
  }

  /**
   * Resolves once every change scheduled so far is on disk: what no write has taken yet is written now, and
   * what one already has is waited for, not written a second time.
   */
  async settle(): Promise<void> {
    if (this.dirty) await this.flush();
    else await this.writing;
  }

  private write(): Promise<void> {
    this.dirty = false;
    this.writing = this.writing.then(async () => {
      try {
        await writeFileAtomic(this.file, `${JSON.stringify(this.snapshot(), null, 2)}\n`);
      } catch (err) {
        this.log.error(`could not write ${this.file}`, err);
      }
    });
    return this.writing;
  }
}
