import { closeSync, ftruncateSync, openSync, readSync, renameSync, rmSync, unlinkSync, writeSync, promises as fs } from 'node:fs';
import path from 'node:path';
import type { CastFormat } from '../protocol/asciicast.js';
import { CastRecorder, type CastPosition, type RecorderOptions } from './recorder.js';

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

const MAGIC = 'TPSPOOL1';
/** magic, then six f64: the offset of the next record to convert, and where the cast stood before it (CastPosition). */
const PROGRESS_AT = 8;
const PROGRESS_BYTES = 6 * 8;
const OPTIONS_AT = PROGRESS_AT + PROGRESS_BYTES;
/** A record: events JSON length and data length (u32 each), then both. */
const RECORD_HEAD = 8;

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

function readAll(fd: number, b: Uint8Array, at: number): void {
  for (let done = 0; done < b.length; ) {
    const n = readSync(fd, b, done, b.length - done, at + done);
    if (n === 0) throw new Error('the recording spool ends early');
    done += n;
  }
}

/** What a spool file's header says. */
interface SpoolHeader {
  pid: number;
  opts: SpoolRecordingOptions;
  /** The first record not (known to be) converted, and where the cast stood before it; null: no record converted yet. */
  progress: { offset: number; at: CastPosition } | null;
  /** Where the records start. */
  first: number;
}

function readHeader(fd: number): SpoolHeader | null {
  const head = Buffer.alloc(OPTIONS_AT + 4);
  if (readSync(fd, head, 0, head.length, 0) < head.length || head.toString('latin1', 0, 8) !== MAGIC) return null;
  const len = head.readUInt32LE(OPTIONS_AT);
  const json = Buffer.alloc(len);
  if (readSync(fd, json, 0, len, OPTIONS_AT + 4) < len) return null;
  const parsed: unknown = JSON.parse(json.toString('utf8'));
  if (typeof parsed !== 'object' || parsed === null || !('pid' in parsed) || !('opts' in parsed)) return null;
  const { pid, opts } = parsed as { pid: unknown; opts: unknown };
  if (typeof pid !== 'number' || typeof opts !== 'object' || opts === null || typeof (opts as { file?: unknown }).file !== 'string') return null;
  const v = [0, 1, 2, 3, 4, 5].map((i) => head.readDoubleLE(PROGRESS_AT + i * 8));
  const [offset, part, fileBytes, headerBytes, fileStart, lastTime] = v as [number, number, number, number, number, number];
  return {
    pid,
    opts: opts as SpoolRecordingOptions,
    progress: offset > 0 ? { offset, at: { part, fileBytes, headerBytes, fileStart, lastTime } } : null,
    first: OPTIONS_AT + 4 + len,
  };
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}

async function exists(file: string): Promise<boolean> {
  return fs.stat(file).then(
    () => true,
    () => false,
  );
}

/**
 * Where a recording whose spool never recorded its progress stands: its last part, cut after its last whole line
 * (a line torn by the end of the host goes), the time base from its header, the last line's time.
 */
async function positionOnDisk(opts: SpoolRecordingOptions): Promise<CastPosition> {
  let part = 1;
  while (await exists(rotatedNameOf(opts.file, part + 1))) part++;
  const text = await fs.readFile(rotatedNameOf(opts.file, part), 'utf8');
  const whole = text.slice(0, text.lastIndexOf('\n') + 1);
  const lines = whole.split('\n').filter((l) => l !== '');
  const header = JSON.parse(lines[0] ?? '{}') as { timestamp?: unknown };
  let lastTime = 0;
  for (const l of lines.slice(1)) {
    const t = (JSON.parse(l) as unknown[])[0];
    if (typeof t === 'number') lastTime = opts.format === 2 ? t : lastTime + t;
  }
  return {
    part,
    fileBytes: Buffer.byteLength(whole),
    headerBytes: Buffer.byteLength(lines[0] ?? '') + 1,
    fileStart: typeof header.timestamp === 'number' ? header.timestamp * 1000 : 0,
    lastTime,
  };
}

