import { describe, expect, it } from 'vitest';
import { fullCollection } from '../../../src/host/quiet-cleanup.js';
import { setFlagsFromString } from 'node:v8';
import { DEFAULT_BYTECODE_OLD_AGE, STARTUP_BYTECODE_OLD_AGE, letStartupCodeGo, startupFlags, startupOutputSink, withoutOptimizer } from '../../../src/host/startup-code.js';
import { waitFor } from '../../helpers/env.js';

// What it buys is measured, not asserted here: V8 ages no bytecode at a forced collection (gc()), and a natural one
// cannot be had on cue; an idle host with it held 0.4-0.9 MB less (bench/host-memory.md).
describe('letStartupCodeGo (the code only a host start ran is let go at its first major collections)', () => {
  it('sets the short bytecode age, and V8s own again after that many major collections', async () => {
    const flags: string[] = [];
    letStartupCodeGo({ setFlags: (f) => flags.push(f), majorGcs: 2 });
    expect(flags).toEqual([`--bytecode-old-age=${STARTUP_BYTECODE_OLD_AGE} --flush-baseline-code --compact-on-every-full-gc`]);
    await fullCollection();
    await new Promise((r) => setTimeout(r, 50));
    expect(flags).toHaveLength(1);
    await fullCollection();
    await waitFor('the default age back', () => flags.length === 2, 5_000, 10);
    expect(flags[1]).toBe(`--bytecode-old-age=${DEFAULT_BYTECODE_OLD_AGE} --no-flush-baseline-code --no-compact-on-every-full-gc`);
    // Nothing more once it is over.
    await fullCollection();
    await new Promise((r) => setTimeout(r, 50));
    expect(flags).toHaveLength(2);
  });

  it('stops when ended early (the host exited), restoring V8s own age once', async () => {
    const flags: string[] = [];
    const end = letStartupCodeGo({ setFlags: (f) => flags.push(f), majorGcs: 2 });
    end();
    end();
    await fullCollection();
    await fullCollection();
    await new Promise((r) => setTimeout(r, 50));
    expect(flags).toEqual([startupFlags(true), startupFlags(false)]);
    expect(startupFlags(false)).toBe(`--bytecode-old-age=${DEFAULT_BYTECODE_OLD_AGE} --no-flush-baseline-code --no-compact-on-every-full-gc`);
  });

  it('ends once that much output went through (a flood), once', () => {
    let ended = 0;
    const sink = startupOutputSink(() => ended++, 1000);
    sink.write(Buffer.alloc(600));
    expect(ended).toBe(0);
    sink.write(Buffer.alloc(400));
    expect(ended).toBe(1);
    sink.write(Buffer.alloc(5000));
    expect(ended).toBe(1);
  });
});

describe('withoutOptimizer (work done once at a host start is not optimised: TurboFan code pages untouched)', () => {
  it('turns TurboFan off for the call and on again, also when it throws', () => {
    const flags: string[] = [];
    expect(withoutOptimizer(() => flags.length, (f) => flags.push(f))).toBe(1);
    expect(flags).toEqual(['--no-turbofan', '--turbofan']);
    expect(() => withoutOptimizer(() => { throw new Error('boom'); }, (f) => flags.push(f))).toThrow('boom');
    expect(flags).toEqual(['--no-turbofan', '--turbofan', '--no-turbofan', '--turbofan']);
  });

  it('a function made hot inside it is not marked for optimisation; the same outside is', () => {
    // V8's own view (%GetOptimizationStatus; natives syntax is read when a function is compiled, so this is set first).
    setFlagsFromString('--allow-natives-syntax');
    const status = new Function('f', 'return %GetOptimizationStatus(f)') as (f: () => number) => number;
    // Optimised, TurboFanned, marked for (concurrent) optimisation, optimising concurrently (V8 11-12's bits).
    const TIERED_UP = 16 | 64 | 256 | 512 | 1024;
    const hot = (): ((n: number) => number) => new Function('n', 'let s = 0; for (let i = 0; i < n; i++) s += i & 7; return s') as (n: number) => number;
    const inside = hot();
    withoutOptimizer(() => {
      for (let i = 0; i < 3_000; i++) inside(200);
    });
    const outside = hot();
    for (let i = 0; i < 3_000; i++) outside(200);
    expect(status(inside as () => number) & TIERED_UP).toBe(0);
    expect(status(outside as () => number) & TIERED_UP).not.toBe(0);
  });
});
