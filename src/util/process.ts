import { promises as fs } from 'node:fs';
import { isErrno } from './files.js';

/** State letter of /proc/<pid>/stat (the field after the parenthesised command name). */
function procState(stat: string): string | undefined {
  return stat.slice(stat.lastIndexOf(')') + 2, stat.lastIndexOf(')') + 3);
}

/**
 * Whether `pid` is a running process. Signal 0 delivers nothing (a liveness check only). A zombie counts as
 * exited: orphans are reaped late on some inits (seen: ~2 s here), and a zombie runs no code.
 */
export async function isProcessAlive(pid: number): Promise<boolean> {
  try {
    process.kill(pid, 0);
  } catch (err) {
    if (isErrno(err, 'EPERM')) return true;
    if (isErrno(err, 'ESRCH')) return false;
    throw err;
  }
  try {
    return procState(await fs.readFile(`/proc/${pid}/stat`, 'utf8')) !== 'Z';
  } catch (err) {
    if (isErrno(err, 'ENOENT')) return false;
    throw err;
  }
}
