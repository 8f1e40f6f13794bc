import type { StateReading } from '../daemon/claim.js';
import type { DaemonRecord } from '../protocol/daemon-state.js';
import { sleep as defaultSleep } from '../util/async.js';
import { isErrno } from '../util/files.js';

/** Poll interval while waiting for a stopped daemon's process and claim to go away. */
export const STOP_POLL_MS = 50;

export interface StopWatch {
  /** The state-file record of the daemon being stopped (its identity was proven by nonce when it was found). */
  record: DaemonRecord;
  /** True only when the daemon at the record's address answers right now with the record's nonce and pid. */
  proves(): Promise<boolean>;
  isAlive(pid: number): Promise<boolean>;
  readState(): Promise<StateReading>;
  /** Deliver a signal (process.kill): throws ESRCH when the pid no longer exists. */
  signal(pid: number, signal: NodeJS.Signals): void;
  sleep?: (ms: number) => Promise<void>;
  now?: () => number;
  pollMs?: number;
}

/** Whether the state file still holds this very daemon's claim (same pid and nonce). */
export function holdsRecord(state: StateReading, record: DaemonRecord): boolean {
  return state.kind === 'record' && state.record.nonce === record.nonce && state.record.pid === record.pid;
}

/**
 * Our daemon is gone when its pid is dead, or when its claim is gone from the state file (released, or taken
 * over by another daemon) and the pid no longer answers with its nonce (it is exiting, or the pid was reused).
 */
async function isGone(watch: StopWatch): Promise<boolean> {
  if (!(await watch.isAlive(watch.record.pid))) return true;
  if (holdsRecord(await watch.readState(), watch.record)) return false;
  return !(await watch.proves());
}

async function waitGone(watch: StopWatch, timeoutMs: number): Promise<boolean> {
  const now = watch.now ?? Date.now;
  const sleep = watch.sleep ?? defaultSleep;
  const deadline = now() + timeoutMs;
  while (now() < deadline) {
    if (await isGone(watch)) return true;
    await sleep(watch.pollMs ?? STOP_POLL_MS);
  }
  return isGone(watch);
}

/**
 * Wait for a daemon that was asked to stop to go away; if it has not within `timeoutMs`, SIGTERM it, but only
 * when it proves its identity at that moment: while we waited it may have died, been replaced by another daemon,
 * or its pid may have been reused, and a pid whose identity is not proven right now is never signalled.
 * Returns true once it is gone, false when it is still there after the escalation's wait (or could not be proven).
 */
export async function awaitDaemonStop(watch: StopWatch, timeoutMs: number): Promise<boolean> {
  if (await waitGone(watch, timeoutMs)) return true;
  if (!(await watch.proves())) return isGone(watch);
  try {
    watch.signal(watch.record.pid, 'SIGTERM');
  } catch (err) {
    if (isErrno(err, 'ESRCH')) return true; // it exited between the proof and the signal: already gone
    throw err;
  }
  return waitGone(watch, timeoutMs);
}
