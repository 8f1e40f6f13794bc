import { CastRecorder, DEFAULT_MAX_PENDING_BYTES } from '../terminal/recorder.js';
import { SpoolWriter } from '../terminal/recorder-spool-writer.js';
import { type RecorderReply, type RecorderRequest, type BatchEvent, type RecordingOptions } from './recorder-messages.js';
import { serveRecorder } from './recorder-serve.js';

/** A recording being written: what SessionRecording feeds (raw output bytes, keystrokes, resizes, markers, exit). */
export interface CastSink {
  output(data: Buffer): void;
  input(data: string): void;
  resize(cols: number, rows: number): void;
  marker(label: string): void;
  exit(status: number | null): void;
  /** Everything written; the files and the output dropped. Rejects when the file could not be written in full. */
  close(): Promise<{ files: string[]; dropped_bytes: number }>;
}

/** Opens a recording; rejects with the open's error (errno code kept: EEXIST is a file that exists). */
export type OpenCast = (opts: RecordingOptions) => Promise<CastSink>;

/** CastRecorder itself, written as events come (tests): no batching, no spool. */
export const openUnbatched: OpenCast = async (opts) => {
  const rec = await CastRecorder.open(opts);
  return {
    output: (d) => rec.outputBytes(d),
    input: (d) => rec.input(d),
    resize: (c, r) => rec.resize(c, r),
    marker: (l) => rec.marker(l),
    exit: (s) => rec.exit(s),
    close: async () => {
      await rec.close();
      const stats = rec.stats;
      return { files: stats.files, dropped_bytes: stats.dropped_bytes };
    },
  };
};

/** Output handed to the writer and not yet taken by it, past which output is dropped (and the gap marked). */
const MAX_IN_FLIGHT_BYTES = DEFAULT_MAX_PENDING_BYTES;
/** Events go to the writer in batches this often: a post costs tens of µs, and a flood has thousands of reads a second. */
const BATCH_MS = 20;
/** …or at once when this much output is gathered (a flood's batch is one writev of its reads to the spool). */
const BATCH_MAX_BYTES = 1024 * 1024;
/**
 * …or when this many reads are held (a batch's reads are one writev: the kernel takes 1024 pieces at once; a flood's
 * 4 KiB reads make about 256 a batch).
 */
const BATCH_MAX_CHUNKS = 1024;
/**
 * An output event (reads within one millisecond) holds at most this much: the writer escapes an event in one go, in
 * the host's thread, so this bounds that turn (about 0.1 ms warm, a few ms the first time, before the JIT has it).
 * Without it a host that read late made 1 MB events: 6-8 ms turns while a flood was converted.
 */
const EVENT_MAX_BYTES = 64 * 1024;

class OpenError extends Error {
  constructor(
    readonly code: string | null,
    message: string,
  ) {
    super(message);
  }
}

/**
 * The host's side of a recording whose writer (recorder-serve.ts) answers over a link (the host's own thread, a turn
 * later): the host only gathers the events of each BATCH_MS and sends them at once (holding the
 * PTY's reads, not copying them); UTF-8 checks, JSON escaping and the disk are the writer's. While output floods, the
 * batches go to the spool file instead (SpoolWriter: one async write each, from this thread) and the writer hears of
 * them once output calms. Output neither taken by the writer nor written to the spool past MAX_IN_FLIGHT_BYTES is
 * dropped here and marked.
 */
class BatchedCast implements CastSink {
  private events: BatchEvent[] = [];
  /**
   * Output of this batch: the PTY's reads themselves, held, not copied (each `o` event says how many of the batch's
   * bytes are its own). node-pty hands a fresh Buffer per read (its own ArrayBuffer, never written again), so
   * holding it until its batch is on disk or converted is safe; a flood's batch then goes to the spool as one writev
   * of its reads, and the host's thread copies nothing during it (the copy into a batch buffer was most of the
   * recording's ~15 ms per 40 MB there, bench/record-overhead.md).
   */
  private chunks: Uint8Array[] = [];
  private batchBytes = 0;
  /** The output event being gathered (chunks read in one turn of the loop are one event). */
  private open: { at: number; len: number } | null = null;
  private timer: NodeJS.Timeout | null = null;
  private inFlight = 0;
  private dropped = 0;
  private droppedTotal = 0;
  private closed: ((r: RecorderReply & { t: 'closed' }) => void) | null = null;
  /** The writer failed: nothing more is recorded, and close() says why. */
  private failure: string | null = null;

