import type { Command } from 'commander';
import { ensureDaemon } from '../client/autostart.js';
import { callEndpoint } from '../client/daemon-client.js';
import { findRunningDaemon, readToken, type DaemonHandle } from '../client/local-daemon.js';
import { listSessionsOp } from '../protocol/ops/sessions.js';
import { stopFound, STOP_TIMEOUT_MS } from '../client/stop.js';
import type { SessionObject } from '../protocol/session.js';
import { sleep } from '../util/async.js';
import { loadConfig, parsePort } from '../util/config.js';
import { checkListenHost } from '../util/listen-host.js';
import { isProcessAlive } from '../util/process.js';
import { printJson, printLine } from '../ui/print.js';
import { startProgress } from '../ui/progress.js';
import { examples } from './command-module.js';
import { warnIfFleetUnusable } from './fleet-check.js';
import { parseSeconds } from './options.js';

interface RestartOptions {
  host?: string;
  port?: string;
  timeout?: string;
  json?: boolean;
}

/** What `daemon restart --json` prints. */
export interface RestartResult {
  /** False when no daemon was running (it was only started). */
  restarted: boolean;
  previous_pid: number | null;
  previous_version: string | null;
  pid: number;
  host: string;
  port: number;
  version: string;
  /** Sessions the new daemon knows that have not exited, and how many of them are connected. */
  sessions: number;
  connected: number;
}

/**
 * The new daemon answers once the hosts it expects are back or its own short bound passed; a restart asked for
 * explicitly waits a little longer for hosts that are alive but slow (a loaded machine), then reports what it sees.
 */
const RESTART_RECONNECT_WAIT_MS = 5_000;
const RESTART_POLL_MS = 100;

async function sessionsBack(endpoint: DaemonHandle['endpoint']): Promise<SessionObject[]> {
  const deadline = Date.now() + RESTART_RECONNECT_WAIT_MS;
  for (;;) {
    const live = (await callEndpoint(endpoint, listSessionsOp)).filter((s) => s.status !== 'exited');
    const away = live.filter((s) => s.status !== 'connected' && s.host_pid !== null);
    const comingBack = (await Promise.all(away.map((s) => isProcessAlive(s.host_pid as number)))).some(Boolean);
    if (!comingBack || Date.now() >= deadline) return live;
    await sleep(RESTART_POLL_MS);
  }
}

/**
 * Stop the running daemon (sessions keep running) and start a new one on the same address (or the one given):
 * every session's host reconnects to it. The new daemon answers about sessions only once their live hosts are back
 * (bounded), so the counts printed are the sessions kept.
 */
async function restart(opts: RestartOptions): Promise<void> {
  const config = await loadConfig();
  // Every option is checked before the running daemon is stopped: a typo must not leave the user without one.
  const port = opts.port === undefined ? undefined : parsePort(opts.port, '--port');
  if (opts.host) await checkListenHost(opts.host, '--host');
  const timeoutMs = opts.timeout === undefined ? STOP_TIMEOUT_MS : parseSeconds(opts.timeout, '--timeout');
  const token = await readToken(config);
  const previous = await findRunningDaemon(config, token);
  if (previous) {
    // Keep the address peers and hosts know, unless another is asked for.
    if (opts.host === undefined) config.host = previous.meta.host;
    if (port === undefined) config.port = previous.meta.port;
    await stopFound(config, previous, timeoutMs);
  }
  if (opts.host) config.host = opts.host;
  if (port !== undefined) config.port = port;
  const started = await ensureDaemon(config, { token, progress: startProgress('starting the telepty daemon…') });
  const live = await sessionsBack(started.endpoint);
  await warnIfFleetUnusable(config);
  const result: RestartResult = {
    restarted: previous !== null,
    previous_pid: previous?.meta.pid ?? null,
    previous_version: previous?.meta.version ?? null,
    pid: started.meta.pid,
    host: started.meta.host,
    port: started.meta.port,
    version: started.meta.version,
    sessions: live.length,
    connected: live.filter((s) => s.status === 'connected').length,
  };
  if (opts.json) {
    printJson(result);
    return;
  }
  const kept = `${result.connected} of ${result.sessions} session${result.sessions === 1 ? '' : 's'} connected`;
  if (previous) printLine(`telepty daemon restarted (pid ${previous.meta.pid} → ${result.pid}, ${result.version}, port ${result.port}); ${kept}`);
  else printLine(`telepty daemon was not running; started it (pid ${result.pid}, ${result.version}, port ${result.port}); ${kept}`);
}

export function register(daemon: Command): void {
  daemon
    .command('restart')
    .description('stop the daemon and start a new one (e.g. after an upgrade); every session keeps running and reconnects')
    .option('--host <host>', 'address for the new daemon (default: the one the running daemon listens on)')
    .option('--port <port>', 'port for the new daemon (default: the one the running daemon listens on)')
    .option('--timeout <seconds>', 'how long to wait for the running daemon to exit')
    .option('--json', 'print {restarted, previous_pid, previous_version, pid, host, port, version, sessions, connected}')
    .addHelpText(
      'after',
      examples([
        'telepty daemon restart            # after upgrading telepty: the new version serves the same sessions',
        'telepty daemon restart --json',
        'telepty daemon restart --port 3849',
      ]) + '\nStarts the daemon when none runs. Exit status: 0 ok, 1 failure (e.g. the new daemon did not start), 5 when the running daemon did not stop.\n',
    )
    .action(restart);
}
