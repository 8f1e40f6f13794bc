/** What the session host's recording side (recorder-batches.ts) and its writer (recorder-serve.ts) tell each other. */
import type { SpoolEvent, SpoolRecordingOptions } from '../terminal/recorder-spool.js';

/** An event of a batch (output: the next `len` bytes of the batch's `data`). */
export type BatchEvent = SpoolEvent;

/** What a recording is opened with (the spool keeps it in its header, to reopen the recording after a crash). */
export type RecordingOptions = SpoolRecordingOptions;

export type RecorderRequest =
  | { t: 'open'; at: number; opts: RecordingOptions }
  | { t: 'events'; events: BatchEvent[]; data: Uint8Array }
  /** The host wrote the spool's records from `from` up to `to` (recorder-spool-writer.ts): convert them. */
  | { t: 'spooled'; from: number; to: number }
  | { t: 'close' };

export type RecorderReply =
  | { t: 'opened' }
  | { t: 'failed'; errno: string | null; message: string }
  /** The batch's output is copied: `bytes` are no longer in flight. */
  | { t: 'acked'; bytes: number }
  /** Every spooled record announced is converted, up to `to`. */
  | { t: 'unspooled'; to: number }
  | { t: 'closed'; files: string[]; dropped_bytes: number; error: string | null };
