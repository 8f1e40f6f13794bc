import { promises as fs } from 'node:fs';
import path from 'node:path';
import { isErrno } from '../../util/files.js';
import type { Logger } from '../../util/log.js';

/**
 * A session host's log (`<id>.log`) outlives its session, for a look at what happened; once no daemon lists the
 * session and the log has had no line for this long, it goes. Two weeks covers a look after a holiday; a machine
 * that runs thousands of short sessions (agents spawned per task) does not gather their logs forever.
 */
export const HOST_LOG_KEEP_MS = 14 * 24 * 60 * 60 * 1000;
/** Session logs; spares' logs (`spare-<hex>.log`) are the spare hosts' own (spare-host.ts). */
const SESSION_LOG = /^(?!spare-[0-9a-f]+\.log$)(.+)\.log$/;

/**
 * Remove the logs in `dir` of sessions that are not `listed` and whose last line is older than `keepMs`. Returns
 * how many went. A log that cannot be looked at or removed is left, with a debug line.
 */
export async function pruneHostLogs(dir: string, listed: (id: string) => boolean, now: number, log: Logger, keepMs = HOST_LOG_KEEP_MS): Promise<number> {
  let names: string[];
  try {
    names = await fs.readdir(dir);
  } catch (err) {
    if (isErrno(err, 'ENOENT')) return 0;
    throw err;
  }
  let removed = 0;
  for (const name of names) {
    const id = SESSION_LOG.exec(name)?.[1];
    if (id === undefined || listed(id)) continue;
    const file = path.join(dir, name);
    try {
      const st = await fs.stat(file);
      if (!st.isFile() || now - st.mtimeMs <= keepMs) continue;
      await fs.unlink(file);
      removed++;
    } catch (err) {
      log.debug(`old host log ${file} left: ${(err as Error).message}`);
    }
  }
  return removed;
}
