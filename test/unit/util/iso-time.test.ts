import { execFileSync } from 'node:child_process';
import { describe, expect, it } from 'vitest';
import { isoTime } from '../../../src/util/iso-time.js';

describe('isoTime (toISOString without V8s date cache)', () => {
  it('gives toISOString text for every four-digit year, and leaves other times to Date', () => {
    const edges = [
      0, -0, 1, -1, 999, 1.9, -1.9, 951_782_400_000 /* 2000-02-29 */, 951_868_799_999, -2_203_891_200_000 /* 1900-03-01 */,
      -62_167_219_200_000, -62_167_219_200_001, 253_402_300_799_999, 253_402_300_800_000, 8.64e15, -8.64e15, Date.now(),
    ];
    // Deterministic spread over the whole range (a linear congruential walk, no Math.random: a failure repeats).
    let x = 12_345;
    const spread = Array.from({ length: 20_000 }, () => {
      x = (x * 1_103_515_245 + 12_345) % 2 ** 31;
      return -62_167_219_200_000 + (x / 2 ** 31) * 315_569_520_000_000 + (x % 1_000);
    });
    for (const ms of [...edges, ...spread]) expect(isoTime(ms), String(ms)).toBe(new Date(ms).toISOString());
    expect(() => isoTime(Number.NaN)).toThrow(RangeError);
  });

  it('in a fresh Node, leaves the node binarys ICU pages alone (toISOString makes ~0.8 MB of them resident)', () => {
    // The node binary's resident KB (its file-backed mappings in /proc/self/smaps), before and after 100 stamps.
    const script = (stamp: string): string => `
      const fs = require('node:fs');
      const binaryKb = () => { let on = false, kb = 0;
        for (const l of fs.readFileSync('/proc/self/smaps', 'utf8').split('\\n')) {
          const m = /^[0-9a-f]+-[0-9a-f]+ \\S+ \\S+ \\S+ \\S+\\s*(.*)$/.exec(l);
          if (m) on = m[1] === process.execPath; else if (on && l.startsWith('Rss:')) kb += Number(l.split(/\\s+/)[1]);
        } return kb; };
      const isoTime = ${isoTime.toString()};
      binaryKb(); const before = binaryKb();
      let out = ''; for (let i = 0; i < 100; i++) out = ${stamp};
      process.stdout.write(JSON.stringify({ grew: binaryKb() - before, out }));`;
    const run = (stamp: string): { grew: number; out: string } =>
      JSON.parse(execFileSync(process.execPath, ['-e', script(stamp)], { encoding: 'utf8', env: { ...process.env, NODE_OPTIONS: '' } })) as { grew: number; out: string };
    // Against the same loop making a plain string of the time: what the stamp itself made resident.
    const plain = run('String(Date.now() + i)').grew;
    const own = run('isoTime(Date.now() + i)');
    const date = run('new Date(Date.now() + i).toISOString()');
    expect(own.out).toMatch(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/);
    expect(date.grew - plain).toBeGreaterThan(500);
    expect(own.grew - plain).toBeLessThan(300);
  });
});
