import type { OutputSink } from './parts.js';

/**
 * How long the session must have been quiet before the host collects: V8 shrinks its young generation (which grows
 * to 16 MB a semi-space in a flood) only at a collection when its allocation rate over the last ~5 s is low.
 */
export const QUIET_CLEANUP_MS = 6_000;
/**
 * A first collection this soon after the burst. V8 shrinks its young generation at a collection only when the
 * allocation of its last 5 s was low, judged from the allocation between its collections: with one collection at
 * QUIET_CLEANUP_MS, that was everything since the flood's last scavenge (up to a 16 MB semi-space), and the young
 * generation stayed grown in about half of the floods (+8-14 MB, bench/host-memory.md). After this one, the one at
 * QUIET_CLEANUP_MS sees more than 5 s with next to no allocation. It also frees the scrollback rows the screen
 * compacted 0.5 s after the output (terminal/screen.ts).
 */
export const EARLY_CLEANUP_MS = 750;
/** Output since the last collection that makes one worth it: a spinner's few bytes a second never trigger it. */
export const CLEANUP_AFTER_BYTES = 1024 * 1024;

export interface QuietCleanupOptions {
  quietMs: number;
  /** A first collection after this much quiet (none unless shorter than quietMs). */
  earlyMs: number;
  afterBytes: number;
  now: () => number;
}

/**
 * Gives memory back once a session goes quiet after a burst (issue 24): a host is a long-lived process that is idle
 * most of its life, and V8 on its own keeps what a flood grew (a young generation of 2 x 16 MB, dead read buffers)
 * for as long as nothing allocates. (What the host's start allocated V8's memory reducer gives back by itself, 8 s
 * later: a collection here then only postponed that, bench/host-memory.md.) The collection runs
 * only after `quietMs` without output, so it never competes with output or keystrokes; nothing is armed while
 * the session is busy or idle since the last collection.
 */
export class QuietCleanup implements OutputSink {
  private sinceCollect: number;
  private lastOutput: number;
  private timer: NodeJS.Timeout | undefined;
  private readonly opts: QuietCleanupOptions;
  /** The quiet times of this burst's collections, and the next one's index. */
  private readonly stages: number[];
  private stage = 0;

  constructor(
    /** Runs a collection; `last` at the burst's last one (QUIET_CLEANUP_MS into the quiet). */
    private readonly collect: (last: boolean) => void,
    opts: Partial<QuietCleanupOptions> = {},
  ) {
    this.opts = { quietMs: QUIET_CLEANUP_MS, earlyMs: EARLY_CLEANUP_MS, afterBytes: CLEANUP_AFTER_BYTES, now: Date.now, ...opts };
    this.stages = this.opts.earlyMs < this.opts.quietMs ? [this.opts.earlyMs, this.opts.quietMs] : [this.opts.quietMs];
    this.lastOutput = this.opts.now();
    this.sinceCollect = 0;
  }

  write(data: Buffer): void {
    this.sinceCollect += data.length;
    this.lastOutput = this.opts.now();
    if (this.timer === undefined && this.sinceCollect >= this.opts.afterBytes) {
      this.stage = 0;
      this.arm(this.stages[0] as number);
    }
  }

  end(): void {
    clearTimeout(this.timer);
    this.timer = undefined;
  }

  private arm(ms: number): void {
    this.timer = setTimeout(() => this.check(), ms);
    this.timer.unref();
  }

  private check(): void {
    this.timer = undefined;
    const quiet = this.opts.now() - this.lastOutput;
    const due = this.stages[this.stage] as number;
    if (quiet < due) {
      this.arm(due - quiet);
      return;
    }
    this.sinceCollect = 0;
    this.stage++;
    const next = this.stages[this.stage];
    this.collect(next === undefined);
    if (next !== undefined) this.arm(next - quiet);
  }
}

/** What a full collection also does (fullCollection). */
export interface CollectionOptions {
  /**
   * Let go of the compiled code of every function not running at that moment (V8's `--stress-flush-code` and
   * `--flush-baseline-code` for this collection only): the flood path's optimised code and bytecode (~0.3-0.4 MB
   * after a 40 MB flood, bench/host-memory.md). What runs again is compiled again on its first call, as at a host's
   * start: the first output or keys after a quiet-time collection run unoptimised code again for a while.
   */
  flushCode?: boolean;
  /**
   * Then give back the young generation's pages the burst wrote: a scavenge, then two more full collections. After a
   * flood the young generation is shrunk back to one 1 MB semi-space at the quiet-time collection, but its pages stay
   * written (resident) through further full collections (3 in a row: +2.1 to +2.3 MB over idle, as with one); with a
   * scavenge between them they are let go (+0.6 to +1.5 MB, bench/host-memory.md, Dec 5 fourth session). Only for a
   * collection after the young generation was shrunk (the last of a burst's, at QUIET_CLEANUP_MS).
   */
  youngPages?: boolean;
}

/**
 * V8's full collection. Not through `node --expose-gc`: that flag costs every host ~3 ms of CPU at its start, which
 * is on `spawn`'s path (bench/host-memory.md). Node's documented way instead: the flag set at run time, and the
 * `gc` of a new context (a fresh one each time: collections are rare, and none is kept alive between them).
 */
export async function fullCollection(opts: CollectionOptions = {}): Promise<void> {
  const [{ setFlagsFromString }, { runInNewContext }] = await Promise.all([import('node:v8'), import('node:vm')]);
  setFlagsFromString('--expose-gc');
  const gc: unknown = runInNewContext('gc');
  if (typeof gc !== 'function') throw new Error('V8 did not expose gc');
  // Old-space pages the flood filled part-way are evacuated and given back too (a regular full collection compacts
  // only some); set for this collection only, as the code flush is.
  const flags = ['compact-on-every-full-gc', ...(opts.flushCode ? ['stress-flush-code', 'flush-baseline-code'] : [])];
  for (const f of flags) setFlagsFromString(`--${f}`);
  try {
    Reflect.apply(gc, undefined, []);
    if (opts.youngPages) {
      Reflect.apply(gc, undefined, [{ type: 'minor' }]);
      Reflect.apply(gc, undefined, []);
      Reflect.apply(gc, undefined, []);
    }
  } finally {
    for (const f of flags) setFlagsFromString(`--no-${f}`);
  }
}
