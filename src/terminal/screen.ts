import { createRequire } from 'node:module';
import type { IBuffer, IBufferCell, IBufferLine, Terminal as XTerm } from '@xterm/headless';
import type { SerializeAddon as XSerialize } from '@xterm/addon-serialize';
import type { Unicode11Addon as XUnicode11 } from '@xterm/addon-unicode11';
import type { HostScreen } from '../protocol/host-link.js';
import type { ScreenQuery } from '../protocol/session.js';
import type { CursorState } from './inject-queue.js';
import { PlainTail, holdStart, isPlain } from './plain-tail.js';
import type { ColdSpill } from './cold-file.js';
import { ColdScrollback, flatCopy, type ColdRow } from './cold-scrollback.js';

// @xterm/headless and its addons are CommonJS (LESSONS.md): load them through require.
const require = createRequire(import.meta.url);

/** Lines of history kept per session: enough to read back a long answer; ~1.6 KB per 80-column line when full. */
export const SCROLLBACK_LINES = 3_000;

/**
 * Output is parsed in batches of at most this much: small enough that a flood never holds the event loop for
 * long (a 16 KiB batch parses in ~0.4 ms here) and the PTY is read again soon, so the child's writes keep flowing
 * while the host parses; big enough that per-batch costs vanish.
 */
const PARSE_BATCH_BYTES = 16 * 1024;

/** DEC private mode 2026, synchronized output: a program brackets each screen it draws with CSI ? 2026 h ... l. */
const SYNC_OUTPUT_MODE = 2026;

/**
 * Output short of a batch is parsed this long after it arrives, not on the same turn of the event loop: parsing
 * right after a keystroke's echo went out held up the next keystroke (API echo p50 +15-30 µs, measured A/B in
 * one run). Whatever reads the screen or its modes parses what is pending first.
 */
const PARSE_DEFER_MS = 16; // 2 ms parsed a fresh host's xterm, unoptimised, every few keys: cold keys p50 -10 to -15 % (bench/host-memory.md)
/** Held plain text is trimmed once this many line feeds more than must stay are held (amortises the work). */
const HOLD_TRIM_SLACK_LINES = 512;
/** Held text past this much (very long lines) is parsed after all: bounds the host's memory. */
const HOLD_MAX_BYTES = 4 * 1024 * 1024;
/** Held text is parsed once output has been quiet this long, so a screen read after a flood needs no parse. */
const HOLD_QUIET_PARSE_MS = 25;

/**
 * Rows above the cursor reported with it: the inject queue looks there for a box's wrapped text and a busy mark
 * (programs.ts; Gemini CLI 0.61's spinner is 4 rows above its input row, more when prompts it queued show between).
 */
const CURSOR_ROWS_ABOVE = 20;

/**
 * Scrollback rows xterm keeps in its own buffer when the older ones are compacted (cold-scrollback.ts): more than
 * cursorState reads above the cursor, so the inject path never reads the compact rows.
 */
const HOT_SCROLLBACK_LINES = 100;
/** Rows worth a compaction pass: a few rows of xterm cells are not worth the rendering. */
const COMPACT_MIN_LINES = 256;
/**
 * How long output must have been quiet before the scrollback is compacted: never while output flows (the flood's
 * throughput is untouched), and before the host's first quiet-time collection (0.75 s, host/quiet-cleanup.ts), which
 * frees the xterm rows compacted and counts the compaction's allocation before the later collection that lets V8
 * shrink its young generation (a compaction 5 s after the output, its garbage seen by that one, left the young
 * generation at 2 x 16 MB: +35 MB).
 */
const COMPACT_QUIET_MS = 500;

export interface ScreenOptions {
  /** Hold plain text back in floods and skip what would scroll out of the scrollback (plain-tail.ts). */
  holdPlainText?: boolean;
  /** Quiet time before the scrollback is compacted (COMPACT_QUIET_MS; tests shorten it). */
  compactQuietMs?: number;
  /** Where the compacted rows' text goes (a host's: a file, cold-file.ts); without it, it stays in memory. */
  coldSpill?: ColdSpill;
  /** Told when that file cannot be written (the text stays in memory) or read back (its rows are lost). */
  onColdError?: (message: string) => void;
}

export interface ScreenModes {
  bracketedPaste: boolean;
  altScreen: boolean;
}

