import { describe, expect, it } from 'vitest';
import { ScreenModel, type ScreenModes } from '../../../src/terminal/screen.js';
import { prng } from '../../helpers/prng.js';

function model(cols = 40, rows = 10): { screen: ScreenModel; modes: ScreenModes[]; parsed: number[] } {
  const modes: ScreenModes[] = [];
  const parsed: number[] = [];
  const screen = new ScreenModel(cols, rows, (m) => modes.push(m), (n) => parsed.push(n));
  return { screen, modes, parsed };
}

describe('the session screen model', () => {
  it('parses synchronously with the xterm this package ships (a flood keeps the PTY drained)', () => {
    // If an xterm upgrade drops CoreTerminal.writeSync the model still works, only slower: this test says so.
    expect(model().screen.parsesSynchronously).toBe(true);
  });

  it('renders output written in pieces, a UTF-8 character cut between two reads included', async () => {
    const { screen } = model();
    const text = Buffer.from('héllo ✓ wörld\r\nsecond line');
    const cut = text.indexOf(Buffer.from('✓')) + 1; // inside the three bytes of ✓
    screen.write(text.subarray(0, cut));
    screen.write(text.subarray(cut));
    const snap = await screen.snapshot({ scrollback: false, ansi: false });
    expect(snap.lines).toEqual(['héllo ✓ wörld', 'second line']);
    expect(await screen.cursorState()).toMatchObject({ buffer: 'normal', x: 11, line: 'second line' });
  });

  it('gives an emoji two columns (Unicode 11 widths, as tmux draws it)', async () => {
    const { screen } = model();
    screen.write(Buffer.from('🚀🚀🚀\x1b[7GZ\r\n'));
    const snap = await screen.snapshot({ scrollback: false, ansi: false });
    expect(snap.lines[0]).toBe('🚀🚀🚀Z');
    screen.write(Buffer.from('a🚀b'));
    expect(await screen.cursorState()).toMatchObject({ x: 4, line: 'a🚀b' });
    screen.dispose();
  });

  it('reports bracketed paste and the alternate screen as the program turns them on and off', async () => {
    const { screen, modes } = model();
    screen.write(Buffer.from('\x1b[?2004h'));
    await screen.flush();
    screen.write(Buffer.from('\x1b[?1049h'));
    await screen.flush();
    screen.write(Buffer.from('\x1b[?1049l\x1b[?2004l'));
    await screen.flush();
    expect(modes).toEqual([
      { bracketedPaste: true, altScreen: false },
      { bracketedPaste: true, altScreen: true },
      { bracketedPaste: false, altScreen: false },
    ]);
    expect(screen.modes()).toEqual({ bracketedPaste: false, altScreen: false });
  });

  it('answers modes as of every byte written, though small output is parsed later (the inject queue asks at once)', () => {
    const { screen } = model();
    screen.write(Buffer.from('\x1b[?2004h'));
    expect(screen.modes()).toEqual({ bracketedPaste: true, altScreen: false });
    screen.write(Buffer.from('\x1b[?1049h'));
    expect(screen.modes()).toEqual({ bracketedPaste: true, altScreen: true });
    screen.dispose();
  });

  it('parses small output on its own shortly after it arrives, telling the host of mode changes', async () => {
    const { screen, modes } = model();
    screen.write(Buffer.from('\x1b[?2004h'));
    // Nobody reads the screen: the host still hears of the change (and tells the daemon).
    await new Promise((r) => setTimeout(r, 50));
    expect(modes).toEqual([{ bracketedPaste: true, altScreen: false }]);
    screen.dispose();
  });

  it('parses a flood in bounded batches and accounts for every byte', async () => {
    const { screen, parsed } = model(80, 24);
    let total = 0;
    for (let i = 0; i < 400; i++) {
      const chunk = Buffer.from(`line ${i} ${'x'.repeat(60)}\r\n`);
      total += chunk.length;
      screen.write(chunk);
    }
    await screen.flush();
    expect(parsed.reduce((a, b) => a + b, 0)).toBe(total);
    // More than one batch, none of them the whole flood at once.
    expect(parsed.length).toBeGreaterThan(1);
    expect(Math.max(...parsed)).toBeLessThan(total);
    const snap = await screen.snapshot({ lines: 1, scrollback: false, ansi: false });
    expect(snap.lines).toEqual([`line 399 ${'x'.repeat(60)}`]);
  });
});

/** Terminal output mixing floods of plain lines with the sequences that would make skipping lines wrong. */
function randomOutput(seed: number): Buffer {
  const r = prng(seed);
  const pick = <T>(xs: T[]): T => xs[Math.floor(r() * xs.length)] as T;
  const word = () => Array.from({ length: Math.floor(r() * 200) }, () => pick([...'abcdefghij klmnop0123456789'])).join('');
  const escapes = [
    '\x1b[31m', '\x1b[0m', '\x1b[1;44m', '\x1b[H', '\x1b[5;10H', '\x1b[2J', '\x1b[3;7r', '\x1b[r', '\x1b[4h', '\x1b[4l',
    '\x1b[?1049h', '\x1b[?1049l', '\x1b]0;title', '\x07', '\x1b[?7l', '\x1b[?7h', '\x1b[3\r\n1m', 'é✓ wide 中文\r\n', '\x1b[20h', '\x1b[20l', '\x1b[3;7r\x1b[12;1H',
  ];
  const parts: string[] = [];
  for (let i = 0; i < 40; i++) {
    const n = r() < 0.3 ? 3_600 + Math.floor(r() * 2_000) : Math.floor(r() * 30);
    for (let j = 0; j < n; j++) parts.push(`${word()}${pick(['\r\n', '\r\n', '\r\n', '\n', '\r', '\t'])}`);
    if (r() < 0.7) parts.push(pick(escapes));
  }
  return Buffer.from(parts.join(''));
}

