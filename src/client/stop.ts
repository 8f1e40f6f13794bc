import { readState, removeStaleState, type StateReading } from '../wire/state-file.js';
import type { DaemonRecord } from '../protocol/daemon-state.js';
import { TeleptyError } from '../protocol/errors.js';
import { sleep as defaultSleep } from '../util/async.js';
import type { TeleptyConfig } from '../util/config.js';
import { isErrno } from '../util/files.js';
import { isProcessAlive } from '../util/process.js';
import { startProgress } from './progress.js';
import { callEndpoint } from './daemon-client.js';
import { stopDaemonOp } from '../protocol/ops/daemon.js';
import { findDaemon, type DaemonHandle } from '../wire/discovery.js';
import { probeDaemon } from '../wire/probe.js';

/** A graceful stop closes sockets within the daemon's 2 s grace; allow for a loaded machine. */
export const STOP_TIMEOUT_MS = 10_000;

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

async function waitUntil(check: () => Promise<boolean>, timeoutMs: number): Promise<boolean> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (await check()) return true;
    await defaultSleep(STOP_POLL_MS);
  }
  return check();
}

/**
 * Stop the daemon `handle` found (`daemon stop`, `daemon restart`): ask it over HTTP, wait until it is gone, and
 * remove the claim it may have left. Sessions keep running and reconnect to the next daemon. Throws TIMEOUT when
 * it is still there after `timeoutMs` (and the escalation's wait).
 */
export async function stopFound(config: TeleptyConfig, handle: DaemonHandle, timeoutMs: number): Promise<void> {
  const progress = startProgress('stopping the telepty daemon…');
  const pid = handle.meta.pid;
  const stateDeps = { stateFile: config.paths.stateFile, lockFile: config.paths.stateLockFile };
  try {
    await callEndpoint(handle.endpoint, stopDaemonOp);
    let stopped: boolean;
    if (handle.record) {
      const record = handle.record;
      const reachable = { ...record, host: handle.endpoint.host };
      stopped = await awaitDaemonStop(
        {
          record,
          proves: async () => (await probeDaemon(reachable, handle.endpoint.token)) !== null,
          isAlive: isProcessAlive,
          readState: () => readState(config.paths.stateFile),
          signal: (target, signal) => process.kill(target, signal),
        },
        timeoutMs,
      );
      // A daemon that died without releasing its claim leaves its record: remove it (only if it is still that record).
      const left = await readState(config.paths.stateFile);
      if (stopped && left.kind === 'record' && holdsRecord(left, record)) await removeStaleState(left.raw, stateDeps);
    } else {
      // Found by its configured address, not by a claim: there is no proven pid to signal, only the answer to watch.
      stopped = await waitUntil(async () => (await findDaemon(config, handle.endpoint.token)) === null, timeoutMs);
    }
    if (!stopped) throw new TeleptyError('TIMEOUT', `the daemon (pid ${pid}) did not stop within ${timeoutMs} ms`);
  } finally {
    progress.done();
  }
}
