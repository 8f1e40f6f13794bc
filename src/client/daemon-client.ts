import { loadConfig, type TeleptyConfig } from '../util/config.js';
import { findDaemon, readToken, type DaemonHandle } from './discovery.js';
import { requestJson, type JsonRequest } from './http.js';

/** Typed requests to one daemon. Commands get one from `connect()`. */
export class DaemonClient {
  constructor(
    readonly handle: DaemonHandle,
    readonly config: TeleptyConfig,
    /** True when this call started the daemon. */
    readonly started = false,
  ) {}

  request<T>(req: JsonRequest): Promise<T> {
    return requestJson<T>(this.handle.endpoint, req);
  }
}

export interface ConnectOptions {
  env?: NodeJS.ProcessEnv;
  /** Start the daemon when none answers (default true). */
  autostart?: boolean;
}

/** Find (and by default start) the daemon for the current environment. Returns null only with autostart off. */
export async function connect(opts: ConnectOptions & { autostart: false }): Promise<DaemonClient | null>;
export async function connect(opts?: ConnectOptions): Promise<DaemonClient>;
export async function connect(opts: ConnectOptions = {}): Promise<DaemonClient | null> {
  const env = opts.env ?? process.env;
  const config = await loadConfig(env);
  const token = await readToken(config, env);
  if (opts.autostart === false) {
    const handle = await findDaemon(config, token);
    return handle ? new DaemonClient(handle, config) : null;
  }
  const found = await findDaemon(config, token);
  if (found) return new DaemonClient(found, config);
  // Only now load the start-up code (child_process, spinner): the common case never needs it.
  const { ensureDaemon } = await import('./autostart.js');
  const { startProgress } = await import('../ui/progress.js');
  const ensured = await ensureDaemon(config, { env, token, progress: startProgress('starting the telepty daemon…') });
  return new DaemonClient(ensured, config, ensured.started);
}
