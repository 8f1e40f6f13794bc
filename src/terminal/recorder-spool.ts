import { closeSync, openSync, readSync, renameSync, rmSync, unlinkSync, writeSync } from 'node:fs';
import { unlink } from 'node:fs/promises';
import type { CastFormat } from '../protocol/asciicast.js';
import { CastRecorder, type CastPosition } from './recorder.js';

/**
 * The recording's spool (issue 22): while output floods, the session host's own thread appends the raw batches to a
 * spool file next to the recording (`<file>.spool`, 0600; SpoolWriter, recorder-spool-writer.ts) and tells the writer
 * (recorder-serve.ts, in the same thread) nothing until the output calms: during a flood the writer does no work at
 * all. Once output calms (or at the end, or when the spool grows past SPOOL_CONVERT_HOT_BYTES) the host announces the
 * records written, and the writer converts them into asciicast lines (CastSpool, here). Output at an ordinary rate
 * goes to the writer in memory and is converted at once.
 *
 * Nothing is lost silently: a spool that cannot be written sends its batches to the writer in memory instead; a
 * spool past SPOOL_MAX_BYTES, and a writer MEMORY_MAX_BYTES behind, drop output to a marked gap. A host that
 * ends without closing leaves the spool behind; the next recording started in the same folder converts it
 * (recoverSpools): the spool's header says where the converter stood (which record, the cast part and its size
 * then), so the recovered file has every spooled byte once, in order, and an end marker.
 */

/** An event of a batch: output is the next `len` bytes of the batch's data. (The host's BatchEvent, recorder-batches.ts.) */
export type SpoolEvent =
  | { at: number; code: 'o'; len: number }
  | { at: number; code: 'i' | 'm'; data: string }
  | { at: number; code: 'r'; cols: number; rows: number }
  | { at: number; code: 'x'; status: number | null };

/** What the recording was opened with (the host's RecordingOptions): a recovered spool's recording is reopened with it. */
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
export const HOT_BYTES = 512 * 1024;
/** The window the rate is taken over (a flood delivers a batch every BATCH_MS = 20 ms). */
export const HOT_WINDOW_MS = 200;
/**
 * A batch this large (at most BATCH_MS = 20 ms of output: 12.8 MB/s or more) is a flood by itself, without waiting for
 * the window to fill. A 40 MB `cat`'s first batches were 12-28 KB, then up to 380 KB; that second batch went to the
 * writer in memory and was escaped in the host's thread, its JIT still cold, while the flood ran (4-9 ms in the
 * flood's cpuprofile, bench/record-overhead.md, Dec 6). Half of HOT_BYTES: a screen redraw (tens of KB) stays calm.
 */
export const HOT_BATCH_BYTES = 256 * 1024;
/** While a spool has records not yet announced, the host looks this often whether output calmed. */
export const CALM_CHECK_MS = 50;
/**
 * A spool is announced (and converted) once output has not been a flood for this long: converting 40 MB takes the
 * writer ~100-150 ms of a core, which the end of a flood (the host still parsing its last megabytes, the
 * program's next burst) should not have to share. A recording a second behind its session loses nothing.
 */
export const CONVERT_AFTER_CALM_MS = 1000;
/** A spool this large is converted even while output floods (its file stays bounded; the flood then pays the CPU). */
export const SPOOL_CONVERT_HOT_BYTES = 256 * 1024 * 1024;
/** Past this, a batch's output is dropped to a marked gap (the converter is this far behind, or the disk is). */
export const SPOOL_MAX_BYTES = 512 * 1024 * 1024;
/**
 * Output the writer holds in memory, not yet converted, past which a batch's output is dropped to a marked
 * gap: calm output never comes near it; a flood reaches the writer in memory only when its spool cannot be written.
 */
export const MEMORY_MAX_BYTES = 64 * 1024 * 1024;

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

/** A converted spool renamed aside, being unlinked: `<spool>.<pid>.<n>.gone` (the recovery removes one a crash left). */
const GONE_SUFFIX = '.gone';
let discards = 0;

