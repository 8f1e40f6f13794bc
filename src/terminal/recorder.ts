import { isUtf8 } from 'node:buffer';
import { promises as fs } from 'node:fs';
import path from 'node:path';
import { eventLine, eventLineStart, headerLine, type CastCode, type CastFormat } from '../protocol/asciicast.js';
import { ensureDir, isDiskFull } from '../util/files.js';

/**
 * Records a session as an asciicast (issue 22), off the hot path: the session hands it every chunk and goes on;
 * lines queue in memory and one async loop writes them. When the disk cannot keep up, output past MAX_PENDING is
 * dropped and a marker says how much (a recording never slows or blocks the PTY). At the size limit the recording
 * goes on in a numbered next file (`name.2.cast`, …), each with its own header.
 */

export interface RecorderOptions {
  file: string;
  format: CastFormat;
  cols: number;
  rows: number;
  command?: string | undefined;
  title?: string | undefined;
  /** Keyboard input (`i` events): off unless asked, since it may hold secrets. */
  recordInput: boolean;
  /** A file grows to at most about this many bytes before the next one starts. */
  maxBytes?: number;
  /** Queued, not yet written bytes beyond this are dropped (and the gap marked). */
  maxPendingBytes?: number;
  /** The lines are written (and escaped) in slices of about this much (default WRITE_BYTES); the loop turns between. */
  writeBytes?: number;
  now?: () => number;
}

/** A file of this size holds hours of an agent's session; past it a new file starts, so none grows unbounded. */
export const DEFAULT_MAX_CAST_BYTES = 100 * 1024 * 1024;
/**
 * An output event holds at most a file's limit divided by this: escaped, a byte takes up to 6 (\u00XX), so an event
 * of an eighth of the limit fits a file beside its header even at the smallest limit (4K: 512 bytes, 3 KB escaped).
 */
const EVENTS_PER_FILE_MIN = 8;
/** ...but never fewer bytes than this in an event (a character is at most 4). */
const MIN_EVENT_BYTES = 64;
/** About a second of a 40 MB/s flood: a disk this far behind is not keeping up, and output is dropped, not queued. */
export const DEFAULT_MAX_PENDING_BYTES = 8 * 1024 * 1024;

/**
 * A disk that refused a write for want of space (ENOSPC, EDQUOT) is tried again after this long; output meanwhile is
 * dropped and marked as a gap, markers (injects, resizes) wait. A second is long next to a write and short next to
 * what it takes a person or a cleanup job to free space; the session is never slowed either way.
 */
export const DISK_FULL_RETRY_MS = 1_000;

/** What a gap marker says of why output was not recorded. */
const GAP_DISK_BEHIND = 'the disk fell behind';
const GAP_DISK_FULL = 'the disk was full';

/** The label of the marker that stands for `bytes` of output not recorded, and why. */
function gapLabel(bytes: number, why: string): string {
  return `gap: ${bytes} bytes of output not recorded (${why})`;
}

/** The writer encodes lines into a buffer of this size and writes it when full: few writes, one buffer reused. */
const WRITE_BYTES = 1024 * 1024;

/**
 * A queued event: its text (`data`), or output that is valid UTF-8 as its bytes (`raw`, a copy), escaped for JSON
 * straight into the write buffer: never decoded to UTF-16, JSON-stringified and encoded again.
 */
interface Queued {
  at: number;
  code: CastCode;
  data: string;
  raw: Uint8Array | null;
}

/** What a queued event counts against the queue's bound. */
function queuedSize(ev: Queued): number {
  return ev.raw ? ev.raw.length : ev.data.length;
}

/** JSON's two-character escapes (`\n`, …), by byte; 0: written as \u00XX. */
const SHORT_ESCAPE = new Uint8Array(256);
for (const [byte, letter] of [
  [0x08, 'b'],
  [0x09, 't'],
  [0x0a, 'n'],
  [0x0c, 'f'],
  [0x0d, 'r'],
  [0x22, '"'],
  [0x5c, '\\'],
] as const)
  SHORT_ESCAPE[byte] = letter.charCodeAt(0);
const HEX_DIGITS = Buffer.from('0123456789abcdef', 'latin1');
/** Runs of bytes that need no escape longer than this are copied with one call; shorter ones byte by byte. */
const COPY_RUN_BYTES = 16;

