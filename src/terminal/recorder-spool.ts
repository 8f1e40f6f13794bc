import { closeSync, ftruncateSync, openSync, readSync, renameSync, rmSync, unlinkSync, writeSync } from 'node:fs';
import type { CastFormat } from '../protocol/asciicast.js';
import { CastRecorder, type CastPosition } from './recorder.js';

/**
 * The recording's spool (issue 22): while output floods, the writer thread does not escape it into asciicast lines
 * (1.6 ms/MB of CPU taken from the session while both cores are busy); it appends the raw batches to a spool file
 * next to the recording (`<file>.spool`, 0600) and converts them once the output calms (or at the end, or when the
 * spool grows past SPOOL_CONVERT_HOT_BYTES). Output at an ordinary rate is converted at once, as before.
 *
 * Nothing is lost silently: a spool write that fails (a full disk) or a spool past SPOOL_MAX_BYTES drops that batch's
 * output to a marked gap. A host that ends without closing leaves the spool behind; the next recording started in
 * the same folder converts it (recoverSpools): the spool's header says where the converter stood (which record, the
 * cast part and its size then), so the recovered file has every spooled byte once, in order, and an end marker.
 */

/** An event of a batch: output is the next `len` bytes of the batch's data. (The host's ThreadEvent.) */
export type SpoolEvent =
  | { at: number; code: 'o'; len: number }
  | { at: number; code: 'i' | 'm'; data: string }
  | { at: number; code: 'r'; cols: number; rows: number }
  | { at: number; code: 'x'; status: number | null };

/** What the recording was opened with (the host's ThreadRecorderOptions): a recovered spool's recording is reopened with it. */
export interface SpoolRecordingOptions {
  file: string;
  format: CastFormat;
  cols: number;
  rows: number;
  command?: string;
  title?: string;
  recordInput: boolean;
  /** The file size past which the recording goes on in a numbered next file (absent: the recorder's default). */
  maxBytes?: number;
}

/** Output arriving faster than this (bytes in HOT_WINDOW_MS) is a flood: spooled, converted later. */
const HOT_BYTES = 512 * 1024;
/** The window the rate is taken over (a flood delivers a batch every BATCH_MS = 20 ms). */
const HOT_WINDOW_MS = 200;
/** While hot, the converter looks again this often. */
const CALM_CHECK_MS = 50;
/** A spool this large is converted even while output floods (its file stays bounded; the flood then pays the CPU). */
export const SPOOL_CONVERT_HOT_BYTES = 256 * 1024 * 1024;
/** Past this, a batch's output is dropped to a marked gap (the converter is this far behind, or the disk is). */
export const SPOOL_MAX_BYTES = 512 * 1024 * 1024;

export const MAGIC = 'TPSPOOL1';
/** magic, then six f64: the offset of the next record to convert, and where the cast stood before it (CastPosition). */
export const PROGRESS_AT = 8;
const PROGRESS_BYTES = 6 * 8;
export const OPTIONS_AT = PROGRESS_AT + PROGRESS_BYTES;
/** A record: events JSON length and data length (u32 each), then both. */
export const RECORD_HEAD = 8;

export function spoolFileOf(castFile: string): string {
  return `${castFile}.spool`;
}

/** The time a recorder stamps its lines with (its `now` reads `at`): the host's time of the event being fed. */
export interface SpoolClock {
  at: number;
}

const EMPTY = Buffer.alloc(0);

/**
 * Feed one event to the recorder, at the event's time; output takes its bytes from `data` at `offset`. Returns the
 * output bytes it took.
 */
export function feedEvent(recorder: CastRecorder, clock: SpoolClock, ev: SpoolEvent, data: Uint8Array, offset: number): number {
  clock.at = ev.at;
  switch (ev.code) {
    case 'o':
      recorder.outputBytes(data.subarray(offset, offset + ev.len));
      return ev.len;
    case 'i':
      recorder.input(ev.data);
      return 0;
    case 'r':
      recorder.resize(ev.cols, ev.rows);
      return 0;
    case 'm':
      recorder.marker(ev.data);
      return 0;
    case 'x':
      recorder.exit(ev.status);
      return 0;
  }
}

function outputBytesOf(events: readonly SpoolEvent[]): number {
  let n = 0;
  for (const ev of events) if (ev.code === 'o') n += ev.len;
  return n;
}

const gapLabel = (bytes: number, why: string): string => `gap: ${bytes} bytes of output not recorded (${why})`;

/** A batch waiting to be converted: its bytes in memory, or in the spool file at `offset` (the record's start). */
interface Segment {
  events: SpoolEvent[];
  data: Buffer | null;
  offset: number;
  dataBytes: number;
  /** The record's size in the spool file (0: in memory), and where it starts there. */
  fileBytes: number;
  record: number;
}

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

