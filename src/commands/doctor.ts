import { promises as fs } from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';
import type { Command } from 'commander';
import { findRunningDaemon, type DaemonHandle } from '../client/local-daemon.js';
import { isTeleptyError } from '../protocol/errors.js';
import { loadConfig, type TeleptyConfig, processEnv } from '../util/config.js';
import { UNUSABLE_HOME_FIX } from '../util/paths.js';
import { isErrno } from '../util/files.js';
import { packageVersion } from '../util/version.js';
import { EXIT } from '../ui/exit.js';
import { printJson, printLine, useColor } from '../ui/print.js';
import { examples } from './command-module.js';
import { checkFleet } from './doctor-fleet.js';
import { portTaken } from '../util/port.js';

export type CheckStatus = 'ok' | 'warning' | 'error';

export interface Check {
  check: string;
  status: CheckStatus;
  detail: string;
  /** What to do about a warning or an error. */
  fix?: string;
}

/** The oldest Node this build supports (package.json engines). */
const NODE_MIN: [number, number] = [20, 19];

/** AI CLIs telepty knows how to drive; found on the PATH they are listed (hooks come with agent state). */
const KNOWN_AGENTS = ['claude', 'codex', 'gemini', 'opencode'];

export function checkNode(version: string = process.versions.node): Check {
  const [major = 0, minor = 0] = version.split('.').map(Number);
  const ok = major > NODE_MIN[0] || (major === NODE_MIN[0] && minor >= NODE_MIN[1]);
  return ok
    ? { check: 'node', status: 'ok', detail: `Node.js ${version}` }
    : { check: 'node', status: 'error', detail: `Node.js ${version} is older than ${NODE_MIN.join('.')}`, fix: `install Node.js ${NODE_MIN.join('.')} or newer` };
}

function checkModule(name: string, what: string, fix: string): Check {
  try {
    createRequire(import.meta.url)(name);
    return { check: name, status: 'ok', detail: `${what} loads` };
  } catch (err) {
    return { check: name, status: 'error', detail: `${what} does not load: ${(err as Error).message.split('\n')[0] ?? ''}`, fix };
  }
}

/** The daemon's checks, and the daemon when one runs and answers (the fleet's check asks it next). */
async function checkDaemon(config: TeleptyConfig): Promise<{ checks: Check[]; handle: DaemonHandle | null }> {
  let handle;
  try {
    handle = await findRunningDaemon(config);
  } catch (err) {
    if (!isTeleptyError(err)) throw err;
    return { checks: [{ check: 'daemon', status: 'error', detail: `the daemon refused us: ${err.message} [${err.code}]`, fix: 'check TELEPTY_TOKEN and the token file' }], handle: null };
  }
  if (!handle) {
    // Something else listening there means this CLI cannot start the daemon on it.
    const taken = await portTaken(config.host, config.port);
    const checks: Check[] = [
      { check: 'daemon', status: 'ok', detail: 'not running (the next command starts it)' },
      taken
        ? { check: 'port', status: 'error', detail: `${config.host}:${config.port} is taken by another program`, fix: `stop that program, or choose another port: export TELEPTY_PORT=${config.port + 1}` }
        : { check: 'port', status: 'ok', detail: `${config.host}:${config.port} is free` },
    ];
    return { checks, handle: null };
  }
  const { meta } = handle;
  const mine = packageVersion();
  const checks: Check[] = [
    { check: 'daemon', status: 'ok', detail: `running: pid ${meta.pid} at ${meta.host}:${meta.port}` },
    meta.version === mine
      ? { check: 'daemon version', status: 'ok', detail: `${meta.version}, the same as this CLI` }
      : { check: 'daemon version', status: 'warning', detail: `the daemon runs ${meta.version}, this CLI is ${mine}`, fix: 'telepty daemon restart (sessions keep running)' },
  ];
  return { checks, handle };
}

async function checkToken(config: TeleptyConfig): Promise<Check> {
  const file = config.paths.tokenFile;
  try {
    const st = await fs.stat(file);
    const mode = st.mode & 0o777;
    return mode & 0o077
      ? { check: 'token', status: 'warning', detail: `${file} is readable by others (mode ${mode.toString(8)})`, fix: `chmod 600 ${file}` }
      : { check: 'token', status: 'ok', detail: `${file} (mode 600)` };
  } catch (err) {
    if (isErrno(err, 'ENOENT')) return { check: 'token', status: 'ok', detail: 'no token file yet (the daemon writes one)' };
    throw err;
  }
}

/**
 * Whether the home can be used, tried as the daemon would use it (access(2) lets root "write" anywhere, /proc too): a
 * file created and removed in it, or, when it does not exist yet, its first missing folder made and removed again.
 * Leaves nothing behind.
 */