/** Write `data` in random pieces, as PTY reads come. */
function writeInPieces(screen: ScreenModel, data: Buffer, seed: number): void {
  const r = prng(seed);
  for (let i = 0; i < data.length; ) {
    const n = 1 + Math.floor(r() * (r() < 0.1 ? 40 : 8_192));
    screen.write(data.subarray(i, i + n));
    i += n;
  }
}

describe('holding plain text back in a flood', () => {
  const everything = { scrollback: true, ansi: true } as const;

  it('skips most of a plain flood and leaves the screen and scrollback as if every byte had been parsed', async () => {
    const lines = Array.from({ length: 20_000 }, (_, i) => `build step ${i} ${'.'.repeat(i % 150)}`);
    const data = Buffer.from(`\x1b[32mstart\x1b[0m\r\n${lines.join('\r\n')}\r\n$ `);
    const held = new ScreenModel(80, 24, () => undefined);
    const parsedAll = new ScreenModel(80, 24, () => undefined, () => undefined, { holdPlainText: false });
    writeInPieces(held, data, 1);
    writeInPieces(parsedAll, data, 1);
    expect(await held.snapshot(everything)).toEqual(await parsedAll.snapshot(everything));
    expect(await held.serialize()).toBe(await parsedAll.serialize());
    expect(held.skippedBytes).toBeGreaterThan(data.length * 0.7);
    expect(parsedAll.skippedBytes).toBe(0);
    held.dispose();
    parsedAll.dispose();
  });

  it('accounts every held or skipped byte as parsed (flow control never stalls on them)', async () => {
    const parsed: number[] = [];
    const screen = new ScreenModel(80, 24, () => undefined, (n) => parsed.push(n));
    const data = Buffer.from(`${Array.from({ length: 8_000 }, (_, i) => `line ${i}`).join('\r\n')}\r\n`);
    writeInPieces(screen, data, 2);
    await screen.flush();
    expect(parsed.reduce((a, b) => a + b, 0)).toBe(data.length);
    expect(screen.skippedBytes).toBeGreaterThan(0);
    screen.dispose();
  });

  it('parses held text once output goes quiet, and before a resize', async () => {
    const screen = new ScreenModel(80, 24, () => undefined);
    const parsedAll = new ScreenModel(80, 24, () => undefined, () => undefined, { holdPlainText: false });
    const both = (f: (s: ScreenModel) => void) => [screen, parsedAll].forEach(f);
    both((s) => s.write(Buffer.from('first\r\nheld line\r\nsecond held')));
    await new Promise((r) => setTimeout(r, 100));
    expect((await screen.snapshot({ scrollback: false, ansi: false })).lines).toEqual(['first', 'held line', 'second held']);
    // A resize reflows what was written before it: held text is parsed at the old width first.
    both((s) => s.write(Buffer.from(`\r\n${'x'.repeat(70)}\r\n${'y'.repeat(70)}`)));
    both((s) => s.resize(40, 24));
    expect(await screen.snapshot(everything)).toEqual(await parsedAll.snapshot(everything));
    both((s) => s.dispose());
  });

  it('drops nothing under a scroll region (a row outside it keeps what every line printed there left)', async () => {
    // The cursor below the scroll region: line feeds do not scroll, each line overprints the last row, so the row
    // holds the tail of the longest line ever printed there: skipping one would change it.
    const lines = Array.from({ length: 5_000 }, (_, i) => (i === 10 ? 'L'.repeat(50) : `s${i % 10}`));
    const data = Buffer.from(`\x1b[3;7r\x1b[12;1Hstart\r\n${lines.join('\r\n')}\r\nend`);
    const held = new ScreenModel(60, 12, () => undefined);
    const parsedAll = new ScreenModel(60, 12, () => undefined, () => undefined, { holdPlainText: false });
    writeInPieces(held, data, 3);
    writeInPieces(parsedAll, data, 3);
    const snap = await held.snapshot(everything);
    expect(snap.lines.at(-1)).toBe(`end${'L'.repeat(47)}`);
    expect(snap).toEqual(await parsedAll.snapshot(everything));
    expect(held.skippedBytes).toBe(0);
    held.dispose();
    parsedAll.dispose();
  });

  for (const seed of [11, 12, 13, 14, 15, 16, 17, 18]) {
    it(`gives the same screen, scrollback and cursor as parsing every byte (random output, seed ${seed})`, async () => {
      const data = randomOutput(seed);
      const held = new ScreenModel(60, 12, () => undefined);
      const parsedAll = new ScreenModel(60, 12, () => undefined, () => undefined, { holdPlainText: false });
      writeInPieces(held, data, seed);
      writeInPieces(parsedAll, data, seed);
      expect(await held.snapshot(everything)).toEqual(await parsedAll.snapshot(everything));
      expect(await held.serialize()).toBe(await parsedAll.serialize());
      expect(held.modes()).toEqual(parsedAll.modes());
      held.dispose();
      parsedAll.dispose();
    }, 30_000);
  }
});
