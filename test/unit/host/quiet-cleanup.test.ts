import { describe, expect, it } from 'vitest';
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
    const c = new QuietCleanup(() => at.push(Date.now()), { earlyMs: QUIET / 2, quietMs: QUIET * 2, afterBytes: AFTER });
    c.write(Buffer.alloc(AFTER));
    const last = Date.now();
    await waitFor('two collections', () => at.length === 2, 5_000, 5);
    expect((at[0] as number) - last).toBeGreaterThanOrEqual(QUIET / 2);
    expect((at[1] as number) - last).toBeGreaterThanOrEqual(QUIET * 2);
    await sleep(QUIET * 4);
    expect(at.length).toBe(2);
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
