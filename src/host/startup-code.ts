import { PerformanceObserver, constants } from 'node:perf_hooks';
import { setFlagsFromString } from 'node:v8';

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
 * Set at run time: a V8 flag on the host's command line would cost every start its builtins' code cache.
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
    setFlags(`--bytecode-old-age=${DEFAULT_BYTECODE_OLD_AGE}`);
  };
  setFlags(`--bytecode-old-age=${STARTUP_BYTECODE_OLD_AGE}`);
  observer.observe({ entryTypes: ['gc'] });
  return end;
}
