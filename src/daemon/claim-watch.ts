import { watch, type FSWatcher } from 'node:fs';
import path from 'node:path';
import type { DaemonRecord } from '../protocol/daemon-state.js';
import { createExclusive } from '../util/files.js';
import type { Logger } from '../util/log.js';
import { namesAddress, readState, removeStaleState, serializeRecord } from '../wire/state-file.js';

/** Events of one write to the state file (create, change) are checked once. */
const STATE_WATCH_COALESCE_MS = 10;

export interface ClaimWatchDeps {
  stateFile: string;
  lockFile: string;
  /** Our claim, as written. */
  record: DaemonRecord;
  /** The address we hold: a record naming it is never probed (the probe would wait on our own server). */
  ownAddress: { host: string; port: number };
  probe: (r: DaemonRecord) => Promise<boolean>;
  now: () => number;
  intervalMs: number;
  log: Logger;
  /** Whether this daemon is stopping (a stopping daemon releases its claim: never write it back). */
  stopping: () => boolean;
  /** Another live daemon proved the state file is now its claim. */
  lost: (reason: string) => void;
}

/**
 * The state file must keep naming us. We still hold our port, so a file that is missing, damaged, or names a daemon
 * that does not answer is rewritten with our claim; we stop only when another live daemon proves (by answering with
 * its record's nonce) that the file is now its claim. Checked at every change of the file, and every interval where
 * the folder cannot be watched (or a change was missed).
 */
export function watchClaim(deps: ClaimWatchDeps): { stop(): void } {
  const { log, record } = deps;
  const claimDeps = { stateFile: deps.stateFile, lockFile: deps.lockFile, probe: deps.probe, now: deps.now };

  async function checkClaim(): Promise<void> {
    if (deps.stopping()) return;
    const found = await readState(deps.stateFile);
    if (found.kind === 'record' && found.record.nonce === record.nonce) return;
    if (found.kind === 'record' && !namesAddress(found.record, deps.ownAddress) && (await deps.probe(found.record))) {
      deps.lost(`the state file now names another live daemon (pid ${found.record.pid}, port ${found.record.port})`);
      return;
    }
    // Removed only if it still holds what we read (under the claim lock); a busy lock is retried on the next check.
    if (found.kind !== 'missing' && !(await removeStaleState(found.raw, claimDeps))) return;
    if (await createExclusive(deps.stateFile, serializeRecord(record))) {
      log.warn(found.kind === 'missing' ? 'state file was removed; recreated it' : `state file was ${found.kind === 'invalid' ? 'damaged' : 'naming a daemon that does not answer'}; rewrote our claim`);
    }
  }

  let checking = false;
  const runClaimCheck = (): void => {
    if (checking) return;
    checking = true;
    void checkClaim()
      .catch((err: unknown) => log.error('claim check failed', err))
      .finally(() => (checking = false));
  };
  const watchdog = setInterval(runClaimCheck, deps.intervalMs);
  watchdog.unref();
  // A change to the state file is checked at once (a damaged claim is rewritten before a command reads it); the
  // interval stays as the fallback where the folder cannot be watched.
  const stateWatch = watchStateFile(deps.stateFile, runClaimCheck, log);
  return {
    stop() {
      clearInterval(watchdog);
      stateWatch?.close();
    },
  };
}

/** Call `onChange` (coalesced) whenever the state file changes; null when its folder cannot be watched. */
function watchStateFile(stateFile: string, onChange: () => void, log: Logger): FSWatcher | null {
  const name = path.basename(stateFile);
  let pending: NodeJS.Timeout | undefined;
  try {
    const watcher = watch(path.dirname(stateFile), { persistent: false }, (_event, file) => {
      if ((file !== null && file !== name) || pending) return;
      pending = setTimeout(() => {
        pending = undefined;
        onChange();
      }, STATE_WATCH_COALESCE_MS);
    });
    watcher.on('error', (err) => log.debug(`state file watch ended: ${err.message}`));
    return watcher;
  } catch (err) {
    log.debug(`cannot watch ${path.dirname(stateFile)}: ${(err as Error).message}; checking the claim every interval only`);
    return null;
  }
}
