import type { DaemonRecord } from '../protocol/daemon-state.js';
import type { TeleptyConfig } from '../util/config.js';
import { portTaken } from '../util/port.js';
import { isProcessAlive } from '../util/process.js';
import { findDaemon, readToken, type DaemonHandle } from '../wire/discovery.js';
import { readFileIfExists } from '../wire/local-files.js';
import { readState, removeStaleState } from '../wire/state-file.js';
import { writeNewToken } from '../wire/token-file.js';

/**
 * The daemon of this TELEPTY_HOME as the commands that manage it see it (`daemon start|stop|status|restart`,
 * `doctor`, `token`): found or not, its claim left behind, its token file. Commands reach the files and discovery
 * of wire/ through here.
 */
export type { DaemonHandle };
export { readToken };

/** The daemon that answers for this home (its identity proven), or null; `token` defaults to readToken's. */
export async function findRunningDaemon(config: TeleptyConfig, token?: string): Promise<DaemonHandle | null> {
  return findDaemon(config, token ?? (await readToken(config)));
}

/**
 * What the state file says when no daemon answered: nothing; a stale claim; or a claim whose daemon may live on
 * (mayLive: a daemon stopped with Ctrl-Z or SIGSTOP, or hung, or a program that reuses the pid and the port), with where
 * it should answer.
 */
export async function unansweredClaim(config: TeleptyConfig): Promise<{ kind: 'none' } | { kind: 'stale' } | { kind: 'silent'; pid: number; host: string; port: number }> {
  const found = await readState(config.paths.stateFile);
  if (found.kind === 'missing') return { kind: 'none' };
  if (found.kind === 'record' && (await mayLive(found.record))) return { kind: 'silent', pid: found.record.pid, host: found.record.host, port: found.record.port };
  return { kind: 'stale' };
}

/**
 * A claim whose daemon may live on though it did not answer: its pid is alive and something listens at its address (a
 * stopped or hung daemon keeps its socket). A pid alive with nothing there is another program that reuses it.
 */
async function mayLive(record: DaemonRecord): Promise<boolean> {
  return (await isProcessAlive(record.pid)) && (await portTaken(record.host, record.port));
}

/**
 * Remove a claim left by a daemon that died (only if it is still the same stale file). True when one was removed.
 * A claim whose daemon may live on (mayLive) is never removed: a stopped (SIGSTOP) or hung daemon still holds it.
 */
export async function removeStaleClaim(config: TeleptyConfig): Promise<boolean> {
  const found = await readState(config.paths.stateFile);
  if (found.kind === 'missing' || (found.kind === 'record' && (await mayLive(found.record)))) return false;
  return removeStaleState(found.raw, { stateFile: config.paths.stateFile, lockFile: config.paths.stateLockFile });
}

/** The token file's token (trimmed), or null when there is none. */
export function readTokenFile(config: TeleptyConfig): string | null {
  return readFileIfExists(config.paths.tokenFile)?.trim() || null;
}

/** A new token straight into the token file (when no daemon runs to take it). */
export function rotateTokenFile(config: TeleptyConfig): Promise<string> {
  return writeNewToken(config.paths.tokenFile);
}
