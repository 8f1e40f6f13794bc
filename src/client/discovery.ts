import type { DaemonRecord } from '../protocol/daemon-state.js';
import { isMetaResponse, type MetaResponse } from '../protocol/meta.js';
import { isTeleptyError } from '../protocol/errors.js';
import type { TeleptyConfig } from '../util/config.js';
import { readFileIfExists, readStateRecord } from './local-files.js';
import { requestJson, type Endpoint } from './http.js';
import { PROBE_TIMEOUT_MS, probeDaemon } from './probe.js';

export interface DaemonHandle {
  endpoint: Endpoint;
  meta: MetaResponse;
  /** The state-file record when the daemon was found through it (a local singleton). */
  record: DaemonRecord | null;
}

/** The wildcard addresses a daemon may bind are reached through loopback. */
export function connectHost(host: string): string {
  if (host === '0.0.0.0') return '127.0.0.1';
  if (host === '::' || host === '[::]') return '::1';
  return host;
}

/** The token for requests: TELEPTY_TOKEN, else the local token file (loopback needs none, remote peers do). */
export async function readToken(config: TeleptyConfig, env: NodeJS.ProcessEnv = process.env): Promise<string | undefined> {
  const fromEnv = env.TELEPTY_TOKEN?.trim();
  if (fromEnv) return fromEnv;
  return readFileIfExists(config.paths.tokenFile)?.trim() || undefined;
}

/** Where a state-file record's daemon is reached (a wildcard listen address through loopback). */
export function recordEndpoint(record: DaemonRecord, token: string | undefined): Endpoint {
  return { host: connectHost(record.host), port: record.port, token };
}

/** The daemon a state-file record names, if it answers with the record's nonce and pid; else null. */
export async function proveRecord(record: DaemonRecord, token: string | undefined): Promise<DaemonHandle | null> {
  const endpoint = recordEndpoint(record, token);
  const meta = await probeDaemon({ ...record, host: endpoint.host }, token);
  return meta ? { endpoint, meta, record } : null;
}

/**
 * Find the running daemon: first the state file (verified by nonce), then an address set in the environment.
 * Returns null when none answers.
 */
export async function findDaemon(config: TeleptyConfig, token: string | undefined): Promise<DaemonHandle | null> {
  const found = readStateRecord(config.paths.stateFile);
  if (found) {
    const proven = await proveRecord(found, token);
    if (proven) return proven;
  }
  if (config.addressExplicit && config.port !== 0) {
    const endpoint = { host: connectHost(config.host), port: config.port, token };
    try {
      const meta = await requestJson<unknown>(endpoint, { path: '/api/meta', timeoutMs: PROBE_TIMEOUT_MS });
      if (isMetaResponse(meta)) return { endpoint, meta, record: null };
    } catch (err) {
      if (!isTeleptyError(err)) throw err;
      if (err.code === 'UNAUTHORIZED' || err.code === 'FORBIDDEN') throw err;
    }
  }
  return null;
}
