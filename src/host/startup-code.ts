import { PerformanceObserver, constants } from 'node:perf_hooks';
import { setFlagsFromString } from 'node:v8';
import type { OutputSink } from './parts.js';

/**
 * V8's own bytecode age (Node 20's V8 11.3, Node 22's V8 12.4): bytecode that has not run for this many major
 * collections is let go, and compiled again if it ever runs again.
 */
export const DEFAULT_BYTECODE_OLD_AGE = 5;
/** While a host lets its start's code go: bytecode that has not run since the previous major collection. */
export const STARTUP_BYTECODE_OLD_AGE = 1;
/**
 * Major collections the short age lasts for: V8's memory reducer runs two ~8 s after the start of a quiet host, and
 * with an age of 1 the second one lets go what the first one aged.
 */
export const STARTUP_MAJOR_GCS = 2;

/**
 * What else holds for those collections (V8's defaults again after them): the baseline (Sparkplug) code of what has
 * not run since the previous major collection is let go with its bytecode (`--flush-baseline-code`: without it, V8
 * keeps a function's bytecode for as long as it has baseline code), and every old-space page is compacted (the
 * start's garbage is spread over pages the memory reducer's collection otherwise keeps part-filled). An idle host
 * 9.17-9.19 MB anon against 9.44-9.49 without them (A/B, 3 hosts each, 2 runs, bench/host-memory.md "Dec 5, fourth
 * session"); `--stress-flush-code` on top (everything not running, whatever its age) gained no more (9.14-9.17).
 */
export const STARTUP_FLAGS = ['flush-baseline-code', 'compact-on-every-full-gc'] as const;

/** The flags while the start's code is let go, and V8's own after. */
export function startupFlags(during: boolean): string {
  const age = `--bytecode-old-age=${during ? STARTUP_BYTECODE_OLD_AGE : DEFAULT_BYTECODE_OLD_AGE}`;
  return [age, ...STARTUP_FLAGS.map((f) => (during ? `--${f}` : `--no-${f}`))].join(' ');
}

/**
 * Output that ends the window early: a session that starts with a flood has its first major collections during it,
 * and compacting every page at each cost the flood's throughput (40 MB no viewer 1.08-1.10x tmux against 1.20-1.25x,
 * 3 runs); such a session has its quiet-time collections after it (quiet-cleanup.ts), which do the same and more.
 */
export const STARTUP_OUTPUT_MAX_BYTES = 1024 * 1024;

/** An output sink that ends the window (`end`, from letStartupCodeGo) once `maxBytes` of output went through. */
export function startupOutputSink(end: () => void, maxBytes = STARTUP_OUTPUT_MAX_BYTES): OutputSink {
  let seen = 0;
  return {
    write(data: Buffer): void {
      if (seen < maxBytes && (seen += data.length) >= maxBytes) end();
    },
  };
}

export interface StartupCodeOptions {
  setFlags: (flags: string) => void;
  majorGcs: number;
}

/**
 * Lets the code that only the host's start ran go at its first major collections (issue 24): loading compiles the
 * bytecode of every module's top level, of xterm's and ws's set-up and of the link's handshake, ~0.5-0.9 MB that an
 * idle host otherwise holds for ever (V8 lets bytecode go only after 5 major collections, and an idle host has 2).
 * The age goes back to V8's own once those collections are over: after them, a long-lived host's code is let go no
 * sooner than V8 does by itself (what is let go and runs again is compiled again, lazily, as at its first run).
 * Set at run time: a V8 flag on the host's command line would cost every start its builtins' code cache. A quiet-time
 * collection in that window (after 1 MiB of output, quiet-cleanup.ts) turns the two STARTUP_FLAGS off when it is done.
 * Returns a function that ends it early (the host exits).
 */
export function letStartupCodeGo(opts: Partial<StartupCodeOptions> = {}): () => void {
  const { setFlags, majorGcs } = { setFlags: setFlagsFromString, majorGcs: STARTUP_MAJOR_GCS, ...opts };
  let seen = 0;
  let done = false;
  const observer = new PerformanceObserver((list) => {
    for (const entry of list.getEntries()) {
      // A 'gc' entry's detail says which collection it was (Node >= 16).
      const detail: unknown = Reflect.get(entry, 'detail');
      if (typeof detail === 'object' && detail !== null && Reflect.get(detail, 'kind') === constants.NODE_PERFORMANCE_GC_MAJOR) seen++;
    }
    if (seen >= majorGcs) end();
  });
  const end = (): void => {
    if (done) return;
    done = true;
    observer.disconnect();
    setFlags(startupFlags(false));
  };
  setFlags(startupFlags(true));
  observer.observe({ entryTypes: ['gc'] });
  return end;
}
