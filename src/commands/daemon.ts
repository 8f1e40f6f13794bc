import type { Command } from 'commander';
import { ensureDaemon } from '../client/autostart.js';
import { findRunningDaemon, readToken, removeStaleClaim, unansweredClaim, type DaemonHandle } from '../client/local-daemon.js';
import { stopFound, STOP_TIMEOUT_MS } from '../client/stop.js';
import { TeleptyError } from '../protocol/errors.js';
import { loadConfig, parsePort, type TeleptyConfig } from '../util/config.js';
import { checkListenHost } from '../util/listen-host.js';
import { EXIT } from '../ui/exit.js';
import { formatDuration, printFields, printJson, printLine } from '../ui/print.js';
import { startProgress } from '../ui/progress.js';
import { register as registerRestart } from './daemon-restart.js';
import { warnIfFleetUnusable } from './fleet-check.js';
import { examples } from './command-module.js';
import { parseSeconds } from './options.js';

interface AddressOptions {
  host?: string;
  port?: string;
}

/** The config of a daemon to start here: its address checked first (a bad --host is a usage error, exit 2). */
async function configWith(opts: AddressOptions): Promise<TeleptyConfig> {
  const config = await loadConfig();
  if (opts.host) config.host = opts.host;
  if (opts.port !== undefined) config.port = parsePort(opts.port, '--port');
  if (opts.host || opts.port !== undefined) config.addressExplicit = true;
  await checkListenHost(config.host, opts.host ? '--host' : 'TELEPTY_HOST');
  return config;
}

function describe(handle: DaemonHandle, config: TeleptyConfig): Record<string, unknown> {
  const { meta } = handle;
  return {
    running: true,
    pid: meta.pid,
    host: meta.host,
    port: meta.port,
    version: meta.version,
    machine_id: meta.machine_id,
    started_at: meta.started_at,
    uptime_seconds: meta.uptime_seconds,
    state_file: config.paths.stateFile,
    log_file: config.paths.daemonLog,
  };
}

async function start(opts: AddressOptions & { json?: boolean }): Promise<void> {
  const config = await configWith(opts);
  const token = await readToken(config);
  const ensured = await ensureDaemon(config, { token, progress: startProgress('starting the telepty daemon…') });
  const info = { ...describe(ensured, config), started: ensured.started };
  // Only a daemon this command started has this environment's fleet settings.
  if (ensured.started) await warnIfFleetUnusable(config);
  if (opts.json) printJson(info);
  else if (ensured.started) printLine(`telepty daemon started (pid ${ensured.meta.pid}, port ${ensured.meta.port})`);
  else printLine(`telepty daemon already running (pid ${ensured.meta.pid}, port ${ensured.meta.port})`);
}

/** What `status` and `stop` say of a claim whose pid lives on and gives no answer. */
function notAnswering(subject: string, claim: { pid: number; host: string; port: number }): string {
  return `${subject} is not answering: pid ${claim.pid}, named by the state file, is alive but gave no answer at ${claim.host}:${claim.port} (a stopped or hung daemon, or another program that reuses the pid)`;
}

async function stop(opts: { json?: boolean; timeout?: string }): Promise<void> {
  const config = await loadConfig();
  // Checked before anything is done: a bad value is a usage error (exit 2), not a stop that "did not stop within NaN ms".
  const timeoutMs = opts.timeout === undefined ? STOP_TIMEOUT_MS : parseSeconds(opts.timeout, '--timeout');
  const handle = await findRunningDaemon(config);
  if (!handle) {
    const claim = await unansweredClaim(config);
    // Alive but silent (Ctrl-Z, SIGSTOP, hung): never taken for gone, and never signalled (its identity is unproven).
    if (claim.kind === 'silent') {
      throw new TeleptyError(
        'TIMEOUT',
        `${notAnswering('the daemon', claim)}; it was not stopped and its state file is kept: if it was stopped (Ctrl-Z, SIGSTOP), resume it (kill -CONT ${claim.pid}) and run \`telepty daemon stop\` again; if it hung, end it (kill ${claim.pid}) once you know that pid is the daemon`,
        { not_answering: { pid: claim.pid, host: claim.host, port: claim.port } },
      );
    }
    // Not running. A state file left behind by a killed daemon is removed (only if it is still the same stale file).
    const removed = await removeStaleClaim(config);
    if (opts.json) printJson({ running: false, stopped: false, removed_stale_state: removed });
    else printLine(removed ? 'telepty daemon was not running (removed its stale state file)' : 'telepty daemon is not running');
    return;
  }
  const pid = handle.meta.pid;
  await stopFound(config, handle, timeoutMs);
  if (opts.json) printJson({ running: false, stopped: true, pid });
  else printLine(`telepty daemon stopped (pid ${pid})`);
}