/** xterm's synchronous parse entry (CoreTerminal.writeSync) and the state held text depends on: not public. */
interface SyncCore {
  writeSync(data: Uint8Array | string): void;
  _inputHandler?: { _parser?: { currentState?: number } };
  buffer?: { scrollTop?: number; scrollBottom?: number };
  buffers?: { normal?: Partial<CoreBuffer> };
}

/** xterm's row list (CircularList) and the buffer positions that count rows from its top: not public. */
interface CoreLines {
  readonly length: number;
  maxLength: number;
  trimStart(count: number): void;
  splice(start: number, deleteCount: number, ...items: unknown[]): void;
  get(index: number): unknown;
}
interface CoreBuffer {
  lines: CoreLines;
  ybase: number;
  ydisp: number;
  savedY: number;
}

function isCoreBuffer(b: Partial<CoreBuffer> | undefined): b is CoreBuffer {
  return (
    typeof b?.lines?.trimStart === 'function' &&
    typeof b.lines.splice === 'function' &&
    typeof b.ybase === 'number' &&
    typeof b.ydisp === 'number' &&
    typeof b.savedY === 'number'
  );
}

/** xterm's escape sequence parser state when it is between sequences. */
const PARSER_GROUND = 0;

/** The session's terminal as a human sees it: a headless xterm fed with every byte of PTY output. */
export class ScreenModel {
  private readonly term: XTerm;
  /** Loaded on the first serialize() (a viewer attaching): a session no one attaches to never needs it. */
  private serializer: XSerialize | null = null;
  private lastModes: ScreenModes;
  /**
   * xterm's own write() parses later, on a timer, in 12 ms slices with a >= 1 ms timer between them; a PTY's
   * kernel buffer holds only ~18 KiB (measured here), so the child then sits blocked for most of every slice and
   * the host is idle for most of every gap (the host idle a third of a 40 MB flood, 0.8x tmux's throughput).
   * Parsing synchronously in small batches keeps the PTY drained (the same flood: 0.85-1.1x tmux). A worker
   * thread for the parser was measured too: no faster on 2 cores, and a third more CPU for the hand-offs.
   * Null when this xterm lacks writeSync: then write() (async) is used, with the same results, only slower.
   */
  private readonly parseSync: ((data: Buffer) => void) | null;

  /** Output waiting to reach the parser as one write (a batch, or PARSE_DEFER_MS after it came). */
  private pending: Buffer[] = [];
  private pendingBytes = 0;
  /** Plain text held back during a flood (null: not done, e.g. without writeSync). */
  private readonly tail: PlainTail | null;
  private readonly core: SyncCore | null;
  private lastHeldAt = 0;
  private parseTimer: NodeJS.Timeout | null = null;
  private quietTimer: NodeJS.Timeout | null = null;
  private skipped = 0;
  /** Synchronized-output frames (DEC mode 2026) the program has ended so far: the inject queue's frame proof. */
  private framesEnded = 0;
  /** The oldest scrollback rows, compacted once the session is quiet (empty until then). */
  private readonly cold: ColdScrollback;
  /** While rows are cold: the handlers that drop them with xterm's own scrollback (ED 3, RIS). */
  private coldHooks: { dispose(): void }[] = [];
  private compactTimer: NodeJS.Timeout | null = null;
  private lastParsedAt = 0;
  private readonly compactQuietMs: number;

  constructor(
    cols: number,
    rows: number,
    private readonly onModes: (m: ScreenModes) => void,
    /** Called with a byte count once that much output has been parsed (flow control). */
    private readonly onParsed: (bytes: number) => void = () => undefined,
    options: ScreenOptions = {},
  ) {
    this.term = this.newTerminal(cols, rows, SCROLLBACK_LINES);
    this.lastModes = this.currentModes();
    const core = (this.term as unknown as { _core?: Partial<SyncCore> })._core;
    this.core = typeof core?.writeSync === 'function' ? (core as SyncCore) : null;
    this.parseSync = this.core ? (data) => (this.core as SyncCore).writeSync(data) : null;
    this.tail = this.core && options.holdPlainText !== false ? new PlainTail() : null;
    this.compactQuietMs = options.compactQuietMs ?? COMPACT_QUIET_MS;
    this.cold = new ColdScrollback({ ...(options.coldSpill ? { spill: options.coldSpill } : {}), ...(options.onColdError ? { onError: options.onColdError } : {}) });
    // Checked once per parsed batch, not per byte: cheap, and soon enough for the inject queue.
    this.term.onWriteParsed(() => this.checkModes());
    // The end of a synchronized-output frame (CSI ? 2026 l): counted, then xterm's own handler resets the mode.
    this.term.parser.registerCsiHandler({ prefix: '?', final: 'l' }, (params) => {
      if (params.includes(SYNC_OUTPUT_MODE)) this.framesEnded++;
      return false;
    });
  }