  /** A flood's batches: appended to the spool file from this thread, announced to the writer once calm. */
  private readonly spool: SpoolWriter;

  constructor(
    private readonly link: CastLink,
    opts: RecordingOptions,
  ) {
    this.spool = new SpoolWriter(opts, {
      announce: (from, to) => this.post({ t: 'spooled', from, to }),
      direct: (events, data) => this.post({ t: 'events', events, data }),
    });
    link.listen((m) => {
      if (m.t === 'acked') this.inFlight -= m.bytes;
      else if (m.t === 'unspooled') this.spool.convertedTo(m.to);
      else if (m.t === 'closed') this.closed?.(m);
    });
    link.failed((why) => this.fail(why));
  }

  private fail(why: string): void {
    this.failure ??= why;
    this.closed?.({ t: 'closed', files: [], dropped_bytes: 0, error: this.failure });
  }

  private post(m: RecorderRequest): void {
    if (this.failure === null) this.link.send(m);
  }

  private schedule(): void {
    if (this.batchBytes >= BATCH_MAX_BYTES || this.chunks.length >= BATCH_MAX_CHUNKS) this.flush();
    else if (!this.timer) {
      this.timer = setTimeout(() => this.flush(), BATCH_MS);
      this.timer.unref();
    }
  }

  /** The output gathered so far becomes an event (before any other event, so the order holds). */
  private endOutput(): void {
    if (!this.open) return;
    this.events.push({ at: this.open.at, code: 'o', len: this.open.len });
    this.open = null;
  }

  private flush(): void {
    if (this.timer) clearTimeout(this.timer);
    this.timer = null;
    this.endOutput();
    if (this.events.length === 0) return;
    const events = this.events;
    const chunks = this.chunks;
    const bytes = this.batchBytes;
    this.events = [];
    this.chunks = [];
    this.batchBytes = 0;
    // A flood goes to the spool from here, its reads as they are (the writer is not woken); they count as in flight
    // until they are on disk.
    const spooled = this.spool.take(events, chunks, () => (this.inFlight -= bytes));
    // Calm output: one piece to the writer (which copies it before the call returns).
    if (!spooled) this.post({ t: 'events', events, data: joined(chunks, bytes) });
  }

  private push(ev: BatchEvent): void {
    this.endOutput();
    this.events.push(ev);
    this.schedule();
  }

  /** Output dropped since the last marker: said before anything else is recorded (and before the end). */
  private markGap(): void {
    if (this.dropped === 0) return;
    const gap = this.dropped;
    this.dropped = 0;
    this.push({ at: Date.now(), code: 'm', data: `gap: ${gap} bytes of output not recorded (the recorder fell behind)` });
  }

  output(data: Buffer): void {
    if (this.inFlight + data.length > MAX_IN_FLIGHT_BYTES) {
      this.dropped += data.length;
      this.droppedTotal += data.length;
      return;
    }
    if (this.inFlight <= MAX_IN_FLIGHT_BYTES / 2) this.markGap();
    // A batch stays within BATCH_MAX_BYTES: one that this chunk would overflow goes first.
    if (this.batchBytes > 0 && this.batchBytes + data.length > BATCH_MAX_BYTES) this.flush();
    this.chunks.push(data);
    const now = Date.now();
    // Chunks within one millisecond are one event: a flood's thousands of reads a second become fewer lines.
    if (this.open && (now - this.open.at >= 1 || this.open.len + data.length > EVENT_MAX_BYTES)) this.endOutput();
    if (this.open) this.open.len += data.length;
    else this.open = { at: now, len: data.length };
    this.batchBytes += data.length;
    this.inFlight += data.length;
    this.schedule();
  }

