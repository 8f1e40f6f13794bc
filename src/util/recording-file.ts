import { promises as fs } from 'node:fs';
import { defaultRecordingFile, recordSpecOf, type RecordRequest, type RecordSpec } from '../protocol/recording.js';
import { isErrno } from './files.js';

/** Names tried after `<id>-<time>.cast` is taken (a recording stopped and started again within the second). */
const MAX_NAME_TRIES = 100;

async function exists(file: string): Promise<boolean> {
  try {
    await fs.lstat(file);
    return true;
  } catch (err) {
    if (isErrno(err, 'ENOENT')) return false;
    throw err;
  }
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
