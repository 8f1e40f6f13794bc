import { mkdtempSync, readFileSync, readdirSync, rmSync, statSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { ColdFile } from '../../../src/terminal/cold-file.js';
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

const tmp = mkdtempSync(path.join(os.tmpdir(), 'telepty-cold-'));
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

/** Every screen test runs twice: the compacted text in memory (no file given), and in its file (as a host keeps it). */
const WHERE = [
  { where: 'in memory', file: false },
  { where: 'in a file', file: true },
] as const;

async function reads(s: ScreenModel): Promise<unknown> {
  return {
    plain: await s.snapshot({ scrollback: true, ansi: false }),
    ansi: await s.snapshot({ scrollback: true, ansi: true }),
    last: await s.snapshot({ scrollback: true, ansi: false, lines: 50 }),
    screen: await s.snapshot({ scrollback: false, ansi: true }),
    cursor: await s.cursorState(),
  };
}

describe.each(WHERE)('the compact scrollback (cold rows), its text $where', ({ file }) => {
  const model = (cols = 40, rows = 10, compactQuietMs = 60_000): ScreenModel =>
    new ScreenModel(cols, rows, () => undefined, () => undefined, { compactQuietMs, ...(file ? { coldSpill: new ColdFile(path.join(tmp, 'scrollback')) } : {}) });
  /** A compaction pass, and (with a file) its text written there and let go from memory. */
  const compact = async (s: ScreenModel): Promise<void> => {
    s.compact();
    await s.coldWritten();
    await new Promise((r) => setImmediate(r));
    if (s.coldLength > 0) expect(s.coldOnDisk).toBe(file);
  };

  it('reads the same before and after the scrollback is compacted: text, colours, the cursor row numbers', async () => {
    const s = model();
    s.write(Buffer.from(`${history(900)}prompt> `));
    const before = await reads(s);
    await compact(s);
    expect(s.coldLength).toBeGreaterThan(500);
    expect(await reads(s)).toEqual(before);
    s.dispose();
  });

  it('keeps reading the same as an uncompacted screen as output goes on after it, up to the line cap', async () => {
    const a = model();
    const b = model();
    for (const s of [a, b]) s.write(Buffer.from(history(1_200)));
    await compact(a);
    for (const [n, from] of [
      [300, 1_200],
      [SCROLLBACK_LINES, 1_500],
    ] as const) {
      for (const s of [a, b]) s.write(Buffer.from(history(n, from)));
      const want = await reads(b);
      expect(await reads(a)).toEqual(want);
      const { plain } = want as { plain: { lines: string[] } };
      expect(plain.lines.length).toBeLessThanOrEqual(SCROLLBACK_LINES + 10);
      await compact(a); // a second pass adds to the cold rows
      expect(await reads(a)).toEqual(want);
    }
    a.dispose();
    b.dispose();
  });

  it('reflows the cold rows with the rest on a resize, narrower and wider, as if they had never been compacted', async () => {
    const a = model();
    const b = model();
    for (const s of [a, b]) s.write(Buffer.from(`${history(900)}$ `));
    await compact(a);
    expect(a.coldLength).toBeGreaterThan(0);
    for (const [cols, rows] of [
      [27, 12],
      [90, 8],
    ] as const) {
      a.resize(cols, rows);
      b.resize(cols, rows);
      expect(a.coldLength).toBe(0); // written back into xterm for its reflow
      expect(await reads(a)).toEqual(await reads(b));
      await compact(a); // compacted again at the new width
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
      await compact(a);
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
    await compact(a);
    for (const s of [a, b]) s.write(Buffer.from('\x1b[?1049hfull screen app\x1b[3J'));
    expect(await reads(a)).toEqual(await reads(b));
    await compact(a); // and a pass under it compacts the normal buffer's scrollback
    expect(a.coldLength).toBeGreaterThan(0); // CSI 3 J on the alternate screen erases no scrollback
    for (const s of [a, b]) s.write(Buffer.from('\x1b[?1049lback\r\n'));
    expect(await reads(a)).toEqual(await reads(b));
    a.dispose();
    b.dispose();
  });

  it('compacts by itself once output has been quiet, and not while it flows', async () => {
    const s = model(40, 10, 150);
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
    await compact(s);
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

describe('the compacted text in a file (a host keeps it there, not in its heap)', () => {
  const screen = (spill: ColdFile, errors: string[]): ScreenModel =>
    new ScreenModel(40, 10, () => undefined, () => undefined, { compactQuietMs: 60_000, coldSpill: spill, onColdError: (m) => errors.push(m) });
  const settle = async (s: ScreenModel): Promise<void> => {
    await s.coldWritten();
    await new Promise((r) => setImmediate(r));
  };

  it('writes the rows to a file of its own, unlinked and 0600, and holds none of their text in memory', async () => {
    const dir = path.join(tmp, 'own');
    const spill = new ColdFile(dir);
    const errors: string[] = [];
    const s = screen(spill, errors);
    s.write(Buffer.from(history(900)));
    const before = await s.snapshot({ scrollback: true, ansi: true });
    s.compact();
    expect(s.coldOnDisk).toBe(false); // written asynchronously: in memory until then
    await settle(s);
    expect(s.coldOnDisk).toBe(true);
    const fd = spill.descriptor as number;
    const onDisk = readFileSync(`/proc/self/fd/${fd}`, 'utf8');
    expect(onDisk).toContain('plain line 0 with some words');
    expect(onDisk).toContain('\x1b[0;31mred 1'); // the coloured renderings too
    expect(statSync(`/proc/self/fd/${fd}`).mode & 0o777).toBe(0o600);
    expect(readdirSync(dir)).toEqual([]); // no name: it goes with the process, however it ends
    // A read brings the text back for that read only.
    expect(await s.snapshot({ scrollback: true, ansi: true })).toEqual(before);
    await new Promise((r) => setImmediate(r));
    expect(s.coldOnDisk).toBe(true);
    s.dispose();
    expect(spill.descriptor).toBeNull();
    expect(errors).toEqual([]);
  });

  it('ends quietly when the session ends while the text is being written (the file is closed after the write)', async () => {
    const spill = new ColdFile(path.join(tmp, 'ending'));
    const errors: string[] = [];
    const s = screen(spill, errors);
    s.write(Buffer.from(history(900)));
    s.compact();
    s.dispose();
    await s.coldWritten();
    await new Promise((r) => setTimeout(r, 20));
    expect(spill.descriptor).toBeNull();
    expect(errors).toEqual([]);
  });

  it('keeps the text in memory when the file cannot be written, and says so', async () => {
    const notADir = path.join(tmp, 'a-file');
    writeFileSync(notADir, '');
    const errors: string[] = [];
    const a = screen(new ColdFile(path.join(notADir, 'scrollback')), errors);
    const b = model0();
    for (const s of [a, b]) s.write(Buffer.from(history(900)));
    a.compact();
    await settle(a);
    expect(a.coldLength).toBeGreaterThan(0);
    expect(a.coldOnDisk).toBe(false);
    expect(errors).toEqual([expect.stringMatching(/stay in memory: their file could not be written \(ENOTDIR/)]);
    expect(await a.snapshot({ scrollback: true, ansi: true })).toEqual(await b.snapshot({ scrollback: true, ansi: true }));
    a.compact(); // nothing more to compact, and no second attempt at the file
    a.resize(30, 10);
    b.resize(30, 10);
    a.compact();
    await settle(a);
    expect(errors.length).toBe(1);
    expect(await a.snapshot({ scrollback: true, ansi: false })).toEqual(await b.snapshot({ scrollback: true, ansi: false }));
    a.dispose();
    b.dispose();
  });

  it('reads on without the lost rows, never throwing, when the file cannot be read back', async () => {
    const spill = new ColdFile(path.join(tmp, 'lost'));
    const errors: string[] = [];
    const s = screen(spill, errors);
    s.write(Buffer.from(`${history(900)}prompt> `));
    const screenBefore = await s.snapshot({ scrollback: false, ansi: false });
    const cursorBefore = await s.cursorState();
    s.compact();
    await settle(s);
    const cold = s.coldLength;
    expect(s.coldOnDisk).toBe(true);
    spill.close(); // the descriptor gone behind the store's back
    const all = await s.snapshot({ scrollback: true, ansi: false });
    expect(errors).toEqual([expect.stringMatching(new RegExp(`the ${cold} oldest scrollback rows were lost: their file could not be read back`))]);
    expect(s.coldLength).toBe(0);
    expect(all.lines.slice(-screenBefore.lines.length)).toEqual(screenBefore.lines);
    expect((await s.cursorState()).line).toBe(cursorBefore.line);
    s.resize(30, 8); // a resize after it too
    expect((await s.snapshot({ scrollback: false, ansi: false })).rows).toBe(8);
    s.dispose();
  });
});

function model0(): ScreenModel {
  return new ScreenModel(40, 10, () => undefined, () => undefined, { compactQuietMs: 60_000 });
}
