import { describe, expect, it } from 'vitest';
import { fullCollection } from '../../../src/host/quiet-cleanup.js';
import { ScreenModel } from '../../../src/terminal/screen.js';

/** V8's heap in use once everything unreachable is collected. */
async function liveHeap(): Promise<number> {
  await fullCollection();
  return process.memoryUsage().heapUsed;
}

// The inject queue keeps the last submission's cursor state, and inject-follow.ts the rows above each prompt, for as
// long as a session lives (issue 24: a host's memory once a flood is over).
describe('ScreenModel.cursorState rows are held in one piece', () => {
  it('keeps 100 states of a full 120x40 screen in under 2 MB (0.35 MB measured; a chain of one node per character: 7.3 MB)', async () => {
    const s = new ScreenModel(120, 40, () => undefined, () => undefined, { compactQuietMs: 60_000 });
    const row = (i: number): string => `row ${i} `.padEnd(119, 'abcdefghij');
    s.write(Buffer.from(Array.from({ length: 39 }, (_, i) => row(i)).join('\r\n')));
    const first = await s.cursorState();
    expect(first.above).toHaveLength(20);
    expect(first.above?.[19]).toBe(row(37));
    expect(first.line).toBe(row(38));
    const kept: unknown[] = [];
    const before = await liveHeap();
    for (let i = 0; i < 100; i++) kept.push(await s.cursorState());
    const grown = (await liveHeap()) - before;
    expect(kept).toHaveLength(100);
    expect(grown).toBeLessThan(2 * 1024 * 1024);
    s.dispose();
  });
});
