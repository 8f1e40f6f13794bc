import type { OutputSink } from './parts.js';

/**
 * When a quiet host settles its start with a memory-reducing collection of its own (quiet-cleanup.ts
 * memoryReducingCollection), after it started its session. Without it, V8's memory reducer does the same ~8 s after the
 * process's start, and only when its allocation-rate check agrees, so an idle host read 9 s after its spawn was now and
 * then still holding its start (1.67-1.72x bare Node instead of 1.46-1.48x; a spare host's reducer runs 8 s after the
 * spare started, at any point of the session's start). 3 s: a host has registered and the program drawn its first
 * screen well within it here (registration ~0.1-0.3 s after the spawn), and it leaves 6 s before the bench's reading.
 */
export const SETTLE_AFTER_MS = 3_000;
/**
 * No output for this long first: a program still drawing its start is not settled yet (the check is made again once
 * it has been quiet this long). A program that never goes quiet (a spinner) is left to V8's memory reducer as before.
 */
export const SETTLE_QUIET_MS = 1_000;

export interface StartSettleOptions {
  afterMs: number;
  quietMs: number;
  now: () => number;
}

/**
 * Runs `settle` once, `afterMs` after it was made, as soon as the session has been quiet for `quietMs`. An output sink
 * (it only notes when output came); `end` (the start's window ended some other way: V8's own collections, a flood, the
 * exit) cancels it.
 */
export class StartSettle implements OutputSink {
  private readonly opts: StartSettleOptions;
  private lastOutput: number;
  private timer: NodeJS.Timeout | undefined;
  private done = false;

  constructor(
    private readonly settle: () => void,
    opts: Partial<StartSettleOptions> = {},
  ) {
    this.opts = { afterMs: SETTLE_AFTER_MS, quietMs: SETTLE_QUIET_MS, now: Date.now, ...opts };
    this.lastOutput = -Infinity;
    this.arm(this.opts.afterMs);
  }

  write(): void {
    this.lastOutput = this.opts.now();
  }

  end(): void {
    this.done = true;
    clearTimeout(this.timer);
    this.timer = undefined;
  }

  private arm(ms: number): void {
    this.timer = setTimeout(() => this.check(), ms);
    this.timer.unref();
  }

  private check(): void {
    this.timer = undefined;
    if (this.done) return;
    const quiet = this.opts.now() - this.lastOutput;
    if (quiet < this.opts.quietMs) {
      this.arm(this.opts.quietMs - quiet);
      return;
    }
    this.done = true;
    this.settle();
  }
}