  private newTerminal(cols: number, rows: number, scrollback: number): XTerm {
    const { Terminal } = require('@xterm/headless') as typeof import('@xterm/headless');
    // logLevel off: writeSync logs a one-time warning meant for apps with async parser hooks (we register none).
    const term = new Terminal({ cols, rows, scrollback, allowProposedApi: true, logLevel: 'off' });
    // Unicode 11 widths (an emoji takes two columns), as tmux and today's terminals draw them: with xterm's
    // default (Unicode 6) `printf '🚀🚀🚀\033[7GZ'` read back as `🚀🚀🚀   Z` and emoji-heavy screens kept stray
    // fragments at line ends.
    const { Unicode11Addon } = require('@xterm/addon-unicode11') as { Unicode11Addon: new () => XUnicode11 };
    term.loadAddon(new Unicode11Addon() as unknown as Parameters<XTerm['loadAddon']>[0]);
    term.unicode.activeVersion = '11';
    return term;
  }

  /** True when output is parsed synchronously (the fast path; false only with an xterm that lacks it). */
  get parsesSynchronously(): boolean {
    return this.parseSync !== null;
  }

  /** The modes as of every byte written so far (pending output is parsed first; held plain text sets none). */
  modes(): ScreenModes {
    this.writePending();
    return this.currentModes();
  }

  private currentModes(): ScreenModes {
    return { bracketedPaste: this.term.modes.bracketedPasteMode, altScreen: this.term.buffer.active.type === 'alternate' };
  }

  get cols(): number {
    return this.term.cols;
  }

  get rows(): number {
    return this.term.rows;
  }

  /** Bytes of output never parsed because they would only have scrolled out of the scrollback. */
  get skippedBytes(): number {
    return this.skipped;
  }

  /**
   * Queue output. PTY reads come in ~4 KB pieces; they reach the parser together as one write, PARSE_DEFER_MS
   * later, or at once when a batch is full. In a flood of plain text, lines are held back instead and the oldest
   * dropped unparsed once enough newer ones are held (plain-tail.ts says why the screen stays exact).
   */
  write(data: Buffer): void {
    if (!this.tail) return this.queue(data);
    if (this.tail.bytes > 0) {
      if (isPlain(data)) return this.hold(data);
      this.releaseHeld();
    }
    const start = holdStart(data);
    if (start < 0) return this.queue(data);
    this.queue(data.subarray(0, start));
    this.hold(data.subarray(start));
  }

  private queue(data: Buffer): void {
    this.pending.push(data);
    this.pendingBytes += data.length;
    if (this.pendingBytes >= PARSE_BATCH_BYTES) this.writePending();
    else
      this.parseTimer ??= setTimeout(() => {
        this.parseTimer = null;
        this.writePending();
      }, PARSE_DEFER_MS);
  }

  private hold(data: Buffer): void {
    const tail = this.tail as PlainTail;
    tail.push(data);
    // Held bytes are as good as parsed for flow control: the tail is bounded on its own.
    this.onParsed(data.length);
    const keep = SCROLLBACK_LINES + 2 * this.term.rows;
    if (tail.lines >= keep + HOLD_TRIM_SLACK_LINES) {
      // The held text starts where the queued output ends: that is the state it is dropped in.
      this.writePending();
      if (this.canDrop()) this.skipped += tail.dropOldest(keep);
      else return this.releaseHeld();
    }
    if (tail.bytes > HOLD_MAX_BYTES) return this.releaseHeld();
    this.lastHeldAt = performance.now();
    this.quietTimer ??= setTimeout(() => this.onQuiet(), HOLD_QUIET_PARSE_MS);
  }

  private onQuiet(): void {
    this.quietTimer = null;
    if (!this.tail || this.tail.bytes === 0) return;
    const left = HOLD_QUIET_PARSE_MS - (performance.now() - this.lastHeldAt);
    if (left > 0) this.quietTimer = setTimeout(() => this.onQuiet(), left);
    else this.releaseHeld();
  }

