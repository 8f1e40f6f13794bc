import { describe, expect, it } from 'vitest';
import { fullCollection } from '../../../src/host/quiet-cleanup.js';
import { DEFAULT_BYTECODE_OLD_AGE, STARTUP_BYTECODE_OLD_AGE, letStartupCodeGo, startupFlags, startupOutputSink } from '../../../src/host/startup-code.js';
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
