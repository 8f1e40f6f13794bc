import { TeleptyError } from './errors.js';

/**
 * tmux-style key names (`telepty keys ID Escape C-c Up Enter`), turned into the bytes an xterm sends. The names
 * are tmux's (`Enter`, `Escape`, `Tab`, `BTab`, `BSpace`, `Up`, `PageUp`/`PPage`, `F1`…`F12`, `C-x`, `M-x`,
 * `S-Up`, `C-M-Left`), case-insensitive for the named keys as in tmux. A word that is no key name is typed as text.
 */

export interface KeyModes {
  /** DECCKM (application cursor keys) is on: arrows and Home/End send SS3 (`ESC O A`) instead of CSI. */
  appCursor: boolean;
}

/** One key given by the caller, as it will be written and logged. */
export interface KeyStroke {
  /** The name as given, or `text` for literal text. */
  name: string;
  bytes: string;
  /** True when the word was not a key name and is typed as it is. */
  literal: boolean;
}

/** At most this many keys per call: a dialog is answered in a handful, a stream of keys is what inject is for. */
export const MAX_KEYS_PER_CALL = 64;
/** A literal word among the keys is short: longer text goes through inject, which proves submission. */
export const MAX_LITERAL_KEY_CHARS = 4_096;

const ESC = '\x1b';

/** Cursor-like keys: CSI final (or SS3 in application mode) and whether they have an SS3 form. */
const CURSOR: Record<string, string> = { up: 'A', down: 'B', right: 'C', left: 'D', home: 'H', end: 'F' };

/** Keys sent as `CSI n ~`. */
const TILDE: Record<string, number> = {
  ic: 2, insert: 2, dc: 3, delete: 3, ppage: 5, pageup: 5, pgup: 5, npage: 6, pagedown: 6, pgdn: 6,
  f5: 15, f6: 17, f7: 18, f8: 19, f9: 20, f10: 21, f11: 23, f12: 24,
};

/** F1-F4 are SS3 P..S without modifiers. */
const SS3_FKEYS: Record<string, string> = { f1: 'P', f2: 'Q', f3: 'R', f4: 'S' };

const PLAIN: Record<string, string> = {
  enter: '\r', escape: ESC, esc: ESC, tab: '\t', btab: `${ESC}[Z`, space: ' ', bspace: '\x7f', backspace: '\x7f',
};

interface Modifiers {
  shift: boolean;
  meta: boolean;
  ctrl: boolean;
}

function splitModifiers(word: string): { mods: Modifiers; base: string } {
  const mods: Modifiers = { shift: false, meta: false, ctrl: false };
  let rest = word;
  for (;;) {
    const m = /^([CMS])-(.+)$/i.exec(rest);
    if (!m) break;
    const flag = (m[1] as string).toUpperCase();
    if (flag === 'C') mods.ctrl = true;
    else if (flag === 'M') mods.meta = true;
    else mods.shift = true;
    rest = m[2] as string;
  }
  return { mods, base: rest };
}

/** xterm's modifier parameter: 1 + shift(1) + alt(2) + ctrl(4). */
function modParam(m: Modifiers): number {
  return 1 + (m.shift ? 1 : 0) + (m.meta ? 2 : 0) + (m.ctrl ? 4 : 0);
}

function anyMod(m: Modifiers): boolean {
  return m.shift || m.meta || m.ctrl;
}

/** Control of one character as a terminal sends it: C-a is 0x01, C-@ and C-Space NUL, C-? DEL. */
function controlOf(ch: string): string | null {
  if (ch === '?') return '\x7f';
  if (ch === ' ' || ch.toLowerCase() === 'space') return '\0';
  if (ch.length !== 1) return null;
  const code = ch.toUpperCase().charCodeAt(0);
  if (code >= 0x40 && code <= 0x5f) return String.fromCharCode(code & 0x1f);
  return null;
}

/** The bytes of a key name, or null when the word is not one (then it is literal text). */
export function keyBytes(word: string, modes: KeyModes): string | null {
  const { mods, base } = splitModifiers(word);
  const lower = base.toLowerCase();
  const cursor = CURSOR[lower];
  if (cursor !== undefined) {
    if (anyMod(mods)) return `${ESC}[1;${modParam(mods)}${cursor}`;
    return modes.appCursor ? `${ESC}O${cursor}` : `${ESC}[${cursor}`;
  }
  const tilde = TILDE[lower];
  if (tilde !== undefined) return anyMod(mods) ? `${ESC}[${tilde};${modParam(mods)}~` : `${ESC}[${tilde}~`;
  const ss3 = SS3_FKEYS[lower];
  if (ss3 !== undefined) return anyMod(mods) ? `${ESC}[1;${modParam(mods)}${ss3}` : `${ESC}O${ss3}`;
  const plain = PLAIN[lower];
  if (plain !== undefined) {
    if (mods.shift && lower === 'tab') return `${ESC}[Z`;
    if (mods.ctrl && !mods.shift && lower === 'space') return mods.meta ? `${ESC}\0` : '\0';
    if (mods.ctrl || mods.shift) return null; // C-Enter, S-Escape…: no portable byte form
    return mods.meta ? ESC + plain : plain;
  }
  if (!anyMod(mods) || mods.shift) return null;
  // One character with C- and/or M-: `C-c`, `M-x`, `C-M-a`.
  let ch = base;
  if (mods.ctrl) {
    const c = controlOf(base);
    if (c === null) return null;
    ch = c;
  } else if ([...base].length !== 1) {
    return null;
  }
  return mods.meta ? ESC + ch : ch;
}

/** The caller's words as keystrokes: key names become their bytes, other words are typed as text. */
export function parseKeys(words: readonly string[], modes: KeyModes): KeyStroke[] {
  if (words.length === 0) throw new TeleptyError('INVALID_FIELD', 'give at least one key, e.g. Enter, Escape, C-c, Up', { field: 'keys' });
  if (words.length > MAX_KEYS_PER_CALL) {
    throw new TeleptyError('INVALID_FIELD', `at most ${MAX_KEYS_PER_CALL} keys per call; send text with inject`, { field: 'keys' });
  }
  return words.map((word) => {
    if (typeof word !== 'string' || word.length === 0) throw new TeleptyError('INVALID_FIELD', 'a key must be a non-empty string', { field: 'keys' });
    if (word.length > MAX_LITERAL_KEY_CHARS) {
      throw new TeleptyError('INVALID_FIELD', `a literal key word is at most ${MAX_LITERAL_KEY_CHARS} characters; send text with inject`, { field: 'keys' });
    }
    const bytes = keyBytes(word, modes);
    return bytes === null ? { name: word, bytes: word, literal: true } : { name: word, bytes, literal: false };
  });
}
