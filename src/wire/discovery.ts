import type { DaemonRecord } from '../protocol/daemon-state.js';
import { isMetaResponse, type MetaResponse } from '../protocol/meta.js';
import { isTeleptyError, TeleptyError } from '../protocol/errors.js';
import { tokenProblem } from '../protocol/token.js';
import { isLoopbackHost, type TeleptyConfig } from '../util/config.js';
import { homeId } from '../util/paths.js';
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

/** Token files already warned about by this process (a command reads the token more than once). */
const warnedTokenFiles = new Set<string>();

/**
 * The token for requests: TELEPTY_TOKEN, else the local token file (loopback needs none, remote peers do). A token
 * is never sent unless it is a valid header value: a bad TELEPTY_TOKEN is refused; a bad token file is skipped
 * with a warning naming it (the daemon replaces it on its next start; `telepty token --rotate` replaces it now).
 */
export async function readToken(
  config: TeleptyConfig,
  env: NodeJS.ProcessEnv = process.env,
  warn: (line: string) => void = (line) => process.stderr.write(`${line}\n`),
): Promise<string | undefined> {
  const fromEnv = env.TELEPTY_TOKEN?.trim();
  if (fromEnv) {
    const problem = tokenProblem(fromEnv);
    if (problem) throw new TeleptyError('INVALID_FIELD', `TELEPTY_TOKEN is not a valid token: ${problem}`);
    return fromEnv;
  }
  const file = config.paths.tokenFile;
  const fromFile = readFileIfExists(file)?.trim();
  if (!fromFile) return undefined;
  const problem = tokenProblem(fromFile);
  if (!problem) return fromFile;
  if (!warnedTokenFiles.has(file)) {
    warnedTokenFiles.add(file);
    warn(`telepty: warning: ignoring the token file ${file}: ${problem}. Local requests need no token; the daemon replaces the file on its next start (or run \`telepty token --rotate\`).`);
  }
  return undefined;
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
    let meta: unknown;
    try {
      meta = await requestJson<unknown>(endpoint, { path: '/api/meta', timeoutMs: PROBE_TIMEOUT_MS });
    } catch (err) {
      if (!isTeleptyError(err)) throw err;
      if (err.code === 'UNAUTHORIZED' || err.code === 'FORBIDDEN') throw err;
      return null;
    }
    if (isMetaResponse(meta)) {
      await assertSameHome(config, endpoint, meta);
      return { endpoint, meta, record: null };
    }
  }
  return null;
}

/** A daemon to connect to, and whether it proved to be the one its record names. */
export interface DaemonCandidate {
  endpoint: Endpoint;
  /**
   * Settles true once the daemon answered with the state-file record's nonce and pid (proveRecord), false when it
   * did not; true at once for an address from the environment (its home was checked already). A session host
   * opens its link meanwhile and registers only once this is true.
   */
  proven: Promise<boolean>;
}

/**
 * Where a session host's link connects: the daemon the state file names (to be proven by its nonce and pid, as
 * findDaemon does for the CLI), else the address set in the environment. Unlike findDaemon, an address that does
 * not answer yet (or an older daemon) is still tried, and one that serves another home gives null with
 * `onOtherHome` told: a host must not register its session into another home's daemon. Null: none now (retry).
 */
export async function locateDaemon(
  config: TeleptyConfig,
  env: NodeJS.ProcessEnv,
  onOtherHome: (err: TeleptyError) => void = () => undefined,
): Promise<DaemonCandidate | null> {
  const token = await readToken(config, env);
  const record = readStateRecord(config.paths.stateFile);
  if (record) return { endpoint: recordEndpoint(record, token), proven: proveRecord(record, token).then((handle) => handle !== null) };
  if (!config.addressExplicit || config.port === 0) return null;
  const endpoint = { host: connectHost(config.host), port: config.port, token };
  const proven = Promise.resolve(true);
  let meta: unknown;
  try {
    meta = await requestJson<unknown>(endpoint, { path: '/api/meta', timeoutMs: PROBE_TIMEOUT_MS });
  } catch (err) {
    if (isTeleptyError(err)) return { endpoint, proven };
    throw err;
  }
  if (!isMetaResponse(meta)) return { endpoint, proven };
  try {
    await assertSameHome(config, endpoint, meta);
    return { endpoint, proven };
  } catch (err) {
    if (!isTeleptyError(err) || err.code !== 'DAEMON_MISMATCH') throw err;
    onOtherHome(err);
    return null;
  }
}

/**
 * A daemon on this machine found by its address alone (no claim in our home names it) must serve our home: with
 * TELEPTY_HOME set to a new folder and TELEPTY_PORT served by another home's daemon, this CLI would otherwise drive
 * that home's sessions. Daemons on other machines serve their own homes by design; daemons before 0.2 name none.
 */
export async function assertSameHome(config: TeleptyConfig, endpoint: Endpoint, meta: MetaResponse): Promise<void> {
  if (meta.home_id === undefined || !isLoopbackHost(endpoint.host) || meta.home_id === (await homeId(config.paths))) return;
  throw new TeleptyError(
    'DAEMON_MISMATCH',
    `the telepty daemon at ${endpoint.host}:${endpoint.port} serves another home (${meta.home ?? `id ${meta.home_id}`}), not this one (${config.paths.dataDir}); ` +
      'set TELEPTY_PORT to a free port for this home, or use the same TELEPTY_HOME as that daemon',
    { home: meta.home ?? null, home_id: meta.home_id, expected_home: config.paths.dataDir },
  );
}
