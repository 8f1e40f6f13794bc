import { promises as fs } from 'node:fs';
import path from 'node:path';

let tempCounter = 0;

/**
 * A temp name next to `target`, unique per process (pid) and per call (counter). Not a secret, so no crypto
 * (loading node:crypto costs every CLI start ~19 internal modules).
 */
function tempName(target: string): string {
  return path.join(path.dirname(target), `.${path.basename(target)}.${process.pid}.${++tempCounter}.${Math.random().toString(36).slice(2, 8)}.tmp`);
}

function isErrno(err: unknown, code: string): boolean {
  return typeof err === 'object' && err !== null && (err as NodeJS.ErrnoException).code === code;
}
export { isErrno };

/** The disk has no room for a write (full, or the user's quota reached): not the fault of the path written to. */
export function isDiskFull(err: unknown): err is NodeJS.ErrnoException {
  return isErrno(err, 'ENOSPC') || isErrno(err, 'EDQUOT');
}

/**
 * An fs error that names the file it is about: a write's ENOSPC says only "no space left on device, write",
 * which leaves a reader of the log (or of a start-up error) guessing which file could not be written.
 */
function naming(err: unknown, file: string): unknown {
  if (err instanceof Error && !err.message.includes(file)) err.message = `${err.message} (writing ${file})`;
  return err;
}

/**
 * Replace a file's content atomically: a reader sees the old file or the new one, never a part. On any failure
 * (a full disk fails the write, and may leave a zero-byte temp file) the temp file is removed and the error
 * names `target`.
 */
export async function writeFileAtomic(target: string, data: string, mode = 0o600): Promise<void> {
  const tmp = tempName(target);
  try {
    await fs.writeFile(tmp, data, { mode });
    await fs.rename(tmp, target);
  } catch (err) {
    await fs.rm(tmp, { force: true });
    throw naming(err, target);
  }
}

/**
 * Create a file only if it does not exist, with its whole content visible at once:
 * written to a temp file, then hard-linked into place (link fails with EEXIST atomically).
 * Returns false when the file already exists.
 */
export async function createExclusive(target: string, data: string, mode = 0o600): Promise<boolean> {
  const tmp = tempName(target);
  try {
    await fs.writeFile(tmp, data, { mode });
    await fs.link(tmp, target);
    return true;
  } catch (err) {
    if (isErrno(err, 'EEXIST')) return false;
    throw naming(err, target);
  } finally {
    await fs.rm(tmp, { force: true });
  }
}

/** The file's text, or null when it does not exist. */
export async function readTextIfExists(file: string): Promise<string | null> {
  try {
    return await fs.readFile(file, 'utf8');
  } catch (err) {
    if (isErrno(err, 'ENOENT')) return null;
    throw err;
  }
}

/** mkdir, where a folder that is already there is fine (anything else there is EEXIST). */
async function makeOneDir(dir: string): Promise<void> {
  try {
    await fs.mkdir(dir, { mode: 0o700 });
  } catch (err) {
    if (isErrno(err, 'EEXIST') && (await fs.stat(dir)).isDirectory()) return;
    throw err;
  }
}

/**
 * `mkdir -p` with mode 0700. Not fs.mkdir's `recursive`: where a filesystem answers ENOENT for a new folder whose
 * parent exists (/proc, /sys), Node 20 retries that forever at full CPU (`TELEPTY_HOME=/proc/x telepty list` hung);
 * here the second ENOENT is the answer.
 */
export async function ensureDir(dir: string): Promise<void> {
  try {
    await makeOneDir(dir);
    return;
  } catch (err) {
    if (!isErrno(err, 'ENOENT') || path.dirname(dir) === dir) throw err;
  }
  await ensureDir(path.dirname(dir));
  await makeOneDir(dir);
}