async function checkHome(config: TeleptyConfig): Promise<Check> {
  const dir = path.dirname(config.paths.stateFile);
  const fix = UNUSABLE_HOME_FIX;
  const unusable = (why: string): Check => ({ check: 'home', status: 'error', detail: `${dir} cannot be used: ${why}`, fix });
  let missing: string | null = null;
  for (let at = dir; ; at = path.dirname(at)) {
    let st;
    try {
      st = await fs.stat(at);
    } catch (err) {
      if (!isErrno(err, 'ENOENT') && !isErrno(err, 'ENOTDIR')) throw err;
      if (path.dirname(at) === at) return unusable((err as Error).message);
      missing = at;
      continue;
    }
    if (!st.isDirectory()) return unusable(`${at} is a file, not a folder`);
    break;
  }
  try {
    if (missing !== null) {
      await fs.mkdir(missing);
      await fs.rmdir(missing);
      return { check: 'home', status: 'ok', detail: `${dir} does not exist yet (made on first use)` };
    }
    const probe = path.join(dir, `.doctor-${process.pid}`);
    await (await fs.open(probe, 'wx', 0o600)).close();
    await fs.unlink(probe);
    return { check: 'home', status: 'ok', detail: `${dir} is writable` };
  } catch (err) {
    if (!(err instanceof Error && 'code' in err)) throw err;
    return unusable(missing !== null ? `${missing} cannot be made (${err.message})` : `it is not writable (${err.message})`);
  }
}

/** The first executable called `name` on PATH, or null. */
async function onPath(name: string, pathEnv: string = processEnv().PATH ?? ''): Promise<string | null> {
  for (const dir of pathEnv.split(path.delimiter).filter(Boolean)) {
    const file = path.join(dir, name);
    try {
      await fs.access(file, fs.constants.X_OK);
      return file;
    } catch (err) {
      if (!isErrno(err, 'ENOENT') && !isErrno(err, 'EACCES') && !isErrno(err, 'ENOTDIR')) throw err;
    }
  }
  return null;
}

async function checkAgents(): Promise<Check[]> {
  const found: string[] = [];
  for (const name of KNOWN_AGENTS) {
    const at = await onPath(name);
    if (at) found.push(`${name} (${at})`);
  }
  return [{ check: 'AI CLIs', status: 'ok', detail: found.length > 0 ? `found: ${found.join(', ')}` : `none of ${KNOWN_AGENTS.join(', ')} on the PATH` }];
}

/**
 * The configuration, or (a TELEPTY_PORT every other command refuses) the error that says so and the configuration
 * without it, so the other checks still run.
 */
async function configOrError(env: NodeJS.ProcessEnv): Promise<{ config: TeleptyConfig; error: Check | null }> {
  try {
    return { config: await loadConfig(env), error: null };
  } catch (err) {
    if (!isTeleptyError(err)) throw err;
    const error: Check = { check: 'config', status: 'error', detail: err.message, fix: 'unset TELEPTY_PORT, or set it to a port number: export TELEPTY_PORT=3848' };
    return { config: await loadConfig({ ...env, TELEPTY_PORT: undefined }), error };
  }
}

export async function runChecks(env: NodeJS.ProcessEnv = processEnv()): Promise<Check[]> {
  const { config, error } = await configOrError(env);
  const home = await checkHome(config);
  // A home that cannot be used holds no token file nor daemon state to look at, and no daemon can start with it.
  const homeOk = home.status !== 'error';
  const daemon = error || !homeOk ? { checks: [], handle: null } : await checkDaemon(config);
  return [
    ...(error ? [error] : []),
    checkNode(),
    checkModule('node-pty', 'node-pty (the PTY addon)', 'rebuild it: npm rebuild node-pty (Debian: apt-get install python3 make g++; offline: npm_config_nodedir=/usr)'),
    checkModule('@xterm/headless', '@xterm/headless (the screen model)', 'reinstall the dependencies: npm ci in the telepty folder'),
    home,
    ...(homeOk ? [await checkToken(config)] : []),
    // With a TELEPTY_PORT no command accepts, no daemon is reached at all: its port is not looked at.
    ...daemon.checks,
    ...(await checkFleet(config, env, daemon.handle)),
    ...(await checkAgents()),
  ];
}

export function register(program: Command): void {
  program
    .command('doctor')
    .description('check Node, node-pty, the daemon (running, version), the token file, the port, the fleet and known AI CLIs; says how to fix what is wrong')
    .option('--json', 'print the checks as JSON')
    .addHelpText('after', examples(['telepty doctor', 'telepty doctor --json | jq \'.[] | select(.status != "ok")\'']) + '\nExit status: 0 no errors (warnings allowed), 1 an error. It never starts the daemon.\n')
    .action(async (opts: { json?: boolean }) => {
      const checks = await runChecks();
      if (opts.json) printJson(checks);
      else {
        const chalk = useColor() ? (await import('chalk')).default : null;
        const label = { ok: chalk ? chalk.green('ok     ') : 'ok     ', warning: chalk ? chalk.yellow('warning') : 'warning', error: chalk ? chalk.red('error  ') : 'error  ' };
        for (const c of checks) printLine(`${label[c.status]}  ${c.check}: ${c.detail}${c.fix ? `\n         fix: ${c.fix}` : ''}`);
      }
      if (checks.some((c) => c.status === 'error')) process.exitCode = EXIT.FAILURE;
    });
}
