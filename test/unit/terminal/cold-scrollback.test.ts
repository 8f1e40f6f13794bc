import { describe, expect, it } from 'vitest';
import { ColdScrollback, type ColdRow } from '../../../src/terminal/cold-scrollback.js';
import { SCROLLBACK_LINES, ScreenModel } from '../../../src/terminal/screen.js';
import { waitFor } from '../../helpers/env.js';

/** Output of every kind a scrollback row is read for: plain, colours (palette, 256, RGB), attributes, wide characters, wrapped lines. */
function history(lines: number, from = 0): string {
  const out: string[] = [];
  for (let i = from; i < from + lines; i++) {
    switch (i % 6) {
      case 0:
        out.push(`plain line ${i} with some words`);
        break;
      case 1:
        out.push(`\x1b[31mred ${i}\x1b[0m then \x1b[1;44mbold on blue\x1b[0m \x1b[38;5;208morange\x1b[0m \x1b[38;2;10;20;30mrgb\x1b[0m`);
        break;
      case 2:
        out.push(`🚀 wide ${i} 漢字かな ✓ done`);
        break;
      case 3:
        out.push(`a long line ${i} `.padEnd(100, 'x') + ' end'); // wraps over three 40-column rows
        break;
      case 4:
        out.push(`\x1b[7minverse ${i}\x1b[0m \x1b[4munder\x1b[0m \x1b[2mdim\x1b[0m \x1b[3mitalic\x1b[9mstrike\x1b[0m`);
        break;
      default:
        out.push(`\x1b[42m${' '.repeat(6)}\x1b[0m green cells ${i}\x1b[K`);
    }
  }
  return `${out.join('\r\n')}\r\n`;
}

function model(cols = 40, rows = 10): ScreenModel {
  return new ScreenModel(cols, rows, () => undefined, () => undefined, { compactQuietMs: 60_000 });
}

async function reads(s: ScreenModel): Promise<unknown> {
  return {
    plain: await s.snapshot({ scrollback: true, ansi: false }),
    ansi: await s.snapshot({ scrollback: true, ansi: true }),
    last: await s.snapshot({ scrollback: true, ansi: false, lines: 50 }),
    screen: await s.snapshot({ scrollback: false, ansi: true }),
    cursor: await s.cursorState(),
  };
}

