import { injectLabel } from '../protocol/asciicast.js';
import { TeleptyError } from '../protocol/errors.js';
import type { InjectJobMeta, RecordResult } from '../protocol/host-link.js';
import type { RecordingInfo, RecordSpec } from '../protocol/recording.js';
import { isErrno } from '../util/files.js';
import type { Logger } from '../util/log.js';
import { recordingFileError } from '../util/recording-file.js';
import type { OutputSink, PtyExit } from './parts.js';
import { openInHost, type CastSink, type OpenCast } from './recorder-batches.js';

/** Output held while a recording's file opens (a few ms): past this much, the start of the recording is cut. */
const EARLY_MAX_BYTES = 4 * 1024 * 1024;

/** What a recording's header says of the session. */
export interface RecordingSubject {
  command: string;
  args: readonly string[];
  /** The session's id (the header's title). */
  title(): string;
  size(): { cols: number; rows: number };
}

/**
 * A session's recording (issue 22) as one of its output sinks: output (`o`), resizes (`r`), every inject written
 * (`m`, labelled with its id, sender and turn), keystrokes (`i`) only when the spec asks, and the exit. It may start
 * and stop while the session runs (`telepty record ID`); when none is under way every call is one test. The writing
 * is CastRecorder's, off the hot path: write() only holds the read and queues it.
 */
export class SessionRecording implements OutputSink {
  private recorder: CastSink | null = null;
  private spec: RecordSpec | null = null;
  /** The one start in progress: a second start waits for it rather than opening the file twice. */
  private starting: Promise<RecordingInfo> | null = null;
  /** Output read while the file is being opened: recorded first once it is (none is lost at the session's start). */
  private early: Buffer[] = [];
  private opening: RecordSpec | null = null;
  private earlyBytes = 0;

  constructor(
    private readonly subject: RecordingSubject,
    private readonly log: Logger,
    /** The recording started or ended: the daemon is told (the session object says it). */
    private readonly changed: (info: RecordingInfo | null) => void,
    /** Where the writing happens: the host's thread through the spool (openInHost), a worker thread, or CastRecorder directly (tests). */
    private readonly openCast: OpenCast = openInHost,
  ) {}

  /** The recording under way, or being opened (a failed open reports null at once). */
  get info(): RecordingInfo | null {
    const spec = this.spec ?? this.opening;
    return spec ? { file: spec.file, format: spec.format } : null;
  }

  /** Open the file (0600, never over an existing one) and record from now on. */
  start(spec: RecordSpec): Promise<RecordingInfo> {
    if (this.recorder || this.starting) {
      const busy = this.info;
      return Promise.reject(new TeleptyError('CONFLICT', `the session is already being recorded to ${busy?.file ?? 'a file'}; stop that first`));
    }
    this.opening = spec;
    this.starting = this.open(spec).finally(() => {
      this.starting = null;
      this.opening = null;
      this.early = [];
      this.earlyBytes = 0;
    });
    return this.starting;
  }

  private async open(spec: RecordSpec): Promise<RecordingInfo> {
    const { cols, rows } = this.subject.size();
    try {
      this.recorder = await this.openCast({
        file: spec.file,
        format: spec.format,
        cols,
        rows,
        command: [this.subject.command, ...this.subject.args].join(' '),
        title: this.subject.title(),
        recordInput: spec.input,
        ...(spec.max_bytes !== undefined ? { maxBytes: spec.max_bytes } : {}),
      });
    } catch (err) {
      this.opening = null;
      this.changed(null);
      if (isErrno(err, 'EEXIST')) throw new TeleptyError('CONFLICT', `${spec.file} exists already: a recording never overwrites a file`, { file: spec.file });
      throw recordingFileError(spec.file, err, 'file');
    }
    this.spec = spec;
    for (const chunk of this.early) this.recorder.output(chunk);
    const info = { file: spec.file, format: spec.format };
    this.log.info(`recording to ${spec.file} (asciicast v${spec.format}${spec.input ? ', with keystrokes' : ''})`);
    this.changed(info);
    return info;
  }

  /** Finish the recording under way (what is queued is written); null when none was. */
  async stop(): Promise<RecordResult> {
    if (this.starting) await this.starting.catch(() => undefined);
    const rec = this.recorder;
    if (!rec) return { recording: null, files: [], dropped_bytes: 0 };
    return this.close(rec);
  }

  private async close(rec: CastSink): Promise<RecordResult> {
    const file = this.spec?.file ?? '';
    this.recorder = null;
    this.spec = null;
    let stats: { files: string[]; dropped_bytes: number };
    try {
      stats = await rec.close();
    } catch (err) {
      throw new TeleptyError('PERSIST_FAILED', `the recording ${file} could not be written in full: ${err instanceof Error ? err.message : String(err)}`, { file });
    } finally {
      this.changed(null);
    }
    this.log.info(`recording ended: ${stats.files.join(', ')}`);
    return { recording: null, ...stats };
  }

  write(data: Buffer): void {
    if (this.recorder) this.recorder.output(data);
    else if (this.starting && this.earlyBytes + data.length <= EARLY_MAX_BYTES) {
      this.early.push(data);
      this.earlyBytes += data.length;
    }
  }

  input(data: string): void {
    this.recorder?.input(data);
  }

  resize(cols: number, rows: number): void {
    this.recorder?.resize(cols, rows);
  }

  /** An inject's text (and Enter) were written: a marker the player can jump to. */
  injected(injectId: string, meta: InjectJobMeta | undefined): void {
    if (!this.recorder) return;
    const turn = meta?.extra?.turn_id;
    this.recorder.marker(injectLabel({ inject_id: injectId, from: meta?.from ?? null, turn_id: typeof turn === 'string' ? turn : null }));
  }

  async end(exit: PtyExit): Promise<void> {
    // A program that ended while its recording was opening: what it wrote is recorded all the same.
    if (this.starting) await this.starting.catch(() => undefined);
    const rec = this.recorder;
    if (!rec) return;
    rec.exit(exit.code ?? (exit.signal ? 128 + exit.signal : null));
    try {
      await this.close(rec);
    } catch (err) {
      this.log.error('the recording could not be finished', err);
    }
  }
}

/** The host's `record` request: start with a complete spec, or stop. */
export async function serveRecord(recording: SessionRecording, args: { action: 'start'; record: RecordSpec } | { action: 'stop' }): Promise<RecordResult> {
  if (args.action === 'stop') return recording.stop();
  return { recording: await recording.start(args.record) };
}