  /** Lines may be dropped only from the ground state, with no scroll region and no insert mode. */
  private canDrop(): boolean {
    const core = this.core;
    const parser = core?._inputHandler?._parser?.currentState;
    const buffer = core?.buffer;
    return (
      parser === PARSER_GROUND &&
      buffer?.scrollTop === 0 &&
      buffer.scrollBottom === this.term.rows - 1 &&
      !this.term.modes.insertMode
    );
  }

  /** Parse what is queued, then everything held (in order). */
  private releaseHeld(): void {
    this.writePending();
    if (!this.tail || !this.parseSync) return;
    let any = false;
    for (const chunk of this.tail.take()) {
      this.parseSync(chunk);
      any = true;
    }
    if (any) this.afterParse();
  }

  private writePending(): void {
    if (this.pending.length === 0) return;
    const chunk = this.pending.length === 1 ? (this.pending[0] as Buffer) : Buffer.concat(this.pending, this.pendingBytes);
    this.pending = [];
    this.pendingBytes = 0;
    // xterm decodes UTF-8 itself and keeps a sequence cut across writes for the next one.
    if (this.parseSync) {
      this.parseSync(chunk);
      this.checkModes();
      this.onParsed(chunk.length);
      this.afterParse();
    } else this.term.write(chunk, () => this.onParsed(chunk.length));
  }

  /** Arms the compaction once enough rows are in the scrollback (a number compared per batch, nothing more). */
  private afterParse(): void {
    this.lastParsedAt = performance.now();
    if (this.compactTimer) return;
    const normal = this.normalBuffer();
    if (normal && normal.ybase - HOT_SCROLLBACK_LINES >= COMPACT_MIN_LINES) this.armCompact(this.compactQuietMs);
  }

  private armCompact(ms: number): void {
    this.compactTimer = setTimeout(() => {
      this.compactTimer = null;
      const left = this.compactQuietMs - (performance.now() - this.lastParsedAt);
      if (left > 0) this.armCompact(left);
      else this.compact();
    }, ms);
    this.compactTimer.unref();
  }

  private normalBuffer(): CoreBuffer | null {
    const normal = this.core?.buffers?.normal;
    return isCoreBuffer(normal) ? normal : null;
  }

  /** Cold rows beyond the scrollback's line cap (xterm's rows and the cold ones together) are dropped. */
  private capCold(normal: CoreBuffer): void {
    this.cold.dropOldest(this.cold.length + normal.lines.length - normal.lines.maxLength);
    if (this.cold.length === 0) this.unhookCold();
  }

  /**
   * Moves the normal buffer's scrollback rows above the last HOT_SCROLLBACK_LINES into the cold store, cut where a
   * row starts a line of its own (a wrapped line stays in one piece), and lets xterm's rows go.
   */
  compact(): void {
    this.releaseHeld();
    const normal = this.normalBuffer();
    if (!normal) return;
    let cut = normal.ybase - HOT_SCROLLBACK_LINES;
    const api = this.term.buffer.normal;
    while (cut > 0 && api.getLine(cut)?.isWrapped) cut--;
    if (cut < COMPACT_MIN_LINES) return;
    const cell = api.getNullCell();
    const cols = this.term.cols;
    const rows: ColdRow[] = [];
    const parts: string[] = [];
    for (let i = 0; i < cut; i++) {
      const line = api.getLine(i);
      if (!line) {
        rows.push({ text: '', ansi: '', wrapped: false });
        continue;
      }
      // Built with as little garbage as can be (see COMPACT_QUIET_MS): a row in the default style renders as its text.
      const text = rowText(line, cols, cell, parts);
      rows.push({ text, ansi: isDefaultStyle(line, cols, cell) ? text : renderAnsi(line, cols, cell), wrapped: line.isWrapped });
    }
    this.cold.append(rows, cols);
    normal.lines.trimStart(cut);
    normal.ybase -= cut;
    normal.ydisp = Math.max(0, normal.ydisp - cut);
    normal.savedY = Math.max(0, normal.savedY - cut);
    // trimStart only moves the list's start: its array still holds the rows. A new array lets them go.
    const max = normal.lines.maxLength;
    normal.lines.maxLength = max + 1;
    normal.lines.maxLength = max;
    this.capCold(normal);
    this.hookCold();
  }

