/**
 * The oldest rows of a session's scrollback in a compact form (issue 24): each row as the text `read` gives and its
 * rendering with SGR colours (`read --ansi`), held as two flat strings, against xterm's 12 bytes a cell (a
 * 120-column row 1.4 KB of cells plus its objects; here ~0.12 KB of text, twice that with colours). Rows are taken
 * from the top of xterm's buffer once a session is quiet (screen.ts), read back exactly as they were rendered, and
 * written back into xterm (`replay`) before a resize, so that xterm reflows them with the rest.
 */
export interface ColdRow {
  /** The row's text, trailing blanks trimmed (xterm's translateToString(true)). */
  text: string;
  /** The row with SGR colours and attributes (screen.ts renderAnsi). */
  ansi: string;
  /** The row continues the one above it (xterm's isWrapped). */
  wrapped: boolean;
}

/** Rows go into the strings below joined by this; no rendered row contains it (xterm keeps no control characters). */
const SEP = '\n';

export class ColdScrollback {
  /** Every kept row's text joined by SEP (one flat string: rows built by appending are ropes of many pieces). */
  private text = '';
  /** Every kept row's SGR rendering joined by SEP; null while each equals its text (plain output). */
  private ansi: string | null = null;
  /** Where each row ends in `text` (and in `ansi`), from `first` on. */
  private textEnds: Uint32Array = new Uint32Array(0);
  private ansiEnds: Uint32Array = new Uint32Array(0);
  private wrapped: Uint8Array = new Uint8Array(0);
  /** Rows dropped from the front (the line cap) and not yet cut out of the strings. */
  private first = 0;
  private count = 0;

  /** The terminal width the rows were rendered at. */
  cols = 0;

  get length(): number {
    return this.count - this.first;
  }

  /** Row i's text (0: the oldest kept). */
  textAt(i: number): string {
    return slice(this.text, this.textEnds, this.first + i);
  }

  /** Row i's SGR rendering. */
  ansiAt(i: number): string {
    return this.ansi === null ? this.textAt(i) : slice(this.ansi, this.ansiEnds, this.first + i);
  }

  wrappedAt(i: number): boolean {
    return this.wrapped[this.first + i] === 1;
  }

  /** Add rows after the kept ones, rendered at `cols` (the kept ones are at the same width: screen.ts replays them before a resize). */
  append(rows: readonly ColdRow[], cols: number): void {
    if (rows.length === 0) return;
    const keptText = this.keptString(this.text, this.textEnds);
    const keptAnsi = this.ansi === null ? null : this.keptString(this.ansi, this.ansiEnds);
    const texts = rows.map((r) => r.text);
    const plain = keptAnsi === null && rows.every((r) => r.ansi === r.text);
    const kept = this.length;
    this.textEnds = joinEnds(this.textEnds, this.first, kept, keptText.length, texts);
    this.text = join(keptText, kept, texts);
    if (plain) {
      this.ansi = null;
      this.ansiEnds = new Uint32Array(0);
    } else {
      const ansis = rows.map((r) => r.ansi);
      // Rows kept from before were plain (their rendering is their text) or rendered already.
      const before = keptAnsi ?? keptText;
      this.ansiEnds = joinEnds(keptAnsi === null ? this.textEnds : this.ansiEnds, keptAnsi === null ? 0 : this.first, kept, before.length, ansis);
      this.ansi = join(before, kept, ansis);
    }
    const wrapped = new Uint8Array(kept + rows.length);
    wrapped.set(this.wrapped.subarray(this.first, this.count));
    rows.forEach((r, i) => (wrapped[kept + i] = r.wrapped ? 1 : 0));
    this.wrapped = wrapped;
    this.first = 0;
    this.count = kept + rows.length;
    this.cols = cols;
  }

  /** The kept rows of one of the strings (without the dropped ones before them). */
  private keptString(s: string, rowEnds: Uint32Array): string {
    if (this.length === 0) return '';
    const start = this.first === 0 ? 0 : (rowEnds[this.first - 1] as number) + SEP.length;
    return s.slice(start, rowEnds[this.count - 1]);
  }

  /** Drop the oldest n rows (the scrollback's line cap); the strings are cut once half of them is dropped. */
  dropOldest(n: number): void {
    if (n <= 0) return;
    this.first = Math.min(this.count, this.first + n);
    if (this.first === this.count) this.clear();
    else if (this.first * 2 >= this.count) this.compactStrings();
  }

  clear(): void {
    this.text = '';
    this.ansi = null;
    this.textEnds = new Uint32Array(0);
    this.ansiEnds = new Uint32Array(0);
    this.wrapped = new Uint8Array(0);
    this.first = 0;
    this.count = 0;
  }

  /**
   * The rows as terminal output that draws them again from a terminal's top-left corner at `cols` columns: each row
   * in its colours, CR LF between rows, none before a row that continued the one above (xterm wraps there by itself),
   * a CR LF after the last.
   */
  replay(): string {
    const parts: string[] = [];
    for (let i = 0; i < this.length; i++) {
      if (i > 0 && !this.wrappedAt(i)) parts.push('\r\n');
      parts.push(this.ansiAt(i));
    }
    parts.push('\r\n');
    return parts.join('');
  }

  /** The strings without the dropped rows (a copy: a slice would keep the whole string alive). */
  private compactStrings(): void {
    const kept = this.length;
    if (this.ansi !== null) {
      const ansi = this.keptString(this.ansi, this.ansiEnds);
      this.ansiEnds = joinEnds(this.ansiEnds, this.first, kept, ansi.length, []);
      this.ansi = flatCopy(ansi);
    }
    const text = this.keptString(this.text, this.textEnds);
    this.textEnds = joinEnds(this.textEnds, this.first, kept, text.length, []);
    this.text = flatCopy(text);
    this.wrapped = this.wrapped.slice(this.first, this.count);
    this.first = 0;
    this.count = kept;
  }
}

/**
 * A string of its own with s's characters in one piece (V8 flattens the concatenation into a new string; the slice
 * shares it). Also for a string built a character at a time (xterm's translateToString): V8 holds that as a chain of
 * one node per character appended (32 bytes each), this as one string.
 */
export function flatCopy(s: string): string {
  return `\n${s}`.slice(1);
}

/** The kept rows' ends (from `first`, `kept` of them) moved to start at 0, then the new rows' after `keptLength` chars. */
function joinEnds(prev: Uint32Array, first: number, kept: number, keptLength: number, rows: readonly string[]): Uint32Array {
  const out = new Uint32Array(kept + rows.length);
  const shift = first === 0 ? 0 : (prev[first - 1] as number) + SEP.length;
  for (let i = 0; i < kept; i++) out[i] = (prev[first + i] as number) - shift;
  let at = kept === 0 ? 0 : keptLength + SEP.length;
  rows.forEach((r, i) => {
    at += r.length;
    out[kept + i] = at;
    at += SEP.length;
  });
  return out;
}

/** One flat string: the kept rows, then the new ones (Array.prototype.join builds a flat string, `+` a rope). */
function join(kept: string, keptRows: number, rows: readonly string[]): string {
  return (keptRows === 0 ? rows : [kept, ...rows]).join(SEP);
}

function slice(s: string, rowEnds: Uint32Array, i: number): string {
  const end = rowEnds[i] as number;
  const start = i === 0 ? 0 : (rowEnds[i - 1] as number) + SEP.length;
  return s.slice(start, end);
}
