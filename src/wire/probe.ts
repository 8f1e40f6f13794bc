import type { DaemonRecord } from '../protocol/daemon-state.js';
import { isMetaResponse, type MetaResponse } from '../protocol/meta.js';
import { isTeleptyError } from '../protocol/errors.js';
import { requestJson } from './http.js';

/**
 * A live daemon answers its own meta in milliseconds, but a loaded machine can stall it for seconds, and
 * calling a live daemon stale would start a second one. A dead daemon costs nothing here: its port refuses
 * the connection at once.
 */
export const PROBE_TIMEOUT_MS = 5_000;

/**
 * Ask the daemon named by `record` who it is. Returns its meta only when it proves the record's identity
 * (same nonce and pid); anything else (refused, timeout, another program, another daemon) gives null.
 */
export async function probeDaemon(record: DaemonRecord, token: string | undefined, timeoutMs = PROBE_TIMEOUT_MS): Promise<MetaResponse | null> {
  try {
    const meta = await requestJson<unknown>({ host: record.host, port: record.port, token }, { path: '/api/meta', timeoutMs });
    if (isMetaResponse(meta) && meta.nonce === record.nonce && meta.pid === record.pid) return meta;
    return null;
  } catch (err) {
    if (isTeleptyError(err) || isNetworkError(err)) return null;
    throw err;
  }
}

function isNetworkError(err: unknown): boolean {
  return typeof err === 'object' && err !== null && typeof (err as NodeJS.ErrnoException).code === 'string';
}