describe('the compact scrollback (cold rows)', () => {
  it('reads the same before and after the scrollback is compacted: text, colours, the cursor row numbers', async () => {
    const s = model();
    s.write(Buffer.from(`${history(900)}prompt> `));
    const before = await reads(s);
    s.compact();
    expect(s.coldLength).toBeGreaterThan(500);
    expect(await reads(s)).toEqual(before);
    s.dispose();
  });

  it('keeps reading the same as an uncompacted screen as output goes on after it, up to the line cap', async () => {
    const a = model();
    const b = model();
    for (const s of [a, b]) s.write(Buffer.from(history(1_200)));
    a.compact();
    for (const [n, from] of [
      [300, 1_200],
      [SCROLLBACK_LINES, 1_500],
    ] as const) {
      for (const s of [a, b]) s.write(Buffer.from(history(n, from)));
      const want = await reads(b);
      expect(await reads(a)).toEqual(want);
      const { plain } = want as { plain: { lines: string[] } };
      expect(plain.lines.length).toBeLessThanOrEqual(SCROLLBACK_LINES + 10);
      a.compact(); // a second pass adds to the cold rows
      expect(await reads(a)).toEqual(want);
    }
    a.dispose();
    b.dispose();
  });

  it('reflows the cold rows with the rest on a resize, narrower and wider, as if they had never been compacted', async () => {
    const a = model();
    const b = model();
    for (const s of [a, b]) s.write(Buffer.from(`${history(900)}$ `));
    a.compact();
    expect(a.coldLength).toBeGreaterThan(0);
    for (const [cols, rows] of [
      [27, 12],
      [90, 8],
    ] as const) {
      a.resize(cols, rows);
      b.resize(cols, rows);
      expect(a.coldLength).toBe(0); // written back into xterm for its reflow
      expect(await reads(a)).toEqual(await reads(b));
      a.compact(); // compacted again at the new width
      expect(a.coldLength).toBeGreaterThan(0);
      expect(await reads(a)).toEqual(await reads(b));
    }
    a.dispose();
    b.dispose();
  });

  it('drops the cold rows with the scrollback when the program erases it (CSI 3 J) or resets the terminal (ESC c)', async () => {
    for (const erase of ['\x1b[H\x1b[2J\x1b[3J', '\x1bc']) {
      const a = model();
      const b = model();
      for (const s of [a, b]) s.write(Buffer.from(history(700)));
      a.compact();
      for (const s of [a, b]) s.write(Buffer.from(`${erase}after\r\n`));
      await a.flush();
      expect(a.coldLength).toBe(0);
      expect(await reads(a)).toEqual(await reads(b));
      a.dispose();
      b.dispose();
    }
  });

  it('keeps the cold rows under the alternate screen, and reads them again once the program leaves it', async () => {
    const a = model();
    const b = model();
    for (const s of [a, b]) s.write(Buffer.from(history(700)));
    a.compact();
    for (const s of [a, b]) s.write(Buffer.from('\x1b[?1049hfull screen app\x1b[3J'));
    expect(await reads(a)).toEqual(await reads(b));
    a.compact(); // and a pass under it compacts the normal buffer's scrollback
    expect(a.coldLength).toBeGreaterThan(0); // CSI 3 J on the alternate screen erases no scrollback
    for (const s of [a, b]) s.write(Buffer.from('\x1b[?1049lback\r\n'));
    expect(await reads(a)).toEqual(await reads(b));
    a.dispose();
    b.dispose();
  });

  it('compacts by itself once output has been quiet, and not while it flows', async () => {
    const s = new ScreenModel(40, 10, () => undefined, () => undefined, { compactQuietMs: 150 });
    s.write(Buffer.from(history(700)));
    const before = await reads(s);
    // Output every 50 ms: never quiet for 150 ms.
    for (let i = 0; i < 8; i++) {
      await new Promise((r) => setTimeout(r, 50));
      s.write(Buffer.from('.'));
    }
    expect(s.coldLength).toBe(0);
    await waitFor('the scrollback compacted', () => s.coldLength > 0, 5_000);
    const after = (await reads(s)) as { plain: { lines: string[] } };
    const want = before as { plain: { lines: string[] } };
    expect(after.plain.lines).toEqual([...want.plain.lines, '........']);
    s.dispose();
  });

  it('leaves a short scrollback alone (a few rows are not worth it)', async () => {
    const s = model();
    s.write(Buffer.from(history(200)));
    s.compact();
    expect(s.coldLength).toBe(0);
    s.dispose();
  });
});

describe('the cold row store', () => {
  const rows = (from: number, n: number, coloured: boolean): ColdRow[] =>
    Array.from({ length: n }, (_, i) => ({ text: `row ${from + i}`, ansi: coloured && i % 2 ? `\x1b[0;31mrow ${from + i}\x1b[0m` : `row ${from + i}`, wrapped: i % 3 === 1 }));
  const all = (c: ColdScrollback): ColdRow[] => Array.from({ length: c.length }, (_, i) => ({ text: c.textAt(i), ansi: c.ansiAt(i), wrapped: c.wrappedAt(i) }));

  it('gives back every row as appended, through plain and coloured appends and drops from the front', () => {
    const c = new ColdScrollback();
    let want: ColdRow[] = [];
    const steps: [string, number, boolean][] = [
      ['append', 10, false],
      ['drop', 3, false],
      ['append', 7, true],
      ['drop', 9, false], // past half: the strings are cut
      ['append', 4, false],
      ['drop', 2, false],
    ];
    let next = 0;
    for (const [op, n, coloured] of steps) {
      if (op === 'append') {
        const r = rows(next, n, coloured);
        next += n;
        c.append(r, 80);
        want = want.concat(r);
      } else {
        c.dropOldest(n);
        want = want.slice(n);
      }
      expect(all(c)).toEqual(want);
    }
    expect(c.replay()).toBe(`${want.map((r, i) => (i > 0 && !r.wrapped ? '\r\n' : '') + r.ansi).join('')}\r\n`);
    c.dropOldest(c.length);
    expect(c.length).toBe(0);
  });
});
