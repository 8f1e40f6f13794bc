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
    const kept = this.keptRows();
    const all = kept.concat(rows);
    const plain = all.every((r) => r.ansi === r.text);
    this.text = all.map((r) => r.text).join(SEP);
    this.ansi = plain ? null : all.map((r) => r.ansi).join(SEP);
    this.textEnds = ends(all.map((r) => r.text));
    this.ansiEnds = plain ? new Uint32Array(0) : ends(all.map((r) => r.ansi));
    this.wrapped = Uint8Array.from(all, (r) => (r.wrapped ? 1 : 0));
    this.first = 0;
    this.count = all.length;
    this.cols = cols;
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

  private keptRows(): ColdRow[] {
    const rows: ColdRow[] = [];
    for (let i = 0; i < this.length; i++) rows.push({ text: this.textAt(i), ansi: this.ansiAt(i), wrapped: this.wrappedAt(i) });
    return rows;
  }

  private compactStrings(): void {
    const rows = this.keptRows();
    this.clear();
    this.append(rows, this.cols);
  }
}

function ends(rows: readonly string[]): Uint32Array {
  const out = new Uint32Array(rows.length);
  let at = 0;
  rows.forEach((r, i) => {
    at += r.length;
    out[i] = at;
    at += SEP.length;
  });
  return out;
}

function slice(s: string, rowEnds: Uint32Array, i: number): string {
  const end = rowEnds[i] as number;
  const start = i === 0 ? 0 : (rowEnds[i - 1] as number) + SEP.length;
  return s.slice(start, end);
}