  /** The cold rows go where xterm drops its scrollback: erase the scrollback (CSI 3 J) and a full reset (ESC c). */
  private hookCold(): void {
    if (this.coldHooks.length > 0 || this.cold.length === 0) return;
    const drop = (): boolean => {
      this.cold.clear();
      this.unhookCold();
      return false; // xterm's own handler runs too
    };
    this.coldHooks = [
      this.term.parser.registerCsiHandler({ final: 'J' }, (params) => (params[0] === 3 && this.term.buffer.active.type === 'normal' ? drop() : false)),
      this.term.parser.registerEscHandler({ final: 'c' }, drop),
    ];
  }

  private unhookCold(): void {
    for (const h of this.coldHooks) h.dispose();
    this.coldHooks = [];
  }

  /** Writes the cold rows back above xterm's rows (before a resize: xterm then reflows them with the rest). */
  private restoreCold(): void {
    const normal = this.normalBuffer();
    if (!normal || this.cold.length === 0) return;
    this.capCold(normal);
    const n = this.cold.length;
    if (n === 0) return;
    const tmp = this.newTerminal(this.cold.cols, 1, n + 1);
    try {
      const tmpCore = (tmp as unknown as { _core?: Partial<SyncCore> })._core;
      const tmpNormal = tmpCore?.buffers?.normal;
      if (typeof tmpCore?.writeSync !== 'function' || !isCoreBuffer(tmpNormal)) return;
      tmpCore.writeSync(this.cold.replay());
      const rows: unknown[] = [];
      for (let i = 0; i < n; i++) rows.push(tmpNormal.lines.get(i));
      normal.lines.splice(0, 0, ...rows);
      normal.ybase += n;
      normal.ydisp += n;
      normal.savedY += n;
    } finally {
      tmp.dispose();
      this.cold.clear();
      this.unhookCold();
    }
    // Compacted again once quiet (the rows are at the new width then).
    if (!this.compactTimer) this.armCompact(this.compactQuietMs);
  }

  private checkModes(): void {
    const m = this.currentModes();
    if (m.bracketedPaste !== this.lastModes.bracketedPaste || m.altScreen !== this.lastModes.altScreen) {
      this.lastModes = m;
      this.onModes(m);
    }
  }

  /** Resolves once every byte written so far has been parsed. */
  flush(): Promise<void> {
    this.releaseHeld();
    if (this.parseSync) return Promise.resolve();
    return new Promise((resolve) => this.term.write('', resolve));
  }

  resize(cols: number, rows: number): void {
    this.releaseHeld();
    if (cols !== this.term.cols || rows !== this.term.rows) this.restoreCold();
    this.term.resize(cols, rows);
  }

  /** The visible screen and its modes as an escape sequence that redraws it (attach replay). */
  async serialize(): Promise<string> {
    await this.flush();
    if (!this.serializer) {
      const { SerializeAddon } = require('@xterm/addon-serialize') as typeof import('@xterm/addon-serialize');
      this.serializer = new SerializeAddon();
      this.term.loadAddon(this.serializer as unknown as Parameters<XTerm['loadAddon']>[0]);
    }
    return this.serializer.serialize({ scrollback: 0 });
  }

  /**
   * Where input happens: the cursor, the text of its row, of the CURSOR_ROWS_ABOVE rows above it (an input box's
   * text and border) and of the rows below it (a footer), after every queued byte is parsed.
   */
  async cursorState(): Promise<CursorState> {
    await this.flush();
    // The cold rows are above the HOT_SCROLLBACK_LINES xterm keeps: these rows are not among them (if they ever are,
    // textAt reads them back from their file at once).
    const buf = this.term.buffer.active;
    // Rows count from the top of the whole scrollback, its cold rows included (the same row keeps its number).
    const cold = this.coldRows(buf.type);
    // Each row in one piece: the inject queue keeps the last submission's state (and inject-follow.ts the rows above
    // each prompt) for as long as the session lives, and xterm's text of a row, built a character at a time, is a
    // chain of one 32-byte node per character (a 120x40 screen's state ~0.15 MB instead of ~8 KB).
    const text = (r: number): string => flatCopy(this.textOfRow(buf, cold, r));
    const y = cold + buf.baseY + buf.cursorY;
    const above: string[] = [];
    for (let r = Math.max(0, y - CURSOR_ROWS_ABOVE); r < y; r++) above.push(text(r));
    // The rest of the screen below the cursor: a program's footer (its busy mark, issue 25).
    const below: string[] = [];
    for (let r = y + 1; r < cold + buf.baseY + this.term.rows; r++) below.push(text(r));
    // Between two synchronized frames the screen is one the program meant to show, never a redraw caught midway.
    return { buffer: buf.type, x: buf.cursorX, y, line: text(y), above, below, frameOpen: this.term.modes.synchronizedOutputMode, framesEnded: this.framesEnded };
  }

