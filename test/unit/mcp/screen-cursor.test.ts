import { describe, expect, it } from 'vitest';
import { TeleptyError } from '../../../src/protocol/errors.js';
import { CURSORS_KEPT, ScreenCursors, deltaOf, trimBlankTail } from '../../../src/mcp/screen-cursor.js';
import { capLines } from '../../../src/mcp/limits.js';

describe('read_screen cursor: what is new since', () => {
  it('output appended below: only the new lines', () => {
    expect(deltaOf(['a', 'b'], ['a', 'b', 'c', 'd'])).toEqual({ lines: ['c', 'd'], kind: 'new' });
    expect(deltaOf(['a', 'b'], ['a', 'b'])).toEqual({ lines: [], kind: 'new' });
  });

  it('the prompt line typed on, then more: from the first line that changed', () => {
    expect(deltaOf(['ready', '> '], ['ready', '> hi', 'answer', '> '])).toEqual({ lines: ['> hi', 'answer', '> '], kind: 'changed' });
  });

  it('the oldest lines dropped from the scrollback: aligned on the last complete line', () => {
    expect(deltaOf(['1', '2', '3', '> '], ['2', '3', 'x', '> '])).toEqual({ lines: ['x', '> '], kind: 'changed' });
  });

  it('nothing in common (a full-screen program redrew): all of it', () => {
    expect(deltaOf(['a', 'b'], ['x', 'y'])).toEqual({ lines: ['x', 'y'], kind: 'all' });
  });

  it('blank rows below the last written one are not news', () => {
    expect(trimBlankTail(['a', '', 'b', '  ', ''])).toEqual(['a', '', 'b']);
  });

  it('a cursor is one session\'s; an unknown or another session\'s is INVALID_FIELD; only the newest are kept', () => {
    const cursors = new ScreenCursors();
    const first = cursors.save('s1', ['x']);
    expect(cursors.lines(first, 's1')).toEqual(['x']);
    expect(() => cursors.lines(first, 's2')).toThrow(TeleptyError);
    expect(() => cursors.lines('c0', 's1')).toThrow(/unknown cursor/);
    for (let i = 0; i < CURSORS_KEPT; i++) cursors.save('s1', []);
    expect(() => cursors.lines(first, 's1')).toThrow(/unknown cursor/);
  });
});

describe('output caps', () => {
  it('keeps the newest lines of a screen and says what was cut', () => {
    expect(capLines(['1', '2', '3'], { maxLines: 2, maxChars: 100 }, 'tail')).toEqual({ text: '2\n3', note: '[cut: 1 earlier lines left out (limits 2 lines, 100 characters)]' });
    expect(capLines(['1', '2', '3'], { maxLines: 5, maxChars: 100 }, 'tail')).toEqual({ text: '1\n2\n3', note: null });
  });

  it('keeps the head of a list, cut in characters too; reserved lines go to the caller\'s head line', () => {
    const r = capLines(['abcdef', 'ghij'], { maxLines: 10, maxChars: 4 }, 'head');
    expect(r.text).toBe('abcd');
    expect(r.note).toMatch(/7 later characters left out/);
    expect(capLines(['1', '2', '3'], { maxLines: 3, maxChars: 100 }, 'tail', 1).text).toBe('2\n3');
  });
});
