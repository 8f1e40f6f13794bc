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

import type { ColdSpill } from './cold-file.js';

/** What ColdScrollback writes its text to, and whom it tells when that fails. */
export interface ColdScrollbackOptions {
  /** Where the rows' text goes once written (cold-file.ts); without it, the text stays in memory. */
  spill?: ColdSpill;
  /** Told (once a failure) when the file cannot be written (the text then stays in memory) or read back. */
  onError?: (message: string) => void;
}

/** Where the kept rows' text is in the spill file: the text strings, then the SGR renderings (if any). */
interface OnDisk {
  textBytes: number;
  bytes: number;
  ansi: boolean;
}

/** Rows go into the strings below joined by this; no rendered row contains it (xterm keeps no control characters). */
const SEP = '\n';

export class ColdScrollback {
  /**
   * Every kept row's text joined by SEP (one flat string: rows built by appending are ropes of many pieces). Empty
   * while the text is only in the spill file (`disk`), and for the rest of a turn of the event loop after it was read
   * back from it (`loaded`).
   */
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

  private spill: ColdSpill | null;
  private readonly onError: (message: string) => void;
  /** Set once the file holds the kept rows' text and the strings above were let go. */
  private disk: OnDisk | null = null;
  /** The strings hold the file's text, read back for this turn of the event loop. */
  private loaded = false;
  /** Bumped at every change of the strings: a write finished for an older state lets nothing go. */
  private generation = 0;
  /** The writes to the file, one after the other. */
  private writes: Promise<void> = Promise.resolve();

  constructor(opts: ColdScrollbackOptions = {}) {
    this.spill = opts.spill ?? null;
    this.onError = opts.onError ?? (() => undefined);
  }

  /** True while the rows' text is in the file only (for tests and diagnostics). */
  get onDisk(): boolean {
    return this.disk !== null && !this.loaded;
  }

  /** Resolves once every write to the file asked for so far is over (for tests). */
  written(): Promise<void> {
    return this.writes;
  }

  get length(): number {
    return this.count - this.first;
  }

  /** Row i's text (0: the oldest kept). */
  textAt(i: number): string {
    this.loadSync();
    return slice(this.text, this.textEnds, this.first + i);
  }

  /** Row i's SGR rendering. */
  ansiAt(i: number): string {
    this.loadSync();
    return this.ansi === null ? this.textAt(i) : slice(this.ansi, this.ansiEnds, this.first + i);
  }

  /**
   * Reads the text back from the file, if it is there only, for the rest of this turn of the event loop: a screen
   * read awaits this first, so that its row reads do not read the file at once.
   */
  async load(): Promise<void> {
    const disk = this.disk;
    if (disk === null || this.loaded || this.spill === null) return;
    const generation = this.generation;
    let buf: Buffer;
    try {
      buf = await this.spill.read(disk.bytes);
    } catch (err) {
      if (generation === this.generation) this.lose(err);
      return;
    }
    if (generation === this.generation && !this.loaded) this.hold(disk, buf);
  }

  /** The text read back from the file now, if it is there only (a resize, a new compaction). */
  private loadSync(): void {
    const disk = this.disk;
    if (disk === null || this.loaded || this.spill === null) return;
    let buf: Buffer;
    try {
      buf = this.spill.readSync(disk.bytes);
    } catch (err) {
      this.lose(err);
      return;
    }
    this.hold(disk, buf);
  }

  /** The strings from the file's bytes, let go again once this turn of the event loop is over. */
  private hold(disk: OnDisk, buf: Buffer): void {
    this.text = buf.toString('utf8', 0, disk.textBytes);
    this.ansi = disk.ansi ? buf.toString('utf8', disk.textBytes, disk.bytes) : null;
    this.loaded = true;
    const generation = this.generation;
    setImmediate(() => {
      if (generation !== this.generation || this.disk === null) return;
      this.text = '';
      this.ansi = null;
      this.loaded = false;
    }).unref();
  }

  /** The file cannot be read back: its rows are gone (said once, loudly); the rest of the screen reads on. */
  private lose(err: unknown): void {
    const n = this.length;
    this.clear();
    this.onError(`the ${n} oldest scrollback rows were lost: their file could not be read back (${err instanceof Error ? err.message : String(err)})`);
  }

  /** The strings are about to change: from the file first if they are only there, and the file no longer counts. */
  private own(): void {
    this.loadSync();
    this.disk = null;
    this.loaded = false;
    this.generation++;
  }

  /**
   * The kept rows' text to the file, written asynchronously; once written (and nothing changed meanwhile) the strings
   * are let go. A file that cannot be written keeps the text in memory, as without one, from then on.
   */
  private toDisk(): void {
    const spill = this.spill;
    if (spill === null || this.length === 0) return;
    const generation = this.generation;
    const text = this.text;
    const ansi = this.ansi;
    const textBytes = Buffer.byteLength(text, 'utf8');
    const data = Buffer.allocUnsafe(textBytes + (ansi === null ? 0 : Buffer.byteLength(ansi, 'utf8')));
    data.write(text, 0, 'utf8');
    if (ansi !== null) data.write(ansi, textBytes, 'utf8');
    this.writes = this.writes
      .then(() => spill.write(data))
      .then(
        () => {
          if (generation !== this.generation) return;
          this.disk = { textBytes, bytes: data.length, ansi: ansi !== null };
          this.text = '';
          this.ansi = null;
          this.loaded = false;
        },
        (err: unknown) => {
          if (this.spill === null) return;
          this.spill = null;
          this.onError(`the scrollback's oldest rows stay in memory: their file could not be written (${err instanceof Error ? err.message : String(err)})`);
        },
      );
  }

  /** The file is closed (the session ends); the store is not used after. */
  close(): void {
    const spill = this.spill;
    // A write still under way then fails quietly: the session is ending, nothing to warn about.
    this.spill = null;
    spill?.close();
  }

  wrappedAt(i: number): boolean {
    return this.wrapped[this.first + i] === 1;
  }

  /** Add rows after the kept ones, rendered at `cols` (the kept ones are at the same width: screen.ts replays them before a resize). */
  append(rows: readonly ColdRow[], cols: number): void {
    if (rows.length === 0) return;
    this.own();
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
    this.toDisk();
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
    this.disk = null;
    this.loaded = false;
    this.generation++;
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
    this.own();
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
    this.toDisk();
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
