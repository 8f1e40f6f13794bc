/** What the session host's recording side (recorder-thread.ts) and its writer (recorder-serve.ts) tell each other. */
import type { SpoolEvent, SpoolRecordingOptions } from '../terminal/recorder-spool.js';

/** An event of a batch (output: the next `len` bytes of the batch's `data`). */
export type ThreadEvent = SpoolEvent;

/** What a recording is opened with (the spool keeps it in its header, to reopen the recording after a crash). */
export type ThreadRecorderOptions = SpoolRecordingOptions;

export type RecorderRequest =
  | { t: 'open'; at: number; opts: ThreadRecorderOptions }
  | { t: 'events'; events: ThreadEvent[]; data: Uint8Array }
  /** The host wrote the spool's records from `from` up to `to` (recorder-spool-writer.ts): convert them. */
  | { t: 'spooled'; from: number; to: number }
  | { t: 'close' };

export type RecorderReply =
  | { t: 'opened' }
  | { t: 'failed'; errno: string | null; message: string }
  /** `buffer`: the batch's memory, handed back to be used again. */
  | { t: 'acked'; bytes: number; buffer?: ArrayBuffer }
  /** Every spooled record announced is converted, up to `to`. */
  | { t: 'unspooled'; to: number }
  | { t: 'closed'; files: string[]; dropped_bytes: number; error: string | null };

type Obj = Record<string, unknown>;
const isObj = (v: unknown): v is Obj => typeof v === 'object' && v !== null && !Array.isArray(v);

/** A message between two threads of one process: its shape is checked at the door, not its every field's meaning. */
export function isRecorderRequest(v: unknown): v is RecorderRequest {
  return isObj(v) && ((v.t === 'open' && typeof v.at === 'number' && isObj(v.opts)) || (v.t === 'events' && Array.isArray(v.events) && v.data instanceof Uint8Array) || (v.t === 'spooled' && typeof v.from === 'number' && typeof v.to === 'number') || v.t === 'close');
}

export function isRecorderReply(v: unknown): v is RecorderReply {
  if (!isObj(v)) return false;
  switch (v.t) {
    case 'opened':
      return true;
    case 'failed':
      return typeof v.message === 'string' && (v.errno === null || typeof v.errno === 'string');
    case 'acked':
      return typeof v.bytes === 'number' && (v.buffer === undefined || v.buffer instanceof ArrayBuffer);
    case 'unspooled':
      return typeof v.to === 'number';
    case 'closed':
      return Array.isArray(v.files) && v.files.every((f) => typeof f === 'string') && typeof v.dropped_bytes === 'number' && (v.error === null || typeof v.error === 'string');
    default:
      return false;
  }
}
