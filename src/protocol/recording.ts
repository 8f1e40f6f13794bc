import type { CastFormat } from './asciicast.js';
import { TeleptyError } from './errors.js';
import { expectObject, optBool, optInt, optString, type Fields } from './validate.js';

/**
 * Recording a session as an asciicast (issue 22): what a spawn, a wrap or `telepty record ID` asks for, what a host
 * is told to do, and what the session object says.
 */

/**
 * A recording a host runs: the file (absolute), its asciicast version, whether keystrokes are kept (`i`), and the size
 * past which it goes on in a numbered next file (absent: the recorder's default, 100 MiB).
 */
export interface RecordSpec {
  file: string;
  format: CastFormat;
  input: boolean;
  max_bytes?: number;
}

/** What a session object says of a recording under way (`recording: null` when none). */
export interface RecordingInfo {
  file: string;
  format: CastFormat;
}

/** What a client asks for: every field may be left to the defaults (a file in the recordings folder, v2, no input). */
export interface RecordRequest {
  file?: string;
  format?: CastFormat;
  input?: boolean;
  max_bytes?: number;
}

const FILE_MAX = 4096;
/** The smallest file size limit: a header and a few events (a smaller one would rotate at nearly every event). */
export const RECORD_MAX_BYTES_MIN = 4096;
/** The largest: 1 TiB (past any disk a recording should fill). */
export const RECORD_MAX_BYTES_MAX = 2 ** 40;

const SIZE_UNITS: Record<string, number> = { '': 1, b: 1, k: 1024, m: 1024 ** 2, g: 1024 ** 3, t: 1024 ** 4 };

/** `50M`, `512K`, `1.5G`, `100MB`, `65536` (binary units: K is 1024), within RECORD_MAX_BYTES_MIN-…MAX. */
export function parseSize(text: string, source: string): number {
  const m = /^\s*(\d+(?:\.\d+)?)\s*([kmgt]?)(?:i?b)?\s*$/i.exec(text);
  const unit = m ? SIZE_UNITS[(m[2] ?? '').toLowerCase()] : undefined;
  const bytes = m && unit !== undefined ? Math.floor(Number(m[1]) * unit) : NaN;
  if (!Number.isSafeInteger(bytes) || bytes < RECORD_MAX_BYTES_MIN || bytes > RECORD_MAX_BYTES_MAX) {
    throw new TeleptyError('INVALID_FIELD', `${source} must be a size from 4K to 1T (e.g. 50M, 512K, 1G), got ${JSON.stringify(text)}`);
  }
  return bytes;
}

function optFormat(o: Fields, key: string): CastFormat | undefined {
  const v = o[key];
  if (v === undefined || v === null) return undefined;
  if (v !== 2 && v !== 3) throw new TeleptyError('INVALID_FIELD', `"${key}" must be 2 or 3 (the asciicast version)`, { field: key });
  return v;
}

/** `{file?, format?, input?, max_bytes?}`, each field checked: a file is an absolute path without NUL. */
export function parseRecordRequest(value: unknown, what = '"record"'): RecordRequest {
  const o = expectObject(value, what);
  const file = optString(o, 'file', { min: 1, max: FILE_MAX, noNul: true });
  if (file !== undefined && !file.startsWith('/')) throw new TeleptyError('INVALID_FIELD', '"file" must be an absolute path', { field: 'file' });
  const format = optFormat(o, 'format');
  const input = optBool(o, 'input');
  const maxBytes = optInt(o, 'max_bytes', RECORD_MAX_BYTES_MIN, RECORD_MAX_BYTES_MAX);
  return {
    ...(file !== undefined ? { file } : {}),
    ...(format !== undefined ? { format } : {}),
    ...(input !== undefined ? { input } : {}),
    ...(maxBytes !== undefined ? { max_bytes: maxBytes } : {}),
  };
}

/** A complete RecordSpec (the host's): every field present. */
export function parseRecordSpec(value: unknown): RecordSpec {
  const r = parseRecordRequest(value);
  if (r.file === undefined) throw new TeleptyError('INVALID_FIELD', '"record.file" is required', { field: 'record.file' });
  return { file: r.file, format: r.format ?? 2, input: r.input ?? false, ...(r.max_bytes !== undefined ? { max_bytes: r.max_bytes } : {}) };
}

/** `<dir>/<id>-<UTC time>.cast`, e.g. `dev-001-20261204T230102Z.cast`: sorts by session, then by time. */
export function defaultRecordingFile(dir: string, sessionId: string, now: Date): string {
  const stamp = now.toISOString().replace(/[-:]/g, '').replace(/\.\d+Z$/, 'Z');
  return `${dir.replace(/\/+$/, '')}/${sessionId}-${stamp}.cast`;
}

/** The spec of a recording from a request, with the defaults: a file in `dir`, asciicast v2, no keystrokes. */
export function recordSpecOf(req: RecordRequest, dir: string, sessionId: string, now: Date): RecordSpec {
  return { file: req.file ?? defaultRecordingFile(dir, sessionId, now), format: req.format ?? 2, input: req.input ?? false, ...(req.max_bytes !== undefined ? { max_bytes: req.max_bytes } : {}) };
}

/** `POST /api/sessions/:id/record`: start (with the request's options) or stop a running session's recording. */
export type RecordAction = { action: 'start'; record: RecordRequest } | { action: 'stop' };

export function parseRecordAction(body: unknown): RecordAction {
  const o = expectObject(body);
  if (o.action === 'stop') return { action: 'stop' };
  if (o.action !== 'start') throw new TeleptyError('INVALID_FIELD', '"action" must be "start" or "stop"', { field: 'action' });
  const { action: _action, ...rest } = o;
  return { action: 'start', record: parseRecordRequest(rest, 'the request body') };
}

/** The answer: the recording now under way (null after a stop), and after a stop the files it wrote. */
export interface RecordResponse {
  session_id: string;
  recording: RecordingInfo | null;
  /** After a stop: every file of the recording (more than one when it rotated) and the output it could not keep. */
  files?: string[];
  dropped_bytes?: number;
}
