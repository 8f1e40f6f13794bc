import type { CursorState } from './inject-queue.js';

/**
 * How the inject queue reads the screen around the input row: whether the text it typed shows there (taken), and
 * whether it has left (submitted). Pure functions of a CursorState, so they are tested on their own.
 */

/** Box borders and padding: a text that wraps inside a box is matched with these taken out. */
const FRAME = /[\s\u2500-\u257f|]+/g;

export function squeeze(s: string): string {
  return s.replace(FRAME, '');
}

/** The cursor row and the `rowsAbove` rows above it, top first. */
export function inputRows(state: CursorState, rowsAbove: number): string[] {
  const above = rowsAbove > 0 ? (state.above ?? []).slice(-rowsAbove) : [];
  return [...above, state.line];
}

/**
 * What the cursor row showed left of the cursor before a text was typed: the program's prompt (a shell's
 * "tools$ ", a box's "│ > "), blanks at its end left out.
 */
export function promptOf(before: CursorState): string {
  return before.line.slice(0, before.x).trimEnd();
}

/**
 * The part of a cursor row where typed text can be: the row with `prompt` taken off its start when it still starts
 * with it. A short text that the prompt itself contains ("ls" in "tools$", "-" in "bash-5.2#") is then not read as
 * still there once the program shows its prompt again.
 */
export function afterPrompt(line: string, prompt: string): string {
  return prompt !== '' && line.startsWith(prompt) ? line.slice(prompt.length) : line;
}

/**
 * The cursor is on a new row that shows exactly the prompt shown before the text was typed: a program that reads
 * lines (a shell, a REPL) has started the next one, so it took the text, whatever its output above looks like
 * (`echo hi` prints the end of the text right above the new prompt). A newline inside an input box is no such row:
 * its new row shows the box's continuation, not the prompt.
 */
export function promptAgain(state: CursorState, beforeEnter: CursorState, prompt: string): boolean {
  return prompt !== '' && state.y !== beforeEnter.y && state.line.trimEnd() === prompt;
}

/** inputRows, with the cursor row's prompt taken off (afterPrompt): where the typed text may still show. */
export function typingRows(state: CursorState, rowsAbove: number, prompt: string): string[] {
  const rows = inputRows(state, rowsAbove);
  rows[rows.length - 1] = afterPrompt(state.line, prompt);
  return rows;
}

/**
 * The end of the typed text shows where input happens: on the cursor row, or wrapped from the row above onto it
 * (the match must end on the cursor row, so the same words higher up, e.g. an earlier prompt, do not count).
 */
export function showsTail(state: CursorState, tail: string): boolean {
  if (tail === '') return false;
  if (state.line.includes(tail)) return true;
  const t = squeeze(tail);
  if (t === '') return false;
  const line = squeeze(state.line);
  const joined = squeeze((state.above ?? []).slice(-1).join('')) + line;
  const at = joined.lastIndexOf(t);
  return at >= 0 && at + t.length > joined.length - line.length;
}

/** The first placeholder the program shows for a paste in these rows, or null. */
export function placeholderIn(rows: readonly string[], pattern: RegExp | null): string | null {
  if (!pattern) return null;
  for (const row of rows.slice().reverse()) {
    const m = pattern.exec(row);
    if (m) return m[0];
  }
  return null;
}

/**
 * A mark of the typed text (its tail, its placeholder, the row it showed on) is still in these rows: on one of
 * them, or across two (a wrap inside a box).
 */
export function markShows(rows: readonly string[], mark: string): boolean {
  if (rows.some((r) => r.includes(mark))) return true;
  const m = squeeze(mark);
  return m !== '' && rows.map(squeeze).join('').includes(m);
}

/** The text's last non-blank line with frame characters and spaces taken out (see textEndAbove). */
export function squeezedLastLine(text: string): string {
  const lines = text.split('\n').filter((l) => l.trim() !== '');
  return squeeze(lines[lines.length - 1] ?? '');
}

/**
 * The row right above the cursor is the end of a text that wrapped there from further up: all it shows, frame
 * taken out, is the end of the text's last line. So a newline inside a box left the text above the cursor, even
 * when the 8-character tail itself was cut by the wrap.
 */
export function textEndAbove(state: CursorState, lastLine: string): boolean {
  const row = squeeze((state.above ?? []).slice(-1).join(''));
  return row !== '' && lastLine.endsWith(row);
}