  input(data: string): void {
    this.push({ at: Date.now(), code: 'i', data });
  }

  resize(cols: number, rows: number): void {
    this.push({ at: Date.now(), code: 'r', cols, rows });
  }

  marker(label: string): void {
    this.push({ at: Date.now(), code: 'm', data: label });
  }

  exit(status: number | null): void {
    this.markGap();
    this.push({ at: Date.now(), code: 'x', status });
  }

  async close(): Promise<{ files: string[]; dropped_bytes: number }> {
    // What the host does in this turn (at the session's end: report the exit) goes first; the writer's
    // conversion of a spooled flood, which the close starts, does not share a core with it.
    await new Promise((resolve) => setImmediate(resolve));
    this.markGap();
    this.flush();
    // Every spooled batch written and announced before the close (the writer converts them, then closes).
    await this.spool.close();
    const done = new Promise<RecorderReply & { t: 'closed' }>((resolve) => (this.closed = resolve));
    if (this.failure !== null) throw new Error(this.failure);
    this.post({ t: 'close' });
    const r = await done;
    this.failure ??= 'closed';
    if (r.error !== null) throw new Error(r.error);
    return { files: r.files, dropped_bytes: r.dropped_bytes + this.droppedTotal + this.spool.dropped_bytes };
  }
}

/** A batch's reads as one piece (the usual calm batch is one read: no copy). */
function joined(chunks: readonly Uint8Array[], bytes: number): Uint8Array {
  if (chunks.length === 1) return chunks[0] as Uint8Array;
  return Buffer.concat(chunks, bytes);
}

/** Where a BatchedCast's requests go and its replies come from: the writer (recorder-serve.ts), a turn later. */
interface CastLink {
  send(m: RecorderRequest): void;
  listen(onReply: (m: RecorderReply) => void): void;
  /** The writer failed: nothing more is recorded. */
  failed(onFailure: (why: string) => void): void;
}

/**
 * Lines are escaped and written in slices this large when the writer runs in the host's thread: about 0.1-0.2 ms of
 * escaping each, between which keystrokes and output are served (the converting of a spooled flood after it calmed).
 */
const HOST_WRITE_BYTES = 64 * 1024;

/**
 * In the host's own thread, through the writer's requests (recorder-serve.ts): while output floods
 * the host only appends it to the spool (SpoolWriter), and converts it in slices once output has calmed. No second
 * thread: a writer thread that exists, even idle, cost the host's main thread 40-80 ms of CPU per 40 MB flood on a
 * 2-core VM (bench/record-overhead.md). Replies come a turn later, so a batch is never written inside the call that
 * hands it over.
 */
export const openInHost: OpenCast = async (opts) => {
  let onReply: ((m: RecorderReply) => void) | null = null;
  let onFailure: ((why: string) => void) | null = null;
  const serve = serveRecorder((m) => setImmediate(() => onReply?.(m)), { writeBytes: HOST_WRITE_BYTES });
  const link: CastLink = {
    send: (m) => {
      try {
        serve(m);
      } catch (err) {
        // The writer failed: the recording ends here (close() says why), the session goes on.
        onFailure?.(`the recording writer failed: ${err instanceof Error ? err.message : String(err)}`);
      }
    },
    listen: (f) => (onReply = f),
    failed: (f) => (onFailure = f),
  };
  // The open's reply is the first; its error keeps its errno code (EEXIST: a file that exists).
  const opened = await new Promise<RecorderReply>((resolve) => {
    onReply = resolve;
    link.send({ t: 'open', at: Date.now(), opts });
  });
  onReply = null;
  if (opened.t === 'failed') throw new OpenError(opened.errno, opened.message);
  if (opened.t !== 'opened') throw new Error('the recording writer did not open the file');
  return new BatchedCast(link, opts);
};