/**
 * UTF-8 bytes as the inside of a JSON string, written into `dst` at `at` (room for 6 bytes per byte assumed): what
 * JSON.stringify writes for the text they encode (control characters, `"` and backslash escaped, everything else as it is,
 * multi-byte characters included). Returns where the written bytes end.
 */
export function escapeJsonBytes(src: Uint8Array, dst: Uint8Array, at: number): number {
  const n = src.length;
  let o = at;
  let i = 0;
  while (i < n) {
    let j = i;
    let b = 0;
    while (j < n) {
      b = src[j] as number;
      if (b < 0x20 || b === 0x22 || b === 0x5c) break;
      j++;
    }
    if (j - i > COPY_RUN_BYTES) dst.set(src.subarray(i, j), o);
    else for (let k = i; k < j; k++) dst[o + k - i] = src[k] as number;
    o += j - i;
    if (j === n) break;
    const short = SHORT_ESCAPE[b] as number;
    dst[o++] = 0x5c;
    if (short !== 0) dst[o++] = short;
    else {
      dst[o++] = 0x75; // u
      dst[o++] = 0x30;
      dst[o++] = 0x30;
      dst[o++] = HEX_DIGITS[b >> 4] as number;
      dst[o++] = HEX_DIGITS[b & 15] as number;
    }
    i = j + 1;
  }
  return o;
}

/**
 * Where the last whole UTF-8 character of `b` ends: a character cut at the end (its lead byte and fewer continuation
 * bytes than it announces) is left out, to be completed by the next chunk. Anything else (ASCII, invalid bytes) ends
 * where `b` ends: the decoding judges it.
 */
export function wholeUtf8End(b: Uint8Array): number {
  const n = b.length;
  for (let i = n - 1; i >= 0 && i >= n - 4; i--) {
    const c = b[i] as number;
    if ((c & 0xc0) === 0x80) continue;
    const len = c >= 0xf8 ? 1 : c >= 0xf0 ? 4 : c >= 0xe0 ? 3 : c >= 0xc0 ? 2 : 1;
    return i + len > n ? i : n;
  }
  return n;
}

/** `name.cast` → `name.2.cast`, `name.3.cast`, … */
export function rotatedName(file: string, n: number): string {
  if (n <= 1) return file;
  const ext = path.extname(file);
  return `${file.slice(0, file.length - ext.length)}.${n}${ext || '.cast'}`;
}

/** Where a recording stands: its part, that file's size and header, its time base and last event's time. */
export interface CastPosition {
  part: number;
  fileBytes: number;
  headerBytes: number;
  fileStart: number;
  lastTime: number;
}

export class CastRecorder {
  private readonly format: CastFormat;
  private readonly maxBytes: number;
  private readonly maxPending: number;
  private readonly writeBytes: number;
  /** The most output bytes one `o` event holds (a larger chunk is split at a character's end). */
  private readonly maxEventBytes: number;
  private readonly now: () => number;
  private cols: number;
  private rows: number;
  private handle: fs.FileHandle | null = null;
  private part = 1;
  private fileStart = 0;
  private fileBytes = 0;
  private headerBytes = 0;
  private lastTime = 0;
  private queue: Queued[] = [];
  /** The start of a UTF-8 character cut at the end of the last output (outputBytes), completed by the next. */
  private carry: Buffer | null = null;
  private queuedBytes = 0;
  private droppedBytes = 0;
  /** Every output byte dropped, marked or not (stats). */
  private droppedTotal = 0;
  private writing: Promise<void> | null = null;
  /** The lines being written, encoded (reused: one write at a time). */
  private out = Buffer.allocUnsafe(WRITE_BYTES);
  private closed = false;
  private failure: unknown = null;
  /** The disk refused the last write for want of space: until `until`, output is dropped and nothing is written. */
  private refused: { err: NodeJS.ErrnoException; until: number } | null = null;
  /** Why the output counted in droppedBytes was dropped (the gap marker says it). */
  private gapWhy = GAP_DISK_BEHIND;
  readonly files: string[] = [];

  private constructor(private readonly opts: RecorderOptions) {
    this.format = opts.format;
    this.maxBytes = opts.maxBytes ?? DEFAULT_MAX_CAST_BYTES;
    this.maxPending = opts.maxPendingBytes ?? DEFAULT_MAX_PENDING_BYTES;
    this.writeBytes = opts.writeBytes ?? WRITE_BYTES;
    this.maxEventBytes = Math.max(MIN_EVENT_BYTES, Math.floor(this.maxBytes / EVENTS_PER_FILE_MIN));
    this.now = opts.now ?? Date.now;
    this.cols = opts.cols;
    this.rows = opts.rows;
  }

