import { describe, expect, it } from 'vitest';
import { ScreenModel } from '../../../src/terminal/screen.js';

const BSU = '\x1b[?2026h';
const ESU = '\x1b[?2026l';

/** The inject queue's frame proof (issue 25) reads these: a frame open now, and how many the program ended. */
describe('ScreenModel: synchronized-output frames (DEC mode 2026)', () => {
  it('tells a screen read midway through a frame from one read between frames, and counts the frames ended', async () => {
    const screen = new ScreenModel(40, 10, () => undefined);
    let s = await screen.cursorState();
    expect(s.frameOpen).toBe(false);
    expect(s.framesEnded).toBe(0);
    screen.write(Buffer.from(`${BSU}\x1b[H\x1b[2Kbox: `));
    s = await screen.cursorState();
    expect(s.frameOpen).toBe(true);
    expect(s.framesEnded).toBe(0);
    screen.write(Buffer.from(`text${ESU}`));
    s = await screen.cursorState();
    expect(s.line.trimEnd()).toBe('box: text');
    expect(s.frameOpen).toBe(false);
    expect(s.framesEnded).toBe(1);
    // Two frames in one write; other private modes reset beside it (CSI ? 25 ; 2026 l) count once, alone none.
    screen.write(Buffer.from(`${BSU}a${ESU}${BSU}b\x1b[?25;2026l\x1b[?25l\x1b[?2004l`));
    s = await screen.cursorState();
    expect(s.framesEnded).toBe(3);
    expect(s.frameOpen).toBe(false);
  });
});