/**
 * Remove a converted spool without holding the host's thread: unlinking a file of tens of MB frees its page cache
 * within the call (about 3 ms for 40 MB on this VM, the longest turn of the loop after a flood). The file is renamed
 * aside at once (a new flood may create a spool of the same name right after) and unlinked on libuv's pool.
 * Resolves once it is gone; an unlink that fails is a warning (the file is fully converted, only its space is left).
 */
export function discardSpool(file: string): Promise<void> {
  const aside = `${file}.${process.pid}.${++discards}${GONE_SUFFIX}`;
  try {
    renameSync(file, aside);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return Promise.resolve();
    throw err;
  }
  return unlink(aside).catch((err: unknown) => {
    if ((err as NodeJS.ErrnoException).code !== 'ENOENT') process.emitWarning(`telepty: the converted recording spool ${aside} could not be removed: ${err instanceof Error ? err.message : String(err)}`);
  });
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

/**
 * A spooled record's output is read back and fed to the recorder at most this much at a time (whole events: an event
 * larger than this is fed alone), each piece once the recorder has written the one before and a turn of the loop
 * has passed. The conversion runs in the session host's thread after a flood, so a piece is what a keystroke's echo
 * may wait for (reading it and copying it: a few tenths of a ms). 64 KB pieces cost the conversion of 40 MB about 60
 * ms more CPU than 1 MB records (a wait for the recorder per piece); 256 KB cost about what 1 MB did
 * (bench/record-overhead.md, fourth session).
 */
export const FEED_PIECE_BYTES = 256 * 1024;

/**
 * Feed one spooled record (`events`; their output is `dataBytes` bytes in `fd` at `offset`) to the recorder in pieces
 * of FEED_PIECE_BYTES: the recorder gets the same calls as for the record fed at once, so the file is the same.
 */
export async function feedRecord(recorder: CastRecorder, clock: SpoolClock, events: readonly SpoolEvent[], fd: number, offset: number): Promise<void> {
  let at = offset;
  // One buffer for the record's pieces (the recorder copies what it keeps): a flood read back allocates little.
  let buffer = Buffer.allocUnsafe(FEED_PIECE_BYTES);
  for (let i = 0; i < events.length; ) {
    let j = i;
    let bytes = 0;
    do bytes += outputLen(events[j++] as SpoolEvent);
    while (j < events.length && bytes + outputLen(events[j] as SpoolEvent) <= FEED_PIECE_BYTES);
    if (bytes > buffer.length) buffer = Buffer.allocUnsafe(bytes);
    const data = buffer.subarray(0, bytes);
    readAll(fd, data, at);
    at += bytes;
    let o = 0;
    for (let k = i; k < j; k++) o += feedEvent(recorder, clock, events[k] as SpoolEvent, data, o);
    i = j;
    if (i < events.length) {
      await recorder.idle();
      await new Promise((resolve) => setImmediate(resolve));
    }
  }
}

const outputLen = (ev: SpoolEvent): number => (ev.code === 'o' ? ev.len : 0);

export function outputBytesOf(events: readonly SpoolEvent[]): number {
  let n = 0;
  for (const ev of events) n += outputLen(ev);
  return n;
}

export const gapLabel = (bytes: number, why: string): string => `gap: ${bytes} bytes of output not recorded (${why})`;

/** A record's head and events (its data follows them in the file). */
export function recordHead(events: readonly SpoolEvent[], dataBytes: number): Buffer {
  const json = Buffer.from(JSON.stringify(events));
  const head = Buffer.allocUnsafe(RECORD_HEAD + json.length);
  head.writeUInt32LE(json.length, 0);
  head.writeUInt32LE(dataBytes, 4);
  json.copy(head, RECORD_HEAD);
  return head;
}

/**
 * A new spool file for the recording `opts.file`: 0600, its header (magic, no progress yet, the recording's options
 * and the owner's pid), written under a temporary name and renamed: a spool is never seen without its whole header
 * (a crash right then leaves a `.new` file no recovery reads). A spool of the same name is an orphan (its recording
 * was just created anew). Returns its fd (open for writing) and where its first record goes.
 */
export function createSpoolFile(opts: SpoolRecordingOptions, pid: number): { fd: number; end: number } {
  const file = spoolFileOf(opts.file);
  const tmp = `${file}.new`;
  let fd: number;
  try {
    fd = openSync(tmp, 'wx+', 0o600);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
    unlinkSync(tmp);
    fd = openSync(tmp, 'wx+', 0o600);
  }
  const json = Buffer.from(JSON.stringify({ pid, opts }));
  const head = Buffer.alloc(OPTIONS_AT + 4);
  head.write(MAGIC, 0, 'latin1');
  head.writeUInt32LE(json.length, OPTIONS_AT);
  try {
    writeAll(fd, Buffer.concat([head, json]), 0);
    renameSync(tmp, file);
  } catch (err) {
    closeSync(fd);
    rmSync(tmp, { force: true });
    throw err;
  }
  return { fd, end: OPTIONS_AT + 4 + json.length };
}

/**
 * What waits to be converted: a batch in memory, or the spool file's records from `from` up to `to` (an
 * announcement: each record's head is read when the record's turn comes, not all at once).
 */
type Segment = { events: SpoolEvent[]; data: Buffer | null; dataBytes: number } | { from: number; to: number };

export interface SpoolOptions {
  /** Past this much output held in memory, output is dropped to a gap (tests make it small). */
  memoryMaxBytes?: number;
}

/**
 * The writer's side: takes the host's batches in memory and the host's announcements of spooled records, in
 * the order they come, and hands them to the CastRecorder, each once the recorder has written the one before (its
 * queue stays small). `add` is synchronous (the batch's memory can be handed back when it returns). When every record
 * announced is converted (and written to the recording), `unspooled` is called with where they end: the host may
 * then remove the spool file, or go on appending to it.
 */
export class CastSpool {
  private readonly segments: Segment[] = [];
  /** The spool file, open while announced records are being converted. */
  private fd: number | null = null;
  /** Announced records not yet converted, and where the last announcement ended. */
  private spoolPending = 0;
  private spooledTo = 0;
  /** A spool was announced: the close removes its file (the host stopped writing it). */
  private spoolSeen = false;
  /** Output held in memory, not yet converted. */
  private memoryBytes = 0;
  /** Output dropped and not yet marked. */
  private gap = 0;
  private droppedTotal = 0;
  private converting: Promise<void> | null = null;
  /** Reading the spool back failed: close() rejects with this. */
  private failure: unknown = null;
  private readonly memoryMax: number;
  readonly file: string;

  constructor(
    private readonly recorder: CastRecorder,
    /** The recorder's clock (its `now`): set to each event's time as it is fed. */
    private readonly clock: SpoolClock,
    opts: SpoolRecordingOptions,
    /** Every announced record is converted, up to `to` (the host may remove the spool). */
    private readonly unspooled: (to: number) => void = () => undefined,
    o: SpoolOptions = {},
  ) {
    this.file = spoolFileOf(opts.file);
    this.memoryMax = o.memoryMaxBytes ?? MEMORY_MAX_BYTES;
  }

  /** Output dropped by the spool (stats). */
  get dropped_bytes(): number {
    return this.droppedTotal;
  }

  /** One batch of the host's, in memory: copied before this returns (`data` is not kept). Returns its output bytes. */
  add(events: SpoolEvent[], data: Uint8Array): number {
    const out = outputBytesOf(events);
    if (out > 0 && this.memoryBytes + out > this.memoryMax) {
      // The converter is this far behind (a flood whose spool cannot be written): the output goes, marked; the
      // batch's other events (markers, resizes, the exit) are kept.
      this.gap += out;
      this.droppedTotal += out;
      const rest = events.filter((e) => e.code !== 'o');
      if (rest.length > 0) this.push({ events: this.withGap(rest), data: null, dataBytes: 0 });
      return out;
    }
    this.memoryBytes += out;
    this.push({ events: this.withGap(events), data: Buffer.from(data.subarray(0, out)), dataBytes: out });
    return out;
  }

  /** The host wrote the spool's records from `from` up to `to`: they are converted in turn. */
  spooled(from: number, to: number): void {
    this.spoolSeen = true;
    try {
      this.fd ??= openSync(this.file, 'r+');
    } catch (err) {
      // The spool could not be read back: the recording fails (close() says so).
      this.failure ??= err;
      return;
    }
    this.spoolPending++;
    this.spooledTo = to;
    this.push({ from, to });
  }

  /** The spool's records from `from` up to `to`, each fed in pieces once the recorder has written the one before. */
  private async convertSpooled(from: number, to: number): Promise<void> {
    const fd = this.fd as number;
    const head = Buffer.allocUnsafe(RECORD_HEAD);
    for (let at = from; at < to; ) {
      await this.recorder.idle();
      readAll(fd, head, at);
      const jsonBytes = head.readUInt32LE(0);
      const dataBytes = head.readUInt32LE(4);
      const json = Buffer.allocUnsafe(jsonBytes);
      readAll(fd, json, at + RECORD_HEAD);
      const events = JSON.parse(json.toString('utf8')) as SpoolEvent[];
      // The spool says where the cast stood before this record: a recovery starts here.
      this.progress(at, this.recorder.position);
      await feedRecord(this.recorder, this.clock, events, fd, at + RECORD_HEAD + jsonBytes);
      at += RECORD_HEAD + jsonBytes + dataBytes;
    }
  }

  private push(seg: Segment): void {
    this.gap = 0;
    this.segments.push(seg);
    this.converting ??= this.convert();
  }

  /** `events` after the marker of the gap not yet marked, if any. */
  private withGap(events: SpoolEvent[]): SpoolEvent[] {
    if (this.gap === 0) return events;
    const at = events[0]?.at ?? Date.now();
    return [{ at, code: 'm', data: gapLabel(this.gap, 'the recorder fell behind') }, ...events];
  }

  /** Converts the segments in order: each once the recorder has written the one before. */
  private async convert(): Promise<void> {
    try {
      for (;;) {
        const seg = this.segments[0];
        if (!seg) break;
        await this.recorder.idle();
        this.segments.shift();
        if ('events' in seg) {
          this.memoryBytes -= seg.dataBytes;
          let at = 0;
          for (const ev of seg.events) at += feedEvent(this.recorder, this.clock, ev, seg.data ?? EMPTY, at);
        } else {
          if (seg.from < seg.to) await this.convertSpooled(seg.from, seg.to);
          if (--this.spoolPending === 0) {
            // Everything announced is in the cast (written: the spool may go once the host hears it).
            await this.recorder.idle();
            if (this.spoolPending === 0) this.release();
          }
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

  private release(): void {
    if (this.fd !== null) closeSync(this.fd);
    this.fd = null;
    this.unspooled(this.spooledTo);
  }

  private progress(offset: number, at: CastPosition): void {
    const b = Buffer.allocUnsafe(PROGRESS_BYTES);
    [offset, at.part, at.fileBytes, at.headerBytes, at.fileStart, at.lastTime].forEach((v, i) => b.writeDoubleLE(v, i * 8));
    writeAll(this.fd as number, b, PROGRESS_AT);
  }

  /**
   * Convert everything (output dropped and not yet marked is marked), then close the recorder and remove the spool
   * (the host has stopped writing it: close comes after its last announcement).
   */
  async close(): Promise<void> {
    if (this.gap > 0) this.push({ events: this.withGap([]), data: null, dataBytes: 0 });
    while (this.converting) await this.converting;
    try {
      await this.recorder.close();
    } finally {
      if (this.fd !== null) closeSync(this.fd);
      this.fd = null;
      if (this.spoolSeen) await discardSpool(this.file);
    }
    if (this.failure !== null) throw this.failure;
  }
}

export function writeAll(fd: number, b: Uint8Array, at: number): void {
  for (let done = 0; done < b.length; ) done += writeSync(fd, b, done, b.length - done, at + done);
}

export function readAll(fd: number, b: Uint8Array, at: number): void {
  for (let done = 0; done < b.length; ) {
    const n = readSync(fd, b, done, b.length - done, at + done);
    if (n === 0) throw new Error('the recording spool ends early');
    done += n;
  }
}