  /** Open the file (created 0600, never over an existing one) and write the header before anything else. */
  static async open(opts: RecorderOptions): Promise<CastRecorder> {
    const r = new CastRecorder(opts);
    await ensureDir(path.dirname(opts.file));
    await r.openPartOrDiscard();
    return r;
  }

  /** openPart; a file it made and could not write its header to (a full disk) is no recording, and is removed. */
  private async openPartOrDiscard(): Promise<void> {
    try {
      await this.openPart();
    } catch (err) {
      const left = await this.discardCreated();
      if (left && err instanceof Error) err.message += `; ${left}`;
      throw err;
    }
  }

  /** Close and remove the file openPart created, if it did; what could not be done, or null. */
  private async discardCreated(): Promise<string | null> {
    const handle = this.handle;
    const file = this.files[this.files.length - 1];
    if (!handle || file === undefined) return null;
    this.handle = null;
    try {
      await handle.close();
      await fs.unlink(file);
      return null;
    } catch (err) {
      return `${file} could not be removed (${err instanceof Error ? err.message : String(err)})`;
    }
  }

  /**
   * Go on writing a recording where `at` says it stood (a spool left by a host that ended: recorder-spool.ts): the
   * part's file is cut to `at.fileBytes` (what was written after that point is written again) and appended to.
   */
  static async resume(opts: RecorderOptions, at: CastPosition): Promise<CastRecorder> {
    const r = new CastRecorder(opts);
    r.part = at.part;
    const file = rotatedName(opts.file, at.part);
    await fs.truncate(file, at.fileBytes);
    r.handle = await fs.open(file, 'a');
    r.files.push(file);
    r.fileStart = at.fileStart;
    r.lastTime = at.lastTime;
    r.fileBytes = at.fileBytes;
    r.headerBytes = at.headerBytes;
    return r;
  }

  /** Where the recording stands: exact once idle() resolved (nothing queued or being written). */
  get position(): CastPosition {
    return { part: this.part, fileBytes: this.fileBytes, headerBytes: this.headerBytes, fileStart: this.fileStart, lastTime: this.lastTime };
  }

  /** Resolves once everything queued so far is written (or the writing failed). */
  async idle(): Promise<void> {
    while (this.writing) await this.writing;
  }

  get file(): string {
    return this.files[this.files.length - 1] as string;
  }

  get stats(): { files: string[]; dropped_bytes: number; queued_bytes: number } {
    return { files: [...this.files], dropped_bytes: this.droppedTotal, queued_bytes: this.queuedBytes };
  }

  private async openPart(): Promise<void> {
    const file = rotatedName(this.opts.file, this.part);
    this.handle = await fs.open(file, 'wx', 0o600);
    this.files.push(file);
    this.fileStart = this.now();
    this.lastTime = 0;
    const header = Buffer.from(`${headerLine({ format: this.format, cols: this.cols, rows: this.rows, timestamp: Math.floor(this.fileStart / 1000), command: this.opts.command, title: this.opts.title })}\n`);
    this.fileBytes = 0;
    await this.writeAt(header, header.length);
    this.fileBytes = this.headerBytes = header.length;
  }

  output(data: string): void {
    this.push('o', data, true);
  }

  /**
   * Raw output (the program's UTF-8; a character may be cut across chunks). The fast path, taken by valid UTF-8 (all
   * of a flood): the bytes are queued (a copy) and escaped for JSON into the write buffer (escapeJsonBytes), no string
   * made of them. Invalid UTF-8 is decoded with its replacement characters, as a StringDecoder would. `chunk` is not
   * kept.
   */
  outputBytes(chunk: Uint8Array): void {
    let bytes = Buffer.from(chunk.buffer, chunk.byteOffset, chunk.byteLength);
    if (this.carry) {
      bytes = Buffer.concat([this.carry, bytes]);
      this.carry = null;
    }
    const end = wholeUtf8End(bytes);
    if (end < bytes.length) this.carry = Buffer.from(bytes.subarray(end));
    if (end === 0) return;
    const body = bytes.subarray(0, end);
    if (!isUtf8(body)) {
      this.push('o', body.toString('utf8'), true);
      return;
    }
    // However the program's output came in chunks (a host that read late gets 100 KB at once), an event is at most
    // a part of a file, so a file stays within its limit and rotation happens where the limit says.
    const most = this.maxEventBytes;
    for (let i = 0; i < body.length; ) {
      const j = body.length - i <= most ? body.length : i + wholeUtf8End(body.subarray(i, i + most));
      this.push('o', '', true, body.subarray(i, j));
      i = j;
    }
  }

