import { promises as fs } from 'node:fs';
import { parseDaemonRecord, type DaemonRecord } from '../protocol/daemon-state.js';
import { sleep as realSleep } from '../util/async.js';
import { bareHost, isWildcardHost } from '../util/config.js';
import { createExclusive, isErrno, readTextIfExists } from '../util/files.js';

/** How many times to retry the exclusive create while stale claims are being cleared (releaseState). */
const MAX_CLAIM_ATTEMPTS = 20;
/** The replace lock is held for a few file operations; older than this means its holder died mid-way. */
export const STALE_LOCK_MS = 2_000;
/**
 * A claim keeps retrying this long: past STALE_LOCK_MS, so a replace lock left by a holder that died is broken
 * and the start goes on, instead of failing while the lock is still young.
 */
export const CLAIM_GIVE_UP_MS = STALE_LOCK_MS + 1_000;
/** Pause before retrying when another process holds the replace lock. */
const LOCK_RETRY_MS = 25;

export interface ClaimDeps {
  stateFile: string;
  lockFile: string;
  /** True only if a live daemon answers at the record's address with the record's nonce and pid. */
  probe(record: DaemonRecord): Promise<boolean>;
  /**
   * The address this claimant already listens on (exclusively). A record naming it cannot belong to a live
   * daemon (the port would have been refused to us), and probing it would only reach our own server, which holds
   * requests until the claim is made: such a record is stale without a probe.
   */
  ownAddress?: { host: string; port: number };
  now?: () => number;
  sleep?: (ms: number) => Promise<void>;
}

export type ClaimResult =
  | { claimed: true; record: DaemonRecord }
  | { claimed: false; existing: DaemonRecord };

export type StateReading =
  | { kind: 'missing' }
  | { kind: 'record'; record: DaemonRecord; raw: string }
  | { kind: 'invalid'; raw: string };

export function stateReading(raw: string | null): StateReading {
  if (raw === null) return { kind: 'missing' };
  const record = parseDaemonRecord(raw);
  return record === 'invalid' ? { kind: 'invalid', raw } : { kind: 'record', record, raw };
}

export async function readState(stateFile: string): Promise<StateReading> {
  return stateReading(await readTextIfExists(stateFile));
}

/**
 * Claim the singleton state file for `record`.
 *
 * The file is created exclusively (all or nothing). When one exists, its daemon must prove it is alive by
 * answering with its nonce; only a file whose daemon does not answer is removed, under a short lock, and only
 * if it still holds the same content that was found stale. No process is ever signalled here.
 */
export async function claimState(record: DaemonRecord, deps: ClaimDeps): Promise<ClaimResult> {
  const sleep = deps.sleep ?? realSleep;
  const now = deps.now ?? Date.now;
  const text = serializeRecord(record);
  const giveUpAt = now() + CLAIM_GIVE_UP_MS;
  for (;;) {
    if (await createExclusive(deps.stateFile, text)) return { claimed: true, record };
    const found = await readState(deps.stateFile);
    let removed = found.kind === 'missing';
    if (found.kind !== 'missing') {
      const mayBeLive = found.kind === 'record' && !(deps.ownAddress && namesAddress(found.record, deps.ownAddress));
      if (mayBeLive && (await deps.probe(found.record))) return { claimed: false, existing: found.record };
      removed = await removeStaleState(found.raw, deps);
    }
    // A stale file just removed is replaced at once, even when its probe took us past the deadline.
    if (removed && (await createExclusive(deps.stateFile, text))) return { claimed: true, record };
    if (now() >= giveUpAt) break;
    if (!removed) await sleep(LOCK_RETRY_MS);
  }
  throw new Error(`could not claim ${deps.stateFile} within ${CLAIM_GIVE_UP_MS} ms`);
}

function canonicalHost(host: string): string {
  const h = bareHost(host);
  return h === 'localhost' ? '127.0.0.1' : h;
}

/** Whether `record` names an address that `own` (a socket listening now) covers or overlaps. */
export function namesAddress(record: Pick<DaemonRecord, 'host' | 'port'>, own: { host: string; port: number }): boolean {
  if (record.port !== own.port) return false;
  // A wildcard listen address covers every address of its port.
  return isWildcardHost(record.host) || isWildcardHost(own.host) || canonicalHost(record.host) === canonicalHost(own.host);
}

/**
 * Remove the state file if it still holds exactly `staleRaw`. Serialized by an exclusive lock file so that two
 * processes that both found the same stale file cannot remove a fresh claim made in between.
 * Returns true when the stale file is gone (removed here or by someone else).
 */
export async function removeStaleState(staleRaw: string, deps: Pick<ClaimDeps, 'stateFile' | 'lockFile' | 'now'>): Promise<boolean> {
  const now = deps.now ?? Date.now;
  const lockText = JSON.stringify({ pid: process.pid, at: now() });
  if (!(await createExclusive(deps.lockFile, lockText))) {
    await breakStaleLock(deps.lockFile, now);
    return false;
  }
  try {
    const current = await readTextIfExists(deps.stateFile);
    if (current === null) return true;
    if (current !== staleRaw) return false;
    await fs.rm(deps.stateFile, { force: true });
    return true;
  } finally {
    await fs.rm(deps.lockFile, { force: true });
  }
}

async function breakStaleLock(lockFile: string, now: () => number): Promise<void> {
  let stat;
  try {
    stat = await fs.stat(lockFile);
  } catch (err) {
    if (isErrno(err, 'ENOENT')) return;
    throw err;
  }
  if (now() - stat.mtimeMs > STALE_LOCK_MS) await fs.rm(lockFile, { force: true });
}

export function serializeRecord(record: DaemonRecord): string {
  return `${JSON.stringify(record, null, 2)}\n`;
}

/** Give up the claim: remove the state file only if it still holds our record (same lock as stale removal). */
export async function releaseState(record: DaemonRecord, deps: Pick<ClaimDeps, 'stateFile' | 'lockFile' | 'now' | 'sleep'>): Promise<boolean> {
  const sleep = deps.sleep ?? realSleep;
  const ours = serializeRecord(record);
  for (let attempt = 0; attempt < MAX_CLAIM_ATTEMPTS; attempt++) {
    const current = await readTextIfExists(deps.stateFile);
    if (current !== ours) return false;
    if (await removeStaleState(ours, deps)) return true;
    await sleep(LOCK_RETRY_MS);
  }
  return false;
}
