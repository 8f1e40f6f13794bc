import { constants, promises as fs } from 'node:fs';
import path from 'node:path';
import { TeleptyError } from '../protocol/errors.js';
import { isErrno } from './files.js';

async function statOrNull(p: string): Promise<import('node:fs').Stats | null> {
  try {
    return await fs.stat(p);
  } catch (err) {
    if (isErrno(err, 'ENOENT') || isErrno(err, 'ENOTDIR') || isErrno(err, 'ENAMETOOLONG') || isErrno(err, 'ELOOP')) return null;
    throw err;
  }
}

async function isExecutableFile(p: string): Promise<boolean> {
  const st = await statOrNull(p);
  if (!st?.isFile()) return false;
  try {
    await fs.access(p, constants.X_OK);
    return true;
  } catch (err) {
    if (isErrno(err, 'EACCES')) return false;
    throw err;
  }
}

/** A cwd must be an absolute path to an existing directory; checked before anything is registered. */
export async function checkCwd(cwd: string): Promise<string> {
  if (!path.isAbsolute(cwd)) throw new TeleptyError('INVALID_CWD', `cwd must be an absolute path, got ${JSON.stringify(cwd.slice(0, 200))}`);
  const st = await statOrNull(cwd);
  if (!st) throw new TeleptyError('INVALID_CWD', `cwd ${JSON.stringify(cwd.slice(0, 200))} does not exist`);
  if (!st.isDirectory()) throw new TeleptyError('INVALID_CWD', `cwd ${JSON.stringify(cwd.slice(0, 200))} is not a directory`);
  return cwd;
}

/** The absolute path of an executable: as given when it has a slash, else the first match on PATH. */
export async function resolveCommand(command: string, cwd: string, pathVar: string | undefined): Promise<string> {
  if (command.includes('/')) {
    const p = path.resolve(cwd, command);
    if (await isExecutableFile(p)) return p;
    throw new TeleptyError('INVALID_COMMAND', `${JSON.stringify(command.slice(0, 200))} is not an executable file`);
  }
  for (const dir of (pathVar ?? '').split(':').filter(Boolean)) {
    const p = path.join(dir, command);
    if (await isExecutableFile(p)) return p;
  }
  throw new TeleptyError('INVALID_COMMAND', `command not found: ${JSON.stringify(command.slice(0, 200))}`);
}

