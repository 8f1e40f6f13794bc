import { describe, expect, it } from 'vitest';
import { keyBytes, MAX_KEYS_PER_CALL, parseKeys } from '../../../src/protocol/keys.js';

const normal = { appCursor: false };
const app = { appCursor: true };

describe('key names (tmux style) to bytes', () => {
  it('names the keys an agent dialog needs', () => {
    expect(keyBytes('Enter', normal)).toBe('\r');
    expect(keyBytes('Escape', normal)).toBe('\x1b');
    expect(keyBytes('Tab', normal)).toBe('\t');
    expect(keyBytes('BTab', normal)).toBe('\x1b[Z');
    expect(keyBytes('S-Tab', normal)).toBe('\x1b[Z');
    expect(keyBytes('BSpace', normal)).toBe('\x7f');
    expect(keyBytes('Space', normal)).toBe(' ');
  });

  it('sends control and meta characters', () => {
    expect(keyBytes('C-c', normal)).toBe('\x03');
    expect(keyBytes('C-C', normal)).toBe('\x03');
    expect(keyBytes('C-d', normal)).toBe('\x04');
    expect(keyBytes('C-[', normal)).toBe('\x1b');
    expect(keyBytes('C-Space', normal)).toBe('\0');
    expect(keyBytes('C-?', normal)).toBe('\x7f');
    expect(keyBytes('M-x', normal)).toBe('\x1bx');
    expect(keyBytes('C-M-a', normal)).toBe('\x1b\x01');
    expect(keyBytes('M-Enter', normal)).toBe('\x1b\r');
  });

  it('follows the application cursor mode for arrows, and adds xterm modifiers', () => {
    expect(keyBytes('Up', normal)).toBe('\x1b[A');
    expect(keyBytes('Up', app)).toBe('\x1bOA');
    expect(keyBytes('down', normal)).toBe('\x1b[B');
    expect(keyBytes('Home', app)).toBe('\x1bOH');
    expect(keyBytes('C-Left', app)).toBe('\x1b[1;5D');
    expect(keyBytes('S-Up', normal)).toBe('\x1b[1;2A');
    expect(keyBytes('C-M-Right', normal)).toBe('\x1b[1;7C');
  });

  it('sends function and editing keys', () => {
    expect(keyBytes('F1', normal)).toBe('\x1bOP');
    expect(keyBytes('F5', normal)).toBe('\x1b[15~');
    expect(keyBytes('F12', normal)).toBe('\x1b[24~');
    expect(keyBytes('C-F1', normal)).toBe('\x1b[1;5P');
    expect(keyBytes('PageUp', normal)).toBe('\x1b[5~');
    expect(keyBytes('PPage', normal)).toBe('\x1b[5~');
    expect(keyBytes('NPage', normal)).toBe('\x1b[6~');
    expect(keyBytes('DC', normal)).toBe('\x1b[3~');
    expect(keyBytes('S-Delete', normal)).toBe('\x1b[3;2~');
  });

  it('takes a word that is no key name as text', () => {
    expect(keyBytes('y', normal)).toBeNull();
    expect(keyBytes('hello world', normal)).toBeNull();
    expect(keyBytes('C-Enter', normal)).toBeNull();
    expect(keyBytes('C-é', normal)).toBeNull();
    const strokes = parseKeys(['2', 'Enter'], normal);
    expect(strokes).toEqual([
      { name: '2', bytes: '2', literal: true },
      { name: 'Enter', bytes: '\r', literal: false },
    ]);
  });

  it('refuses no keys, too many keys and empty words with INVALID_FIELD', () => {
    expect(() => parseKeys([], normal)).toThrow(expect.objectContaining({ code: 'INVALID_FIELD' }));
    expect(() => parseKeys(Array.from({ length: MAX_KEYS_PER_CALL + 1 }, () => 'Up'), normal)).toThrow(/at most/);
    expect(() => parseKeys([''], normal)).toThrow(expect.objectContaining({ code: 'INVALID_FIELD' }));
  });
});
