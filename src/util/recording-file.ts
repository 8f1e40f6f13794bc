import { promises as fs } from 'node:fs';
import path from 'node:path';
import { TeleptyError } from '../protocol/errors.js';
import { defaultRecordingFile, recordSpecOf, type RecordRequest, type RecordSpec } from '../protocol/recording.js';
import { ensureDir, isDiskFull, isErrno } from './files.js';

/** Names tried after `<id>-<time>.cast` is taken (a recording stopped and started again within the second). */
const MAX_NAME_TRIES = 100;

async function exists(file: string): Promise<boolean> {
  try {
    await fs.lstat(file);
    return true;
  } catch (err) {
    // ENOTDIR: a file stands where a folder of the path should be; opening the recording then says so.
    if (isErrno(err, 'ENOENT') || isErrno(err, 'ENOTDIR')) return false;
    throw err;
  }
}

/**
 * Why a recording cannot be made at `file`, from the error opening or creating it: PERSIST_FAILED when the disk
 * cannot take it (full, over quota, failing), INVALID_FIELD (`field`) when the path is the trouble (no access, no
 * such folder, a file in the way).
 */
export function recordingFileError(file: string, err: unknown, field: string): TeleptyError {
  const why = err instanceof Error ? err.message : String(err);
  // A disk that cannot take more (full, over quota, or failing: EIO), not the path the user gave.
  if (isDiskFull(err) || isErrno(err, 'EIO')) return new TeleptyError('PERSIST_FAILED', `cannot record to ${file}: the disk cannot take it (${why})`, { file });
  return new TeleptyError('INVALID_FIELD', `cannot record to ${file}: ${why}`, { field });
}

/**
 * Check that a recording can be created at `file` by creating it (and its folders, as the recorder does) and
 * removing it again: the only test that holds for root too, whom access(2) lets "write" anywhere (/proc, /sys).
 * A file that exists is left alone (the caller refuses it). Throws recordingFileError's answer.
 */
export async function checkRecordable(file: string): Promise<void> {
  const refuse = (err: unknown): unknown => (err instanceof Error && 'code' in err ? recordingFileError(file, err, 'record') : err);
  // mkdir says EEXIST (or ENOTDIR) for a file standing where a folder should be: only the open's EEXIST means the
  // recording's file exists.
  const dir = path.dirname(file);
  await ensureDir(dir).catch((err: unknown) => {
    if (isErrno(err, 'EEXIST') || isErrno(err, 'ENOTDIR')) throw new TeleptyError('INVALID_FIELD', `cannot record to ${file}: ${dir} is not a folder (a file of that name is in the way)`, { field: 'record' });
    throw refuse(err);
  });
  let handle;
  try {
    handle = await fs.open(file, 'wx', 0o600);
  } catch (err) {
    if (isErrno(err, 'EEXIST')) return;
    throw refuse(err);
  }
  await handle.close();
  await fs.unlink(file);
}

/** `<dir>/<id>-<UTC time>.cast`, or `…-2.cast`, `…-3.cast` when taken: a default name never meets an existing file. */
export async function freshRecordingFile(dir: string, sessionId: string, now: Date): Promise<string> {
  const base = defaultRecordingFile(dir, sessionId, now);
  for (let n = 1; n <= MAX_NAME_TRIES; n++) {
    const file = n === 1 ? base : base.replace(/\.cast$/, `-${n}.cast`);
    if (!(await exists(file))) return file;
  }
  return base;
}

/** The spec of a recording a client asked for: its file, or a fresh one in `dir`. */
export async function resolveRecordSpec(req: RecordRequest, dir: string, sessionId: string, now: Date): Promise<RecordSpec> {
  const file = req.file ?? (await freshRecordingFile(dir, sessionId, now));
  return recordSpecOf({ ...req, file }, dir, sessionId, now);
}
