import { promises as fs } from 'node:fs';
import { sleep } from '../../util/async.js';
import { isErrno } from '../../util/files.js';
import { liveProcesses, readProcStat, type ProcStat } from '../../util/process.js';

/**
 * Ending what a dead host leaves behind. A host killed with -9 cannot end its child's session; whatever in it
 * ignores SIGHUP (or was started with nohup, or setsid) would run on, re-parented to init. Whoever learns of the
 * death (the sweeper of this or the next daemon, or `kill`) finds those processes through /proc and ends them.
 *
 * A process is only ever signalled once it is proven to be the session's: its /proc/<pid>/stat start time is read
 * when it is found and read again right before each signal, so a pid the kernel has reused in between is left
 * alone. Linux only; elsewhere nothing is found.
 */

/** The env variable that marks every process a spawned session's child starts (spawner.ts sets it). */
export const SESSION_INSTANCE_ENV = 'TELEPTY_SESSION_INSTANCE';
/** After SIGTERM, orphans get this long to go before SIGKILL. */
const ORPHAN_TERM_GRACE_MS = 500;
/** Poll interval while waiting for them. */
const ORPHAN_POLL_MS = 25;

/** What a session is known by: its child's pid and start time, and its host instance (the env marker). */
export interface SessionMark {
  pid: number | null;
  pidStart: string | null;
  instance: string;
}

/** The start time of `pid` (field 22 of its stat), or null when there is no such process. */
export async function processStartTime(pid: number): Promise<string | null> {
  return (await readProcStat(pid))?.start ?? null;
}

async function hasMarker(pid: number, marker: string): Promise<boolean> {
  try {
    return (await fs.readFile(`/proc/${pid}/environ`, 'utf8')).split('\0').includes(marker);
  } catch (err) {
    // Gone, or not ours to read: not provably the session's.
    if (isErrno(err, 'ENOENT') || isErrno(err, 'ESRCH') || isErrno(err, 'EACCES') || isErrno(err, 'EPERM')) return false;
    throw err;
  }
}

/** Our own ancestry (this daemon and whatever started it): never a session's, even if it carries a marker. */
async function ancestry(byPid: Map<number, ProcStat>): Promise<Set<number>> {
  const mine = new Set<number>([process.pid]);
  for (let p = byPid.get(process.pid); p && p.ppid > 1 && !mine.has(p.ppid); p = byPid.get(p.ppid)) mine.add(p.ppid);
  return mine;
}

/**
 * The live processes of a session whose host is gone: its child's session and process group (only while the
 * child's pid is still the child's, or free: the kernel does not reuse a pid that still names a group or session),
 * their descendants by parent chains, and any process started since the child that carries the session's marker
 * (setsid plus a double fork leaves nothing else to go by).
 */
export async function findOrphans(mark: SessionMark): Promise<ProcStat[]> {
  const procs = await liveProcesses();
  const byPid = new Map(procs.map((p) => [p.pid, p]));
  const excluded = await ancestry(byPid);
  const found = new Map<number, ProcStat>();
  const add = (p: ProcStat): void => {
    if (p.pid > 1 && !excluded.has(p.pid)) found.set(p.pid, p);
  };
  if (mark.pid !== null) {
    const leader = byPid.get(mark.pid);
    const leaderOurs = leader === undefined || (mark.pidStart !== null && leader.start === mark.pidStart);
    if (leaderOurs) for (const p of procs) if (p.sid === mark.pid || p.pgrp === mark.pid || p.pid === mark.pid) add(p);
  }
  const since = mark.pidStart === null ? null : BigInt(mark.pidStart);
  const marker = `${SESSION_INSTANCE_ENV}=${mark.instance}`;
  await Promise.all(
    procs
      .filter((p) => !found.has(p.pid) && (since === null || BigInt(p.start || '0') >= since))
      .map(async (p) => {
        if (await hasMarker(p.pid, marker)) add(p);
      }),
  );
  // Descendants of what was found (a setsid child whose parent still runs).
  for (let grew = true; grew; ) {
    grew = false;
    for (const p of procs) {
      if (!found.has(p.pid) && found.has(p.ppid)) {
        add(p);
        if (found.has(p.pid)) grew = true;
      }
    }
  }
  return [...found.values()];
}

/** Signal `p` only if its pid still names the process found (same start time). True if it was signalled. */
async function signalSame(p: ProcStat, signal: NodeJS.Signals): Promise<boolean> {
  const now = await readProcStat(p.pid);
  if (!now || now.state === 'Z' || now.start !== p.start) return false;
  try {
    process.kill(p.pid, signal);
    return true;
  } catch (err) {
    if (isErrno(err, 'ESRCH')) return false;
    throw err;
  }
}

/**
 * End every orphan of a session: SIGTERM, then SIGKILL for what is still there after ORPHAN_TERM_GRACE_MS.
 * Resolves with how many processes were ended.
 */
export async function endOrphans(mark: SessionMark): Promise<number> {
  const orphans = await findOrphans(mark);
  if (orphans.length === 0) return 0;
  const signalled: ProcStat[] = [];
  for (const p of orphans) if (await signalSame(p, 'SIGTERM')) signalled.push(p);
  const stillThere = async (): Promise<ProcStat[]> => {
    const left: ProcStat[] = [];
    for (const p of signalled) {
      const now = await readProcStat(p.pid);
      if (now && now.state !== 'Z' && now.start === p.start) left.push(p);
    }
    return left;
  };
  const deadline = Date.now() + ORPHAN_TERM_GRACE_MS;
  let left = await stillThere();
  while (left.length > 0 && Date.now() < deadline) {
    await sleep(ORPHAN_POLL_MS);
    left = await stillThere();
  }
  for (const p of left) await signalSame(p, 'SIGKILL');
  return signalled.length;
}
