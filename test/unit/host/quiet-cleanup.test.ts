import { describe, expect, it } from 'vitest';
import { PerformanceObserver, constants } from 'node:perf_hooks';
import { getHeapCodeStatistics } from 'node:v8';
import { QuietCleanup, fullCollection } from '../../../src/host/quiet-cleanup.js';
import { sleep, waitFor } from '../../helpers/env.js';

const QUIET = 80;
const AFTER = 1000;

describe('QuietCleanup (a collection once the session is quiet after a burst)', () => {
  it('collects once, QUIET after the last output of a burst, and not again while idle', async () => {
    let collected = 0;
    const c = new QuietCleanup(() => collected++, { quietMs: QUIET, afterBytes: AFTER });
    // A burst that keeps going past the quiet time: no collection while output flows.
    const t0 = Date.now();
    let last = t0;
    while (Date.now() - t0 < QUIET * 2) {
      c.write(Buffer.alloc(200));
      last = Date.now();
      await sleep(10);
    }
    expect(collected).toBe(0);
    await waitFor('one collection', () => collected === 1, 5_000, 5);
    expect(Date.now() - last).toBeGreaterThanOrEqual(QUIET);
    await sleep(QUIET * 3);
    expect(collected).toBe(1);
    c.end();
  });

  it('does not collect for a trickle (less than the threshold since the last collection), nor at its start', async () => {
    let collected = 0;
    const c = new QuietCleanup(() => collected++, { quietMs: QUIET, afterBytes: AFTER });
    for (let i = 0; i < 5; i++) c.write(Buffer.alloc(100));
    await sleep(QUIET * 3);
    expect(collected).toBe(0);
    // The trickle adds up: the byte that crosses the threshold arms it.
    c.write(Buffer.alloc(600));
    await waitFor('a collection', () => collected === 1, 5_000, 5);
    c.end();
  });

  it('collects early once and again at QUIET, both after the last output, then not again while idle', async () => {
    const at: number[] = [];
    const lasts: boolean[] = [];
    const c = new QuietCleanup(
      (last) => {
        at.push(Date.now());
        lasts.push(last);
      },
      { earlyMs: QUIET / 2, quietMs: QUIET * 2, afterBytes: AFTER },
    );
    c.write(Buffer.alloc(AFTER));
    const last = Date.now();
    await waitFor('two collections', () => at.length === 2, 5_000, 5);
    expect((at[0] as number) - last).toBeGreaterThanOrEqual(QUIET / 2);
    expect((at[1] as number) - last).toBeGreaterThanOrEqual(QUIET * 2);
    await sleep(QUIET * 4);
    expect(at.length).toBe(2);
    expect(lasts).toEqual([false, true]); // the young generation's pages are given back at the last one
    c.end();
  });

  it('collects nothing once ended (the session exited)', async () => {
    let collected = 0;
    const c = new QuietCleanup(() => collected++, { quietMs: QUIET, afterBytes: AFTER });
    c.write(Buffer.alloc(AFTER));
    c.end();
    await sleep(QUIET * 3);
    expect(collected).toBe(0);
  });
});

describe('fullCollection (V8 gc without node --expose-gc)', () => {
  it('collects: an object nothing refers to is gone after it', async () => {
    // The WeakRef is made in an earlier task: V8 keeps a WeakRef's target alive until the end of the task that made it.
    const ref = await new Promise<WeakRef<object>>((resolve) => setTimeout(() => resolve(new WeakRef({ big: new Array(1000).fill(1) })), 0));
    await sleep(10);
    await fullCollection();
    expect(ref.deref()).toBeUndefined();
  });
});

describe('fullCollection({ youngPages: true }) (the young generation\'s written pages given back)', () => {
  /** The kinds of the collections V8 reports while `run` runs. */
  const kinds = async (run: () => Promise<void>): Promise<string[]> => {
    const seen: string[] = [];
    const names: Record<number, string> = { [constants.NODE_PERFORMANCE_GC_MAJOR]: 'major', [constants.NODE_PERFORMANCE_GC_MINOR]: 'minor' };
    const obs = new PerformanceObserver((list) => {
      for (const e of list.getEntries()) {
        const kind: unknown = Reflect.get(Reflect.get(e, 'detail') as object, 'kind');
        seen.push(typeof kind === 'number' ? (names[kind] ?? 'other') : 'other');
      }
    });
    obs.observe({ entryTypes: ['gc'] });
    await run();
    await sleep(50); // gc entries are delivered asynchronously
    obs.disconnect();
    return seen;
  };

  it('runs a scavenge between full collections (it is what lets the written semi-space go); a plain one does not', async () => {
    // (A scavenge of the test's own may come after them, while the entries are awaited.)
    expect((await kinds(() => fullCollection())).join(',')).not.toMatch(/major,minor,major/);
    expect((await kinds(() => fullCollection({ youngPages: true }))).join(',')).toMatch(/^major,minor,major,major/);
  });
});

describe('fullCollection({ flushCode: true }) (the compiled code of what is not running is let go)', () => {
  const bytecode = (): number => getHeapCodeStatistics().bytecode_and_metadata_size;
  /** A function with a large body, compiled and run once (its bytecode is then held by V8). */
  const compiledOnce = (): void => {
    const body = Array.from({ length: 2000 }, (_, i) => `s += x * ${i} + (x > ${i} ? 1 : 2);`).join('\n');
    const f = new Function('x', `let s = 0;\n${body}\nreturn s;`) as (x: number) => number;
    expect(f(1)).toBeGreaterThan(0);
    held.push(f);
  };
  const held: unknown[] = [];

  it('drops the bytecode of a function that ran once; a plain collection keeps it, and the function still runs after', async () => {
    compiledOnce();
    await fullCollection();
    const kept = bytecode();
    compiledOnce();
    const withSecond = bytecode();
    expect(withSecond - kept).toBeGreaterThan(20_000);
    await fullCollection();
    expect(bytecode()).toBeGreaterThan(withSecond - 10_000);
    await fullCollection({ flushCode: true });
    // Everything not on the stack goes, the big body with it.
    expect(bytecode()).toBeLessThan(withSecond - 20_000);
    const again = held[1] as (x: number) => number;
    expect(again(1)).toBeGreaterThan(0);
  });

  it('sets the flags for that collection only: the next plain collection flushes nothing recent', async () => {
    compiledOnce();
    await fullCollection({ flushCode: true });
    compiledOnce();
    const before = bytecode();
    await fullCollection();
    expect(bytecode()).toBeGreaterThan(before - 10_000);
  });
});

