import { promises as fs } from 'node:fs';
import { isErrno } from './files.js';

/** What /proc/<pid>/stat says of one process (Linux). */
export interface ProcStat {
  pid: number;
  /** The state letter: R, S, D, Z (zombie), T … */
  state: string;
  ppid: number;
  pgrp: number;
  /** Its session id. */
  sid: number;
  /** Field 22: clock ticks after boot. With the pid, it names one process for good. */
  start: string;
}

/**
 * /proc/<pid>/stat of `pid`, or null when there is no such process (or no /proc, or it is not ours to read).
 * Fields after "(comm)" (which may hold spaces and parentheses): state ppid pgrp session tty_nr tpgid flags minflt
 * cminflt majflt cmajflt utime stime cutime cstime priority nice num_threads itrealvalue starttime …
 */
export async function readProcStat(pid: number): Promise<ProcStat | null> {
  let stat: string;
  try {
    stat = await fs.readFile(`/proc/${pid}/stat`, 'utf8');
  } catch (err) {
    if (isErrno(err, 'ENOENT') || isErrno(err, 'ESRCH') || isErrno(err, 'EACCES')) return null;
    throw err;
  }
  const rest = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  return { pid, state: rest[0] ?? '', ppid: Number(rest[1]), pgrp: Number(rest[2]), sid: Number(rest[3]), start: rest[19] ?? '' };
}

/** Every process /proc lists that is not a zombie (empty where there is no /proc). */
export async function liveProcesses(): Promise<ProcStat[]> {
  let entries: string[];
  try {
    entries = await fs.readdir('/proc');
  } catch (err) {
    if (isErrno(err, 'ENOENT')) return [];
    throw err;
  }
  const found = await Promise.all(entries.filter((e) => /^\d+$/.test(e)).map((e) => readProcStat(Number(e))));
  return found.filter((p): p is ProcStat => p !== null && p.state !== 'Z');
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
  if (process.platform !== 'linux') return true;
  const stat = await readProcStat(pid);
  return stat !== null && stat.state !== 'Z';
}