  /** A character still cut at the end of output (it never got its last bytes): written as the decoder reads it. */
  private flushCarry(): void {
    const rest = this.carry;
    this.carry = null;
    if (rest) this.push('o', rest.toString('utf8'), true);
  }

  input(data: string): void {
    if (this.opts.recordInput) this.push('i', data, true);
  }

  resize(cols: number, rows: number): void {
    this.cols = cols;
    this.rows = rows;
    this.push('r', `${cols}x${rows}`, false);
  }

  marker(label: string): void {
    this.push('m', label, false);
  }

  /** The program ended: v3 has an exit event, v2 a marker. Output dropped and not yet marked is marked first. */
  exit(code: number | null): void {
    this.flushCarry();
    this.markGap();
    if (this.format === 3) this.push('x', String(code ?? -1), false);
    else this.push('m', `exit ${code ?? 'signal'}`, false);
  }

  /** Say how much output was dropped since the last marker (at the end: no later event would say it). */
  private markGap(): void {
    if (this.closed || this.failure !== null || this.droppedBytes === 0) return;
    this.enqueueGap();
  }

  private enqueueGap(): void {
    const gap = this.droppedBytes;
    this.droppedBytes = 0;
    this.enqueue('m', gapLabel(gap, this.gapWhy));
    this.gapWhy = GAP_DISK_BEHIND;
  }

  /** Output dropped: counted, and marked as a gap by the next event that is queued. */
  private drop(bytes: number, why: string): void {
    if (this.droppedBytes === 0 || why === GAP_DISK_FULL) this.gapWhy = why;
    this.droppedBytes += bytes;
    this.droppedTotal += bytes;
  }

  /** The disk refused writes for want of space, and the time to try again has not come. */
  private diskRefuses(): boolean {
    return this.refused !== null && this.now() < this.refused.until;
  }

  /** `raw`: output as valid UTF-8 bytes (then `data` is empty), copied when queued. */
  private push(code: CastCode, data: string, droppable: boolean, raw: Uint8Array | null = null): void {
    if (this.closed || this.failure !== null) return;
    const size = raw ? raw.length : data.length;
    const refused = this.diskRefuses();
    if (droppable && (refused || this.queuedBytes + size > this.maxPending)) {
      this.drop(raw ? raw.length : Buffer.byteLength(data), refused ? GAP_DISK_FULL : GAP_DISK_BEHIND);
      return;
    }
    if (this.droppedBytes > 0 && !refused && this.queuedBytes + size <= this.maxPending / 2) this.enqueueGap();
    this.enqueue(code, data, raw);
  }

  private enqueue(code: CastCode, data: string, raw: Uint8Array | null = null): void {
    const ev = { at: this.now(), code, data, raw: raw ? new Uint8Array(raw) : null };
    this.queue.push(ev);
    this.queuedBytes += queuedSize(ev);
    if (!this.writing && !this.diskRefuses()) this.writing = this.drain();
  }

  /** `len` bytes of the write buffer (or `buf`) at the file's end as counted (fileBytes): all of them, or an error. */
  private async writeAt(buf: Buffer, len: number): Promise<void> {
    const handle = this.handle;
    if (!handle) throw new Error('the recording is not open');
    for (let done = 0; done < len; ) {
      const { bytesWritten } = await handle.write(buf, done, len - done, this.fileBytes + done);
      if (bytesWritten === 0) throw Object.assign(new Error('no space left on device (a write took nothing)'), { code: 'ENOSPC' });
      done += bytesWritten;
    }
  }

  /** The write buffer holds `at + most` bytes (grown, what it holds kept, when it did not). */
  private reserve(at: number, most: number): void {
    if (at + most <= this.out.length) return;
    const grown = Buffer.allocUnsafe(Math.max(this.out.length * 2, at + most));
    this.out.copy(grown, 0, 0, at);
    this.out = grown;
  }

