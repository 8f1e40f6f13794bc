import { describe, expect, it } from 'vitest';
import { ScreenModel, type ScreenModes } from '../../../src/host/screen.js';

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
