import { closeSync, writev } from 'node:fs';
import {
  CALM_CHECK_MS,
  CONVERT_AFTER_CALM_MS,
  createSpoolFile,
  discardSpool,
  gapLabel,
  HOT_BATCH_BYTES,
  HOT_BYTES,
  HOT_WINDOW_MS,
  outputBytesOf,
  recordHead,
  SPOOL_CONVERT_HOT_BYTES,
  SPOOL_MAX_BYTES,
  spoolFileOf,
  type SpoolEvent,
  type SpoolRecordingOptions,
} from './recorder-spool.js';

/**
 * The host's side of the recording's spool (issue 22; recorder-spool.ts says what the spool is). In the session
 * host's own thread, beside the PTY: while output floods, each batch is appended to the spool file as it is (one
 * async writev per batch, about 1 MB: the copy into the page cache runs on libuv's pool, not on this thread) and the
 * writer (recorder-serve.ts) hears nothing. Once output calms (and every write is done) the records written are
 * announced to the writer in one message; it converts them and says when it has (`converted`), and the spool file
 * goes once everything in it is converted. A flood costs this thread one writev per MB and the writer nothing during
 * the flood (bench/record-overhead.md).
 */

/** Where the writer's batches go besides the spool. */
export interface SpoolWriterSink {
  /** Records of the spool file from `from` up to `to` are written: the writer may convert them. */
  announce(from: number, to: number): void;
  /** A batch to convert in memory (the spool is calm, or cannot be written): the caller's ordinary post. */
  direct(events: SpoolEvent[], data: Uint8Array): void;
}

export interface SpoolWriterOptions {
  /** The clock the rate is taken with (tests). */
  now?: () => number;
  /** Records not yet announced past this much are announced even while output floods (tests make it small). */
  convertHotBytes?: number;
  /** Past this much spooled and not converted, output is dropped to a gap (tests make it small). */
  maxBytes?: number;
  /** The process the spool's header names as its owner (tests: a process that has ended, as after a crash). */
  pid?: number;
}

interface Pending {
  events: SpoolEvent[];
  /** The batch's output, in the pieces it was read in (written as they are: one writev with the head). */
  data: readonly Uint8Array[];
  dataBytes: number;
  /** Where the record goes in the file. */
  at: number;
  head: Buffer;
  /** The batch's memory may be used again (it is on disk). */
  written: () => void;
}

export class SpoolWriter {
  private fd: number | null = null;
  /** Where the next record goes; records before `written` are on disk; before `announced`, announced. */
  private end = 0;
  private written = 0;
  private announced = 0;
  /** Where the writer's conversion stands (it said so). */
  private converted = 0;
  private readonly queue: Pending[] = [];
  private writing = false;
  /** The spool could not be written: batches go to the writer in memory from now on. */
  private failed = false;
  private closing = false;
  private drained: (() => void) | null = null;
  private timer: NodeJS.Timeout | null = null;
  private recent: { at: number; bytes: number }[] = [];
  /** When output was last a flood. */
  private lastHot = -Infinity;
  private droppedTotal = 0;
  private readonly now: () => number;
  private readonly convertHot: number;
  private readonly max: number;
  private readonly pid: number;

  constructor(
    private readonly opts: SpoolRecordingOptions,
    private readonly sink: SpoolWriterSink,
    o: SpoolWriterOptions = {},
  ) {
    this.now = o.now ?? Date.now;
    this.convertHot = o.convertHotBytes ?? SPOOL_CONVERT_HOT_BYTES;
    this.max = o.maxBytes ?? SPOOL_MAX_BYTES;
    this.pid = o.pid ?? process.pid;
  }

  /** Output dropped because the spool was full (stats). */
  get dropped_bytes(): number {
    return this.droppedTotal;
  }

  /** Whether the output arrives as a flood now (`batch`: the output of the batch just taken, a flood by itself when large). */
  private hot(batch = 0): boolean {
    const since = this.now() - HOT_WINDOW_MS;
    while (this.recent.length > 0 && (this.recent[0] as { at: number }).at < since) this.recent.shift();
    let bytes = 0;
    for (const r of this.recent) bytes += r.bytes;
    if (bytes < HOT_BYTES && batch < HOT_BATCH_BYTES) return false;
    this.lastHot = this.now();
    return true;
  }

  /** Records in the file not yet announced (or being written): a batch must follow them into the file. */
  private get behind(): boolean {
    return this.fd !== null && (this.announced < this.end || this.writing);
  }

