import path from 'node:path';
import { TeleptyError } from '../protocol/errors.js';
import { isDiskFull } from '../util/files.js';
import { resolvePaths, UNUSABLE_HOME_FIX } from '../util/paths.js';

/** fs errors that say the home cannot be written: a read-only disk, someone else's folder, a full disk, a file in the way. */
const HOME_WRITE_CODES = new Set(['EROFS', 'EACCES', 'EPERM', 'ENOSPC', 'EDQUOT', 'ENOTDIR']);

function isInside(file: string, dir: string): boolean {
  const rel = path.relative(dir, path.resolve(file));
  return rel === '' || (!rel.startsWith('..') && !path.isAbsolute(rel));
}

/**
 * A command that failed because telepty could not write its own home (its log, token, state, a host's log) is told
 * as such, with what to do (PERSIST_FAILED, exit 1), instead of a bare "EROFS: read-only file system, mkdir ...".
 * Any other error is returned as it is (one about a file of the user's, e.g. an unreadable --file, stays theirs).
 */
export async function explainHomeError(err: unknown): Promise<unknown> {
  if (!(err instanceof Error) || !('code' in err) || typeof err.code !== 'string' || !HOME_WRITE_CODES.has(err.code)) return err;
  const file = 'path' in err && typeof err.path === 'string' ? err.path : null;
  if (file === null) return err;
  const paths = await resolvePaths();
  if (![paths.dataDir, paths.configDir, paths.logDir].some((dir) => isInside(file, dir))) return err;
  const fix = isDiskFull(err) ? `free some space on that disk, or ${UNUSABLE_HOME_FIX}` : UNUSABLE_HOME_FIX;
  return new TeleptyError('PERSIST_FAILED', `telepty cannot write its home (${err.message}); ${fix}`, { file });
}
