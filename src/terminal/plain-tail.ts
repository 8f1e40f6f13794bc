/**
 * Plain text held back from the terminal model during a flood, so that lines which would only scroll out of the
 * scrollback are never parsed.
 *
 * Why it is exact: plain text (printable ASCII, CR, LF, TAB) changes no terminal state but the cells it prints and
 * the cursor. Held text always starts right after a CR LF, with the parser in its ground state, no scroll region
 * and no insert mode (ScreenModel checks that before anything is dropped). From such a point, once `rows` line
 * feeds have put the cursor on the bottom row, every further line feed scrolls one row into the scrollback; so
 * after `scrollback + 2 × rows` line feeds every row of the buffer was made by this text alone, whatever came
 * before it. Lines older than that can be dropped unparsed, at CR LF boundaries, and the screen and scrollback are
 * the same as if every byte had been parsed (test/unit/host/screen.test.ts compares the two on random input).
 */

const CR = 0x0d;
const LF = 0x0a;
const TAB = 0x09;
const CRLF = Buffer.from('\r\n');

/** Printable ASCII, CR, LF or TAB: bytes that print or move the cursor within the screen and nothing else. */
function plainByte(b: number): boolean {
  return (b >= 0x20 && b <= 0x7e) || b === LF || b === CR || b === TAB;
}

export function isPlain(buf: Buffer): boolean {
  for (let i = 0; i < buf.length; i++) if (!plainByte(buf[i] as number)) return false;
  return true;
}

/**
 * Where a chunk's held part may start: right after the first CR LF of its plain suffix (everything after that
 * point is plain and begins a line). -1 when the chunk has no such point with text after it.
 */
export function holdStart(buf: Buffer): number {
  let p = buf.length;
  while (p > 0 && plainByte(buf[p - 1] as number)) p--;
  const crlf = buf.indexOf(CRLF, p);
  if (crlf < 0 || crlf + 2 >= buf.length) return -1;
  return crlf + 2;
}

function countLines(buf: Buffer): number {
  let n = 0;
  for (let i = buf.indexOf(LF); i >= 0; i = buf.indexOf(LF, i + 1)) n++;
  return n;
}

interface Piece {
  buf: Buffer;
  lines: number;
}

export class PlainTail {
  private pieces: Piece[] = [];
  private heldBytes = 0;
  private heldLines = 0;

  get bytes(): number {
    return this.heldBytes;
  }

  get lines(): number {
    return this.heldLines;
  }

  /** Append plain text that continues the held text (or starts it, at a line start). */
  push(buf: Buffer): void {
    const lines = countLines(buf);
    this.pieces.push({ buf, lines });
    this.heldBytes += buf.length;
    this.heldLines += lines;
  }

  /**
   * Drop the oldest text, at CR LF boundaries, while at least `keep` line feeds stay held. Returns the bytes
   * dropped.
   */
  dropOldest(keep: number): number {
    let dropped = 0;
    while (this.pieces.length > 1) {
      const first = this.pieces[0] as Piece;
      if (this.heldLines - first.lines < keep) break;
      const cut = first.buf.lastIndexOf(CRLF);
      const rest = cut < 0 ? first.buf : first.buf.subarray(cut + 2);
      // What follows the piece's last CR LF joins the next piece, so the held text still starts a line.
      const next = this.pieces[1] as Piece;
      this.pieces.shift();
      this.heldLines -= first.lines;
      this.heldBytes -= first.buf.length - rest.length;
      dropped += first.buf.length - rest.length;
      if (rest.length > 0) {
        const restLines = countLines(rest);
        this.heldLines += restLines;
        next.buf = Buffer.concat([rest, next.buf]);
        next.lines += restLines;
      }
    }
    return dropped;
  }

  /** Everything held, oldest first; the tail is empty after. */
  take(): Buffer[] {
    const out = this.pieces.map((p) => p.buf);
    this.pieces = [];
    this.heldBytes = 0;
    this.heldLines = 0;
    return out;
  }
}