  /**
   * One batch (`data`: its output bytes, in pieces, held until they are on disk: the caller must not change them).
   * True: it goes into the spool, and `written` is called once it is on disk. False: the caller posts it to the
   * writer as usual.
   */
  take(events: SpoolEvent[], data: readonly Uint8Array[], written: () => void): boolean {
    const out = outputBytesOf(events);
    this.recent.push({ at: this.now(), bytes: out });
    if (this.failed || this.closing) return false;
    if (!this.behind && !this.hot(out)) return false;
    if (this.fd === null) {
      try {
        const f = createSpoolFile(this.opts, this.pid);
        this.fd = f.fd;
        this.end = this.written = this.announced = this.converted = f.end;
      } catch (err) {
        this.fail(err);
        return false;
      }
    }
    if (out > 0 && this.end - this.converted + out > this.max) {
      // The writer is this far behind: the output goes, marked (the batch's other events are kept, in order).
      this.droppedTotal += out;
      const why = gapLabel(out, 'the recording spool is full');
      const rest: SpoolEvent[] = [{ at: events[0]?.at ?? this.now(), code: 'm', data: why }, ...events.filter((e) => e.code !== 'o')];
      // Its memory is free at once (the record holds none of it).
      written();
      this.append(rest, [], 0, () => undefined);
      return true;
    }
    this.append(events, data, out, written);
    return true;
  }

  private append(events: SpoolEvent[], data: readonly Uint8Array[], dataBytes: number, written: () => void): void {
    const head = recordHead(events, dataBytes);
    this.queue.push({ events, data, dataBytes, at: this.end, head, written });
    this.end += head.length + dataBytes;
    this.pump();
    this.watch();
  }

  /** Writes the queue's first record (one at a time, in order: a crash leaves whole records and at most one torn). */
  private pump(): void {
    const p = this.queue[0];
    if (this.writing || !p || this.fd === null) return;
    this.writing = true;
    writeFully(this.fd, [p.head, ...p.data], p.head.length + p.dataBytes, p.at, (err) => {
      this.writing = false;
      if (err) return this.fail(err);
      this.queue.shift();
      this.written = p.at + p.head.length + p.dataBytes;
      p.written();
      this.settle();
      this.pump();
    });
  }

  /** While records wait to be announced, look every CALM_CHECK_MS whether output calmed. */
  private watch(): void {
    if (this.timer || this.fd === null) return;
    this.timer = setInterval(() => this.settle(), CALM_CHECK_MS);
    this.timer.unref();
  }

  /** Announce what is written once output calmed (or the spool is large, or the recording ends). */
  private settle(): void {
    if (this.fd === null) return;
    const calm = this.queue.length === 0 && !this.writing && (this.closing || (!this.hot() && this.now() - this.lastHot >= CONVERT_AFTER_CALM_MS));
    if (this.written > this.announced && (calm || this.written - this.announced >= this.convertHot)) {
      this.sink.announce(this.announced, this.written);
      this.announced = this.written;
    }
    if (this.announced === this.end && !this.writing) {
      if (this.timer) clearInterval(this.timer);
      this.timer = null;
      this.drained?.();
      this.drained = null;
    }
  }

  /**
   * The spool cannot be written (a full disk; its folder gone): what is on disk is announced; the batches still
   * queued go to the writer in memory, in order; so do all batches from now on.
   */
  private fail(err: unknown): void {
    if (!this.failed) process.emitWarning(`telepty: the recording spool ${spoolFileOf(this.opts.file)} could not be written (${err instanceof Error ? err.message : String(err)}); the recording goes on without it`);
    this.failed = true;
    if (this.fd !== null && this.written > this.announced) {
      this.sink.announce(this.announced, this.written);
      this.announced = this.written;
    }
    this.end = this.written;
    for (const p of this.queue.splice(0)) this.sink.direct(p.events, Buffer.concat(p.data, p.dataBytes));
    this.settle();
    this.convertedTo(this.converted);
  }

  /** The writer converted the records up to `to`: once all are, the spool file goes (a new flood makes a new one). */
  convertedTo(to: number): void {
    this.converted = to;
    if (this.fd === null || this.closing || this.converted < this.end || this.behind || this.queue.length > 0) return;
    closeSync(this.fd);
    this.fd = null;
    void discardSpool(spoolFileOf(this.opts.file));
  }

  /** Everything taken is written and announced (the writer converts it at its close, and removes the spool). */
  async close(): Promise<void> {
    this.closing = true;
    if (this.fd !== null) {
      await new Promise<void>((resolve) => {
        this.drained = resolve;
        this.settle();
      });
    }
    if (this.timer) clearInterval(this.timer);
    this.timer = null;
    if (this.fd !== null) closeSync(this.fd);
    this.fd = null;
  }
}

/** One writev of `bufs` (`bytes` in all) at `at`, again for what a short write left. */
function writeFully(fd: number, bufs: Uint8Array[], bytes: number, at: number, done: (err: Error | null) => void): void {
  writev(fd, bufs, at, (err, n) => {
    if (err) return done(err);
    // The usual case, without a walk over a batch's few hundred pieces.
    if (n === bytes) return done(null);
    let left = n;
    const rest: Uint8Array[] = [];
    for (const b of bufs) {
      if (left >= b.length) left -= b.length;
      else {
        rest.push(b.subarray(left));
        left = 0;
      }
    }
    if (rest.length === 0) return done(null);
    writeFully(fd, rest, bytes - n, at + n, done);
  });
}