export interface SpoolOptions {
  /** The clock (tests). */
  now?: () => number;
  /** A spool this large is converted even while hot (tests make it small). */
  convertHotBytes?: number;
  /** Past this, output is dropped to a gap (tests make it small). */
  maxBytes?: number;
  /** The process the spool's header names as its owner (tests: a process that has ended, as after a crash). */
  pid?: number;
}

/**
 * Takes the host's batches in order and hands them to the CastRecorder: at once while output is calm; through the
 * spool file while it floods. `add` is synchronous (the batch's memory can be handed back when it returns).
 */
export class CastSpool {
  private readonly segments: Segment[] = [];
  private fd: number | null = null;
  /** Where the next record goes in the spool file. */
  private end = 0;
  /** Bytes of the spool file not yet converted. */
  private spooled = 0;
  /** The spool could not be written (a full disk): no more file records until it is emptied. */
  private failed = false;
  /** Output dropped and not yet marked. */
  private gap = 0;
  private gapWhy = '';
  private droppedTotal = 0;
  /** Recent batches (time, output bytes) for the rate. */
  private recent: { at: number; bytes: number }[] = [];
  private converting: Promise<void> | null = null;
  /** Reading the spool back failed: close() rejects with this. */
  private failure: unknown = null;
  private closing = false;
  private readonly now: () => number;
  private readonly convertHot: number;
  private readonly max: number;
  private readonly pid: number;
  readonly file: string;

  constructor(
    private readonly recorder: CastRecorder,
    /** The recorder's clock (its `now`): set to each event's time as it is fed. */
    private readonly clock: SpoolClock,
    private readonly opts: SpoolRecordingOptions,
    o: SpoolOptions = {},
  ) {
    this.file = spoolFileOf(opts.file);
    this.now = o.now ?? Date.now;
    this.convertHot = o.convertHotBytes ?? SPOOL_CONVERT_HOT_BYTES;
    this.max = o.maxBytes ?? SPOOL_MAX_BYTES;
    this.pid = o.pid ?? process.pid;
  }

  /** Output dropped by the spool (stats). */
  get dropped_bytes(): number {
    return this.droppedTotal;
  }

  /** Whether the output arrives as a flood now. */
  private hot(): boolean {
    const since = this.now() - HOT_WINDOW_MS;
    while (this.recent.length > 0 && (this.recent[0] as { at: number }).at < since) this.recent.shift();
    let bytes = 0;
    for (const r of this.recent) bytes += r.bytes;
    return bytes >= HOT_BYTES;
  }

  /** One batch of the host's: copied or written before this returns (`data` is not kept). Returns its output bytes. */
  add(events: SpoolEvent[], data: Uint8Array): number {
    const out = outputBytesOf(events);
    this.recent.push({ at: this.now(), bytes: out });
    const hot = this.hot();
    if (!this.failed && (this.fd !== null || hot)) {
      if (this.spooled + out > this.max) this.drop(events, out, 'the recording spool is full');
      else if (!this.append(this.withGap(events), data)) this.drop(events, out, 'the recording spool could not be written');
      else this.gap = 0;
    } else if (this.failed && hot) this.drop(events, out, 'the recording spool could not be written');
    else {
      this.push({ events: this.withGap(events), data: Buffer.from(data.subarray(0, out)), offset: -1, dataBytes: out, fileBytes: 0, record: -1 });
      this.gap = 0;
    }
    return out;
  }

  private push(seg: Segment): void {
    this.segments.push(seg);
    this.converting ??= this.convert();
  }

  /** A batch whose output is dropped: its other events (markers, resizes, the exit) are kept, after the gap's marker. */
  private drop(events: SpoolEvent[], out: number, why: string): void {
    this.gap += out;
    this.gapWhy = why;
    this.droppedTotal += out;
    const rest = events.filter((e) => e.code !== 'o');
    if (rest.length > 0) {
      this.push({ events: this.withGap(rest), data: null, offset: -1, dataBytes: 0, fileBytes: 0, record: -1 });
      this.gap = 0;
    }
  }

  /** `events` after the marker of the gap not yet marked, if any (the caller clears the gap once they are kept). */
  private withGap(events: SpoolEvent[]): SpoolEvent[] {
    if (this.gap === 0) return events;
    const at = events[0]?.at ?? this.now();
    return [{ at, code: 'm', data: gapLabel(this.gap, this.gapWhy) }, ...events];
  }

  /** The batch as a record of the spool file; false when it could not be written (the spool is then failed). */
  private append(events: SpoolEvent[], data: Uint8Array): boolean {
    const dataBytes = outputBytesOf(events);
    let start = this.end;
    try {
      if (this.fd === null) {
        this.create();
        start = this.end;
      }
      const json = Buffer.from(JSON.stringify(events));
      const head = Buffer.allocUnsafe(RECORD_HEAD);
      head.writeUInt32LE(json.length, 0);
      head.writeUInt32LE(dataBytes, 4);
      writeAll(this.fd as number, Buffer.concat([head, json]), start);
      writeAll(this.fd as number, data.subarray(0, dataBytes), start + RECORD_HEAD + json.length);
      this.end = start + RECORD_HEAD + json.length + dataBytes;
      this.spooled += this.end - start;
      this.push({ events, data: null, offset: start + RECORD_HEAD + json.length, dataBytes, fileBytes: this.end - start, record: start });
      return true;
    } catch {
      // The spool's failure is this batch's gap (marked by the caller); a record half written is cut off so the
      // file stays readable after a crash (if even that fails, a recovery stops at the torn record).
      this.failed = true;
      if (this.fd !== null) {
        try {
          ftruncateSync(this.fd, start);
        } catch {
          this.end = start;
        }
      }
      return false;
    }
  }