function rotatedNameOf(file: string, n: number): string {
  if (n <= 1) return file;
  const ext = path.extname(file);
  return `${file.slice(0, file.length - ext.length)}.${n}${ext || '.cast'}`;
}

/**
 * Convert a spool its host left behind into its recording: the recording is cut back to where the spool's progress
 * says it stood (parts written after that point go, they are written again), every whole record is converted in
 * order, and a marker says the host ended without closing the recording (and that the end may be missing when a
 * record was torn). Returns the recording's files.
 */
export async function recoverSpool(spoolFile: string, header: SpoolHeader, fd: number): Promise<string[]> {
  const { opts } = header;
  const at = header.progress?.at ?? (await positionOnDisk(opts));
  for (let n = at.part + 1; await exists(rotatedNameOf(opts.file, n)); n++) await fs.unlink(rotatedNameOf(opts.file, n));
  const clock: SpoolClock = { at: at.fileStart + at.lastTime * 1000 };
  const recorder = await CastRecorder.resume({ ...opts, now: () => clock.at } satisfies RecorderOptions, at);
  let offset = header.progress?.offset ?? header.first;
  // Without progress, the batch the recorder was writing when the host ended may be cut: said, never silent.
  if (!header.progress) recorder.marker('gap: output written just before the spool started may be missing (the session host ended)');
  const size = (await fs.stat(spoolFile)).size;
  let torn = false;
  for (;;) {
    if (offset + RECORD_HEAD > size) {
      torn = offset < size;
      break;
    }
    const head = Buffer.alloc(RECORD_HEAD);
    readAll(fd, head, offset);
    const jsonBytes = head.readUInt32LE(0);
    const dataBytes = head.readUInt32LE(4);
    if (offset + RECORD_HEAD + jsonBytes + dataBytes > size) {
      torn = true;
      break;
    }
    const json = Buffer.alloc(jsonBytes);
    readAll(fd, json, offset + RECORD_HEAD);
    const data = Buffer.alloc(dataBytes);
    readAll(fd, data, offset + RECORD_HEAD + jsonBytes);
    const events = JSON.parse(json.toString('utf8')) as SpoolEvent[];
    let o = 0;
    for (const ev of events) o += feedEvent(recorder, clock, ev, data, o);
    await recorder.idle();
    offset += RECORD_HEAD + jsonBytes + dataBytes;
  }
  recorder.marker(`the session host ended without closing the recording; recovered from its spool${torn ? ' (its last batch was cut: output at the end may be missing)' : ''}`);
  await recorder.close();
  return recorder.stats.files;
}

/**
 * Spools in `dir` whose host is gone, each converted into its recording (claimed first by a rename, so two hosts
 * starting at once do not both convert one). Returns the spools converted.
 */
export async function recoverSpools(dir: string): Promise<string[]> {
  let names: string[];
  try {
    names = await fs.readdir(dir);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return [];
    throw err;
  }
  const done: string[] = [];
  for (const name of names.filter((n) => n.endsWith('.spool'))) {
    const file = path.join(dir, name);
    const fd = openSync(file, 'r');
    let header: SpoolHeader | null;
    try {
      header = readHeader(fd);
    } finally {
      closeSync(fd);
    }
    if (!header || alive(header.pid)) continue;
    const claimed = `${file}.${process.pid}.recovering`;
    try {
      await fs.rename(file, claimed);
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') continue; // another host took it
      throw err;
    }
    const cfd = openSync(claimed, 'r');
    try {
      // The recording is the file the spool is named for (wherever its folder is now).
    await recoverSpool(claimed, { ...header, opts: { ...header.opts, file: file.slice(0, -'.spool'.length) } }, cfd);
    } finally {
      closeSync(cfd);
    }
    await fs.unlink(claimed);
    done.push(file);
  }
  return done;
}