async function status(opts: { json?: boolean }): Promise<void> {
  const config = await loadConfig();
  const handle = await findRunningDaemon(config);
  if (!handle) {
    const claim = await unansweredClaim(config);
    // A claim whose pid lives on, with no answer: a daemon stopped (Ctrl-Z on `telepty daemon`) or hung, not gone.
    const silent = claim.kind === 'silent' ? claim : null;
    const stale = claim.kind === 'stale';
    if (opts.json) {
      printJson({ running: false, stale_state: stale, ...(silent ? { not_answering: { pid: silent.pid, host: silent.host, port: silent.port } } : {}), state_file: config.paths.stateFile, log_file: config.paths.daemonLog });
    } else if (silent) {
      printLine(`${notAnswering('telepty daemon', silent)}; see ${config.paths.daemonLog}`);
    } else printLine(`telepty daemon is not running${stale ? ' (a stale state file is present; `telepty daemon stop` removes it)' : ''}`);
    process.exitCode = EXIT.NOT_FOUND;
    return;
  }
  const info = describe(handle, config);
  if (opts.json) {
    printJson(info);
    return;
  }
  printFields([
    ['status', 'running'],
    ['pid', handle.meta.pid],
    ['address', `${handle.meta.host}:${handle.meta.port}`],
    ['version', handle.meta.version],
    ['machine_id', handle.meta.machine_id],
    ['uptime', formatDuration(handle.meta.uptime_seconds)],
    ['state file', config.paths.stateFile],
    ['log file', config.paths.daemonLog],
  ]);
}

export function register(program: Command): void {
  const daemon = program
    .command('daemon')
    .description('run the telepty daemon in the foreground (logs to stderr); see the subcommands to manage it in the background')
    .option('--host <host>', 'address to listen on (default $TELEPTY_HOST or 127.0.0.1)')
    .option('--port <port>', 'port to listen on, 0 for any free port (default $TELEPTY_PORT or 3848)')
    // `daemon start --port P`: options after a subcommand are the subcommand's (the parent swallowed them).
    .enablePositionalOptions()
    .addHelpText(
      'after',
      examples([
        'telepty daemon                 # foreground, Ctrl-C stops it',
        'telepty daemon start           # background; returns once it answers',
        'telepty daemon status --json',
        'telepty daemon stop',
        'telepty daemon restart         # e.g. after an upgrade; sessions are kept',
      ]) + '\nExit status: 0 ok (also when a daemon already serves this TELEPTY_HOME), 1 failure; `status` exits 3 when not running.\n',
    )
    .action(async (opts: AddressOptions) => {
      const { runDaemonForeground } = await import('../daemon/main.js');
      const result = await runDaemonForeground(await configWith(opts));
      process.exitCode = result.exitCode;
    });

  daemon
    .command('start')
    .description('start the daemon in the background (detached, output to the daemon log) and wait until it answers')
    .option('--host <host>', 'address to listen on')
    .option('--port <port>', 'port to listen on')
    .option('--json', 'print the daemon status as JSON')
    .addHelpText(
      'after',
      examples(['telepty daemon start', 'telepty daemon start --port 38480 --json', 'TELEPTY_PORT=38480 telepty list   # later commands find it by the same port']) +
        '\nExit status: 0 started or already running, 1 it could not start (the message names its log), 2 a bad --port or --host.\n',
    )
    .action(start);

  daemon
    .command('stop')
    .description('stop the daemon gracefully (sessions keep running and reconnect to the next daemon)')
    .option('--timeout <seconds>', 'how long to wait for it to exit')
    .option('--json', 'print the result as JSON')
    .addHelpText(
      'after',
      examples(['telepty daemon stop', 'telepty daemon stop --timeout 30 --json']) +
        '\nExit status: 0 stopped or not running, 5 it could not be stopped in time, or its pid is alive and does not answer (stopped with Ctrl-Z or SIGSTOP, or hung: nothing is done to it).\n',
    )
    .action(stop);

  registerRestart(daemon);

  daemon
    .command('status')
    .description('show whether the daemon runs, its pid, address, version and uptime (exit 3 when not running)')
    .option('--json', 'print the status as JSON')
    .addHelpText('after', examples(['telepty daemon status', "telepty daemon status --json | jq .pid"]) + '\nExit status: 0 running, 3 not running.\n')
    .action(status);
}