  /**
   * Rendered lines. Without scrollback: the visible screen. Trailing blank rows are dropped (the cursor
   * position is reported on its own), so `lines: N` means the last N rows that have something on them.
   */
  async snapshot(q: ScreenQuery): Promise<HostScreen> {
    await this.flush();
    if (q.scrollback) await this.cold.load();
    const buf = this.term.buffer.active;
    // The cold rows (the oldest of the normal buffer's scrollback) come first, then xterm's own.
    const cold = this.coldRows(buf.type);
    const screenTop = cold + buf.baseY;
    const start = q.scrollback ? 0 : screenTop;
    const text = (r: number): string => this.textOfRow(buf, cold, r);
    let end = screenTop + this.term.rows;
    while (end > start && text(end - 1) === '') end--;
    const from = q.lines !== undefined ? Math.max(start, end - q.lines) : start;
    const cell = buf.getNullCell();
    const lines: string[] = [];
    for (let i = from; i < end; i++) {
      if (i < cold) {
        lines.push(q.ansi ? this.cold.ansiAt(i) : this.cold.textAt(i));
        continue;
      }
      const line = buf.getLine(i - cold);
      lines.push(!line ? '' : q.ansi ? renderAnsi(line, this.term.cols, cell) : line.translateToString(true));
    }
    return {
      cols: this.term.cols,
      rows: this.term.rows,
      cursor: { x: buf.cursorX, y: buf.cursorY },
      alt_screen: buf.type === 'alternate',
      bracketed_paste: this.term.modes.bracketedPasteMode,
      lines,
    };
  }

  /** Row r of `buf` as text, counting from the top of the whole scrollback: its first `cold` rows are the cold store's. */
  private textOfRow(buf: IBuffer, cold: number, r: number): string {
    return r < cold ? this.cold.textAt(r) : (buf.getLine(r - cold)?.translateToString(true) ?? '');
  }

  /** Rows of the cold store above the buffer read (the normal one's; the alternate screen has no scrollback). */
  private coldRows(type: string): number {
    const normal = this.normalBuffer();
    if (type !== 'normal' || !normal || this.cold.length === 0) return 0;
    this.capCold(normal);
    return this.cold.length;
  }

  /** Rows held compacted (for tests and diagnostics). */
  get coldLength(): number {
    return this.cold.length;
  }

  /** The compacted rows' text is in their file only (for tests and diagnostics). */
  get coldOnDisk(): boolean {
    return this.cold.onDisk;
  }

  /** Resolves once the compacted rows' text asked to be written to their file is (for tests). */
  coldWritten(): Promise<void> {
    return this.cold.written();
  }

  dispose(): void {
    if (this.compactTimer) clearTimeout(this.compactTimer);
    if (this.quietTimer) clearTimeout(this.quietTimer);
    if (this.parseTimer) clearTimeout(this.parseTimer);
    this.cold.close();
    this.term.dispose();
  }
}

/** A colour key's palette index past this is an RGB colour (0x1000000 + 0xRRGGBB). */
const RGB_KEY = 0x1000000;

/** A cell's colour as a number: -1 the default, RGB_KEY + RGB, or the palette index (compared between cells as is). */
function colorKey(isDefault: boolean, isRgb: boolean, isPalette: boolean, color: number): number {
  if (isDefault) return -1;
  if (isRgb) return RGB_KEY + color;
  return isPalette ? color : -1;
}

const fgKey = (c: IBufferCell): number => colorKey(c.isFgDefault(), c.isFgRGB(), c.isFgPalette(), c.getFgColor());
const bgKey = (c: IBufferCell): number => colorKey(c.isBgDefault(), c.isBgRGB(), c.isBgPalette(), c.getBgColor());

