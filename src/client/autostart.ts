import { spawn } from 'node:child_process';
import { closeSync, openSync, promises as fs } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { TeleptyError } from '../protocol/errors.js';
import { type TeleptyConfig, processEnv } from '../util/config.js';
import { UNUSABLE_HOME_FIX } from '../util/paths.js';
import { isOwnAddress } from '../util/listen-host.js';
import { ensureDir, isErrno } from '../util/files.js';
import { sleep } from '../util/async.js';
import { noProgress, type Progress } from './progress.js';
import { findDaemon, readToken, type DaemonHandle } from '../wire/discovery.js';

/** A cold node start plus claim takes ~0.3 s here; a loaded 2-core CI machine gets ample slack. */
export const AUTOSTART_TIMEOUT_MS = 15_000;
/** How often to look for the new daemon's claim while it starts. */
const AUTOSTART_POLL_MS = 40;
/** Lines of the daemon log quoted when it fails to start. */
const LOG_TAIL_LINES = 8;

export const BIN_PATH = fileURLToPath(new URL('../../bin/telepty.js', import.meta.url));

export interface EnsureOptions {
  env?: NodeJS.ProcessEnv;
  token: string | undefined;
  progress?: Progress;
  timeoutMs?: number;
}

/** `started`: the daemon that answers is the one this call spawned (not another that won the race). */
export type EnsuredDaemon = DaemonHandle & { started: boolean };

/** Start `telepty daemon` detached on the configured host and port, its output appended to the daemon log. */
export async function spawnDetachedDaemon(config: TeleptyConfig, env: NodeJS.ProcessEnv): Promise<{ pid: number | undefined; exited: Promise<number | null> }> {
  let fd: number;
  try {
    await ensureDir(config.paths.logDir);
    fd = openSync(config.paths.daemonLog, 'a', 0o600);
  } catch (err) {
    // A home on a read-only disk, or a folder of someone else's: said as such, not as a bare EROFS.
    if (!(err instanceof Error && 'code' in err)) throw err;
    throw new TeleptyError('DAEMON_START_FAILED', `the telepty daemon cannot start: its log ${config.paths.daemonLog} cannot be written (${err.message}); ${UNUSABLE_HOME_FIX}`, { log_file: config.paths.daemonLog });
  }
  try {
    const child = spawn(process.execPath, [BIN_PATH, 'daemon'], {
      detached: true,
      stdio: ['ignore', fd, fd],
      env: { ...env, TELEPTY_HOST: config.host, TELEPTY_PORT: String(config.port) },
    });
    const exited = new Promise<number | null>((resolve) => {
      child.once('exit', (code) => resolve(code));
      child.once('error', () => resolve(-1));
    });
    child.unref();
    return { pid: child.pid, exited };
  } finally {
    closeSync(fd);
  }
}

/** The log's size now: what a start appends comes after it (earlier starts' lines are not this one's story). */
async function logSize(file: string): Promise<number> {
  try {
    return (await fs.stat(file)).size;
  } catch (err) {
    if (isErrno(err, 'ENOENT')) return 0;
    throw err;
  }
}

/**
 * On a full disk the daemon cannot even log why it could not start (its log is on that disk): say it here.
 * Empty when the disk has room (or cannot be asked).
 */
async function fullDiskNote(log: string): Promise<string> {
  const free = await fs.statfs(path.dirname(log)).then(
    (s) => s.bavail,
    () => null,
  );
  return free === 0 ? `: no space left on the disk holding ${path.dirname(log)}, so it could not write its files or its log` : '';
}

/** The last lines this start wrote to the log, a line repeated back to back shown once. */
async function logTail(file: string, from: number): Promise<string[]> {
  let text: string;
  try {
    text = (await fs.readFile(file)).subarray(from).toString('utf8');
  } catch (err) {
    return [`(log unreadable: ${(err as Error).message})`];
  }
  const lines = text.trimEnd().split('\n').filter((l, i, all) => l.trim() !== '' && l !== all[i - 1]);
  return lines.slice(-LOG_TAIL_LINES);
}

/** The daemon's own reason, from its last `telepty: … [CODE]` line, with what to do about a taken port. */
export function startFailure(config: TeleptyConfig, why: string, tail: string[]): TeleptyError {
  const said = [...tail].reverse().find((l) => l.startsWith('telepty: '));
  const reason = said ? said.replace(/^telepty: /, '').replace(/ \[[A-Z_]+\]$/, '') : why;
  const hint = /in use by another program/.test(reason) ? `; stop that program or choose a free port, e.g. TELEPTY_PORT=${config.port === 65535 ? 38480 : config.port + 1}` : '';
  return new TeleptyError('DAEMON_START_FAILED', `the telepty daemon did not start: ${reason}${hint} (log: ${config.paths.daemonLog})`, {
    log_file: config.paths.daemonLog,
    log_tail: tail,
  });
}

/** Find the daemon, starting it when absent (loopback only), and wait for it with a bound. */
export async function ensureDaemon(config: TeleptyConfig, opts: EnsureOptions): Promise<EnsuredDaemon> {
  const found = await findDaemon(config, opts.token);
  if (found) return { ...found, started: false };
  // No claim of this home names a daemon. Before starting one on the default port, ask what holds it: another
  // home's daemon there is refused by name (DAEMON_MISMATCH), never driven, and never raced by a doomed start.
  if (!config.addressExplicit && config.port !== 0) {
    const atPort = await findDaemon({ ...config, addressExplicit: true }, opts.token);
    if (atPort) return { ...atPort, started: false };
  }
  if (!isOwnAddress(config.host)) {
    throw new TeleptyError('DAEMON_UNREACHABLE', `no telepty daemon answers at ${config.host}:${config.port}, and one is only auto-started on this machine`);
  }
  const progress = opts.progress ?? noProgress;
  progress.update('starting the telepty daemon…');
  const logStart = await logSize(config.paths.daemonLog);
  const { pid, exited } = await spawnDetachedDaemon(config, opts.env ?? processEnv());
  let exitCode: number | null | undefined;
  void exited.then((code) => (exitCode = code));
  const timeoutMs = opts.timeoutMs ?? AUTOSTART_TIMEOUT_MS;
  const deadline = Date.now() + timeoutMs;
  // The first daemon of a home writes its token file as it starts: a daemon beyond loopback (an interface's address)
  // asks this machine's own requests for it too.
  let token = opts.token;
  try {
    for (;;) {
      token ??= await readToken(config, opts.env ?? processEnv());
      const handle = await findDaemon(config, token);
      // Several starters may race: the one whose daemon won the claim started it; the others found it running.
      if (handle) return { ...handle, started: handle.meta.pid === pid };
      if (exitCode !== undefined && exitCode !== 0) {
        throw startFailure(config, `it exited with code ${exitCode}${await fullDiskNote(config.paths.daemonLog)}`, await logTail(config.paths.daemonLog, logStart));
      }
      if (Date.now() >= deadline) throw startFailure(config, `no answer within ${timeoutMs} ms`, await logTail(config.paths.daemonLog, logStart));
      await sleep(AUTOSTART_POLL_MS);
    }
  } finally {
    progress.done();
  }
}
