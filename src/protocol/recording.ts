import type { CastFormat } from './asciicast.js';
import { TeleptyError } from './errors.js';
import { expectObject, optBool, optString, type Fields } from './validate.js';

/**
 * Recording a session as an asciicast (issue 22): what a spawn, a wrap or `telepty record ID` asks for, what a host
 * is told to do, and what the session object says.
 */

/** A recording a host runs: the file (absolute), its asciicast version, and whether keystrokes are kept (`i`). */
export interface RecordSpec {
  file: string;
  format: CastFormat;
  input: boolean;
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
}

const FILE_MAX = 4096;

function optFormat(o: Fields, key: string): CastFormat | undefined {
  const v = o[key];
  if (v === undefined || v === null) return undefined;
  if (v !== 2 && v !== 3) throw new TeleptyError('INVALID_FIELD', `"${key}" must be 2 or 3 (the asciicast version)`, { field: key });
  return v;
}

/** `{file?, format?, input?}`, each field checked: a file is an absolute path without NUL. */
export function parseRecordRequest(value: unknown, what = '"record"'): RecordRequest {
  const o = expectObject(value, what);
  const file = optString(o, 'file', { min: 1, max: FILE_MAX, noNul: true });
  if (file !== undefined && !file.startsWith('/')) throw new TeleptyError('INVALID_FIELD', '"file" must be an absolute path', { field: 'file' });
  const format = optFormat(o, 'format');
  const input = optBool(o, 'input');
  return { ...(file !== undefined ? { file } : {}), ...(format !== undefined ? { format } : {}), ...(input !== undefined ? { input } : {}) };
}

/** A complete RecordSpec (the host's): every field present. */
export function parseRecordSpec(value: unknown): RecordSpec {
  const r = parseRecordRequest(value);
  if (r.file === undefined) throw new TeleptyError('INVALID_FIELD', '"record.file" is required', { field: 'record.file' });
  return { file: r.file, format: r.format ?? 2, input: r.input ?? false };
}

/** `<dir>/<id>-<UTC time>.cast`, e.g. `dev-001-20261204T230102Z.cast`: sorts by session, then by time. */
export function defaultRecordingFile(dir: string, sessionId: string, now: Date): string {
  const stamp = now.toISOString().replace(/[-:]/g, '').replace(/\.\d+Z$/, 'Z');
  return `${dir.replace(/\/+$/, '')}/${sessionId}-${stamp}.cast`;
}

/** The spec of a recording from a request, with the defaults: a file in `dir`, asciicast v2, no keystrokes. */
export function recordSpecOf(req: RecordRequest, dir: string, sessionId: string, now: Date): RecordSpec {
  return { file: req.file ?? defaultRecordingFile(dir, sessionId, now), format: req.format ?? 2, input: req.input ?? false };
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