/** A colour key's SGR parameters, as foreground (`fg`) or background. */
function colorSgr(key: number, fg: boolean): string {
  if (key < 0) return fg ? '39' : '49';
  if (key >= RGB_KEY) {
    const color = key - RGB_KEY;
    return `${fg ? 38 : 48};2;${(color >> 16) & 255};${(color >> 8) & 255};${color & 255}`;
  }
  if (key < 8) return String((fg ? 30 : 40) + key);
  if (key < 16) return String((fg ? 90 : 100) + key - 8);
  return `${fg ? 38 : 48};5;${key}`;
}

/** The SGR parameter of each attribute bit of attrBits, in bit order. */
const ATTR_SGR = ['1', '2', '3', '4', '5', '7', '8', '9'] as const;

/** A cell's attributes as bits: bold, dim, italic, underline, blink, inverse, invisible, strikethrough (ATTR_SGR). */
function attrBits(c: IBufferCell): number {
  return (
    (c.isBold() ? 1 : 0) |
    (c.isDim() ? 2 : 0) |
    (c.isItalic() ? 4 : 0) |
    (c.isUnderline() ? 8 : 0) |
    (c.isBlink() ? 16 : 0) |
    (c.isInverse() ? 32 : 0) |
    (c.isInvisible() ? 64 : 0) |
    (c.isStrikethrough() ? 128 : 0)
  );
}

/** A style's SGR parameters: a reset, its attributes, then its colours other than the default. */
function styleSgr(bits: number, fg: number, bg: number): string {
  const parts = ['0'];
  ATTR_SGR.forEach((code, i) => {
    if (bits & (1 << i)) parts.push(code);
  });
  if (fg >= 0) parts.push(colorSgr(fg, true));
  if (bg >= 0) parts.push(colorSgr(bg, false));
  return parts.join(';');
}

/**
 * The line's text as xterm's translateToString(true) gives it (trailing cells with nothing written trimmed, a wide
 * character once), joined from its cells: translateToString appends character by character, ~4 KB of string pieces
 * for a 120-column row, which made a compaction of 3,000 rows allocate 11 MB.
 */
function rowText(line: IBufferLine, cols: number, cell: IBufferCell, parts: string[]): string {
  let end = 0;
  for (let x = Math.min(cols, line.length) - 1; x >= 0; x--) {
    const c = line.getCell(x, cell);
    if (c && c.getChars() !== '') {
      end = x + c.getWidth();
      break;
    }
  }
  parts.length = 0;
  for (let x = 0; x < end; ) {
    const c = line.getCell(x, cell);
    if (!c) break;
    parts.push(c.getChars() || ' ');
    x += c.getWidth() || 1;
  }
  return parts.join('');
}

/** Every cell of the line in the default style: renderAnsi then gives exactly its text (translateToString(true)). */
function isDefaultStyle(line: IBufferLine, cols: number, cell: IBufferCell): boolean {
  for (let x = 0; x < cols; x++) {
    const c = line.getCell(x, cell);
    if (!c) continue;
    if (attrBits(c) !== 0 || fgKey(c) !== -1 || bgKey(c) !== -1) return false;
  }
  return true;
}

/** One line with SGR colours and attributes, reset at the end; trailing default blanks trimmed. */
function renderAnsi(line: IBufferLine, cols: number, cell: IBufferCell): string {
  let last = -1;
  for (let x = 0; x < cols; x++) {
    const c = line.getCell(x, cell);
    // Same trimming as translateToString(true): written cells (even spaces) count, untouched ones do not.
    if (c && (c.getChars() !== '' || !c.isBgDefault() || c.isInverse())) last = x;
  }
  let out = '';
  // The style of the cell before (the default's at first): an SGR is written only where the style changes.
  let bits = 0;
  let fg = -1;
  let bg = -1;
  for (let x = 0; x <= last; x++) {
    const c = line.getCell(x, cell);
    if (!c || c.getWidth() === 0) continue;
    const b = attrBits(c);
    const f = fgKey(c);
    const k = bgKey(c);
    if (b !== bits || f !== fg || k !== bg) {
      bits = b;
      fg = f;
      bg = k;
      out += `\x1b[${styleSgr(b, f, k)}m`;
    }
    out += c.getChars() || ' ';
  }
  return bits === 0 && fg === -1 && bg === -1 ? out : `${out}\x1b[0m`;
}