  /**
   * The spool file: 0600, its header (magic, no progress yet, the recording's options and this process), written
   * under a temporary name and renamed: a spool is never seen without its whole header (a crash right then leaves a
   * `.new` file no recovery reads). A spool of the same name is an orphan (its recording was just created anew).
   */
  private create(): void {
    const tmp = `${this.file}.new`;
    let fd: number;
    try {
      fd = openSync(tmp, 'wx+', 0o600);
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
      unlinkSync(tmp);
      fd = openSync(tmp, 'wx+', 0o600);
    }
    const opts = Buffer.from(JSON.stringify({ pid: this.pid, opts: this.opts }));
    const head = Buffer.alloc(OPTIONS_AT + 4);
    head.write(MAGIC, 0, 'latin1');
    head.writeUInt32LE(opts.length, OPTIONS_AT);
    try {
      writeAll(fd, Buffer.concat([head, opts]), 0);
      renameSync(tmp, this.file);
    } catch (err) {
      closeSync(fd);
      rmSync(tmp, { force: true });
      throw err;
    }
    this.fd = fd;
    this.end = OPTIONS_AT + 4 + opts.length;
    this.failed = false;
    // Batches waiting in memory go into the spool first (in order), so a crash from now on loses none of them.
    const waiting = this.segments.splice(0);
    for (const seg of waiting) {
      if (!this.append(seg.events, seg.data ?? EMPTY)) this.segments.push(seg);
    }
  }

  /** Converts the segments in order: each once the recorder has written the one before (its queue stays small). */
  private async convert(): Promise<void> {
    try {
      for (;;) {
        const seg = this.segments[0];
        if (!seg) break;
        if (seg.offset >= 0 && !this.closing && this.spooled < this.convertHot && this.hot()) {
          await sleep(CALM_CHECK_MS);
          continue;
        }
        await this.recorder.idle();
        this.segments.shift();
        let data = seg.data;
        if (seg.offset >= 0) {
          // The spool says where the cast stood before this record: a recovery starts here.
          this.progress(seg.record, this.recorder.position);
          data = Buffer.allocUnsafe(seg.dataBytes);
          readAll(this.fd as number, data, seg.offset);
          this.spooled -= seg.fileBytes;
        }
        let at = 0;
        for (const ev of seg.events) at += feedEvent(this.recorder, this.clock, ev, data ?? EMPTY, at);
        if (this.segments.length === 0) {
          await this.recorder.idle();
          // Everything spooled is in the cast: the spool file goes (the next flood starts a new one).
          if (this.segments.length === 0) this.removeFile();
        }
      }
    } catch (err) {
      // The spool could not be read back: the recording fails (close() says so); what is left is not converted.
      this.failure ??= err;
      this.segments.length = 0;
    } finally {
      this.converting = null;
    }
  }

  private progress(offset: number, at: CastPosition): void {
    const b = Buffer.allocUnsafe(PROGRESS_BYTES);
    [offset, at.part, at.fileBytes, at.headerBytes, at.fileStart, at.lastTime].forEach((v, i) => b.writeDoubleLE(v, i * 8));
    writeAll(this.fd as number, b, PROGRESS_AT);
  }

  private removeFile(): void {
    if (this.fd === null) return;
    closeSync(this.fd);
    this.fd = null;
    this.spooled = 0;
    this.end = 0;
    this.failed = false;
    rmSync(this.file, { force: true });
  }

  /** Convert everything (output still pending is marked if it was dropped), then close the recorder. */
  async close(): Promise<void> {
    this.closing = true;
    if (this.gap > 0) {
      this.push({ events: this.withGap([]), data: null, offset: -1, dataBytes: 0, fileBytes: 0, record: -1 });
      this.gap = 0;
    }
    while (this.converting) await this.converting;
    try {
      await this.recorder.close();
    } finally {
      this.removeFile();
    }
    if (this.failure !== null) throw this.failure;
  }
}

function writeAll(fd: number, b: Uint8Array, at: number): void {
  for (let done = 0; done < b.length; ) done += writeSync(fd, b, done, b.length - done, at + done);
}

export function readAll(fd: number, b: Uint8Array, at: number): void {
  for (let done = 0; done < b.length; ) {
    const n = readSync(fd, b, done, b.length - done, at + done);
    if (n === 0) throw new Error('the recording spool ends early');
    done += n;
  }
}