/**
 * The Enter was taken as a newline inside the box: the cursor row is empty (frame aside) and the row right above it
 * ends the text (one of its marks shows there, or all it shows is the end of the text's last line). A submitted
 * prompt leaves the box instead, and an empty box shows the program's hint or prompt on the cursor row.
 */
export function newlineShows(state: CursorState, marks: readonly string[], lastLine: string): boolean {
  if (squeeze(state.line) !== '') return false;
  const above = (state.above ?? []).slice(-1);
  if (above.length === 0 || squeeze(above.join('')) === '') return false;
  return marks.some((m) => markShows(above, m)) || (lastLine !== '' && textEndAbove(state, lastLine));
}

/** Characters of a prompt's first line looked for where the conversation shows it (historyRow). */
const HISTORY_OPENING_CHARS = 16;

/** The start of the prompt as a conversation shows it: its first line's first characters; null when there is none to match. */
export function historyOpening(text: string): string | null {
  const first = text.trim().split('\n')[0] ?? '';
  const opening = first.slice(0, HISTORY_OPENING_CHARS);
  return opening.length > 0 && !/[\t\x00-\x1f]/.test(opening) ? opening : null;
}

/**
 * The rows of each screen state looked at (a state is a snapshot, never changed): the watch for a submit's proof
 * compares every poll's state with the one before the Enter, whose rows are then built once, not on every poll.
 */
const rowsOf = new WeakMap<CursorState, Map<number, string>>();

/** The screen's rows by their absolute index (scrollback included): the rows above the cursor, its row, the rows below. */
function rowsByIndex(state: CursorState): Map<number, string> {
  const known = rowsOf.get(state);
  if (known) return known;
  const rows = new Map<number, string>();
  const above = state.above ?? [];
  above.forEach((r, i) => rows.set(state.y - above.length + i, r));
  rows.set(state.y, state.line);
  (state.below ?? []).forEach((r, i) => rows.set(state.y + 1 + i, r));
  rowsOf.set(state, rows);
  return rows;
}

/**
 * A row outside the input box (the cursor row and the boxRowsAbove rows above it) now starts the way the program
 * shows a submitted prompt in its conversation (`pattern`, the profile's historyRow, then the prompt's opening), and
 * did not before the Enter: the prompt was just moved there. Rows above the part of the screen seen before the Enter
 * do not count (a redraw that moves the cursor up brings older rows, maybe an earlier identical prompt, into view).
 */
export function historyShows(state: CursorState, before: CursorState, pattern: RegExp | null, boxRowsAbove: number, opening: string): boolean {
  if (pattern === null) return false;
  const shows = (row: string | undefined): boolean => {
    const m = row === undefined ? null : pattern.exec(row);
    return m !== null && m.index === 0 && (row ?? '').slice(m[0].length).startsWith(opening);
  };
  const was = rowsByIndex(before);
  const top = before.y - (before.above?.length ?? 0);
  const boxTop = state.y - boxRowsAbove;
  for (const [at, row] of rowsByIndex(state)) if (at >= top && at < boxTop && shows(row) && !shows(was.get(at))) return true;
  return false;
}

/** Characters a row must show to count as the end of a pasted prompt in the conversation (historyEndShows). */
const HISTORY_END_MIN_CHARS = 16;

/**
 * For a prompt the box showed only as the program's placeholder (a long paste): a row outside the input box now shows
 * nothing but the end of the prompt (frame and indent aside, at least HISTORY_END_MIN_CHARS), and no row seen before
 * the Enter did: the text was just moved into the conversation (Gemini CLI draws a long prompt's start beyond the
 * rows read above the box). The box never showed the text, so a newline in it, or its redraw, cannot draw that row.
 * Rows above the part of the screen seen before the Enter do not count.
 */
export function historyEndShows(state: CursorState, before: CursorState, boxRowsAbove: number, text: string): boolean {
  const end = text.trimEnd();
  const isEnd = (row: string | undefined): boolean => {
    const shown = (row ?? '').trim();
    return shown.length >= HISTORY_END_MIN_CHARS && end.endsWith(shown);
  };
  const was = rowsByIndex(before);
  for (const row of was.values()) if (isEnd(row)) return false;
  const top = before.y - (before.above?.length ?? 0);
  const boxTop = state.y - boxRowsAbove;
  for (const [at, row] of rowsByIndex(state)) if (at >= top && at < boxTop && isEnd(row)) return true;
  return false;
}