  /**
   * Encode an event as a line of the current file, and its \n, at `at` in the write buffer: the bytes written. Its
   * time counts from that file's start (a rotated file starts at 0). Encoding into one reused buffer counts the bytes
   * as it goes and allocates nothing per batch (a string per batch, encoded again by the write and measured by
   * byteLength, was most of the writer's time in a flood).
   */
  private encode(ev: Queued, at: number): number {
    const time = Math.max(this.lastTime, (ev.at - this.fileStart) / 1000);
    const previous = this.lastTime;
    this.lastTime = time;
    if (ev.raw === null) {
      const line = eventLine(this.format, { time, code: ev.code, data: ev.data }, previous);
      this.reserve(at, line.length * 3 + 1);
      const bytes = this.out.write(line, at, 'utf8');
      this.out[at + bytes] = 0x0a;
      return bytes + 1;
    }
    const start = eventLineStart(this.format, time, ev.code, previous);
    // At most 6 bytes for each byte of output (\u00XX), the quotes, `]` and \n.
    this.reserve(at, start.length + ev.raw.length * 6 + 4);
    let o = at + this.out.write(start, at, 'latin1');
    this.out[o++] = 0x22;
    o = escapeJsonBytes(ev.raw, this.out, o);
    this.out[o++] = 0x22;
    this.out[o++] = 0x5d;
    this.out[o++] = 0x0a;
    return o - at;
  }

  private async drain(): Promise<void> {
    let batch: Queued[] = [];
    let next = 0;
    /** Output bytes encoded into the write buffer and not written yet. */
    let pendingOutput = 0;
    try {
      while (this.queue.length > 0 && this.handle) {
        batch = this.queue;
        this.queue = [];
        let used = 0;
        pendingOutput = 0;
        for (next = 0; next < batch.length; ) {
          const ev = batch[next];
          if (ev === undefined) break;
          let bytes = this.encode(ev, used);
          // Rotate before an event that would pass the limit, unless the file holds nothing but its header.
          if (this.fileBytes + used + bytes > this.maxBytes && this.fileBytes + used > this.headerBytes) {
            if (used > 0) await this.writeAt(this.out, used);
            pendingOutput = 0;
            await this.rotate();
            used = 0;
            bytes = this.encode(ev, 0);
          }
          next += 1;
          this.queuedBytes -= queuedSize(ev);
          if (ev.code === 'o') pendingOutput += queuedSize(ev);
          used += bytes;
          // A batch is written in slices of about WRITE_BYTES: the buffer stays that size.
          if (used >= this.writeBytes) {
            await this.writeAt(this.out, used);
            this.fileBytes += used;
            used = 0;
            pendingOutput = 0;
          }
        }
        if (used > 0) await this.writeAt(this.out, used);
        this.fileBytes += used;
        this.refused = null;
      }
    } catch (err) {
      if (isDiskFull(err) && this.handle && !this.closed) await this.diskFull(err, pendingOutput, batch.slice(next));
      else this.failure = err;
    } finally {
      this.writing = null;
    }
  }

  /**
   * The disk refused a write for want of space: the file is cut back to its last whole line (a part of the refused
   * write may have gone), a gap marker stands for the output that was being written, the events of the batch not
   * reached wait with the queue, and nothing is written for DISK_FULL_RETRY_MS.
   */
  private async diskFull(err: NodeJS.ErrnoException, lostOutput: number, notReached: Queued[]): Promise<void> {
    try {
      await this.handle?.truncate(this.fileBytes);
    } catch (cut) {
      this.failure = cut;
      return;
    }
    const gap: Queued[] = lostOutput > 0 ? [{ at: this.now(), code: 'm', data: gapLabel(lostOutput, GAP_DISK_FULL), raw: null }] : [];
    for (const marker of gap) this.queuedBytes += queuedSize(marker);
    this.droppedTotal += lostOutput;
    this.queue = [...gap, ...notReached, ...this.queue];
    this.refused = { err, until: this.now() + DISK_FULL_RETRY_MS };
  }

  private async rotate(): Promise<void> {
    await this.handle?.close();
    this.handle = null;
    this.fileBytes = 0;
    this.part += 1;
    await this.openPartOrDiscard();
  }

  /** Write what is queued and close. Rejects with the write error if the recording failed (e.g. a full disk). */
  async close(): Promise<void> {
    this.flushCarry();
    this.markGap();
    this.closed = true;
    while (this.writing) await this.writing;
    if (this.queue.length > 0) await (this.writing = this.drain());
    await this.handle?.close();
    this.handle = null;
    if (this.failure !== null) throw this.failure;
    // The disk still had no room for the end (the last gap marker, the exit).
    if (this.refused !== null) throw this.refused.err;
  }
}
