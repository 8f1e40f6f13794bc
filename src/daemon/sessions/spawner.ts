import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { constants, promises as fs } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { TeleptyError } from '../../protocol/errors.js';
import { SESSION_ID_MAX_LENGTH } from '../../protocol/ids.js';
import type { SpawnRequest } from '../../protocol/session.js';
import { DEFAULT_TERM, sessionEnv } from '../../host/env.js';
import type { HostSpec } from '../../host/session-host.js';
import { ensureDir, isErrno } from '../../util/files.js';
import type { Logger } from '../../util/log.js';
import type { SessionEntry, SessionRegistry } from './registry.js';

const HOST_MAIN = fileURLToPath(new URL('../../host/main.js', import.meta.url));
/** A host that failed to register gets this long after SIGTERM to end its child's session. */
const FAILED_HOST_KILL_GRACE_MS = 3_000;
/** Lines of a failed host's log quoted in the error. */
const LOG_TAIL_LINES = 6;

export interface SpawnerDeps {
  registry: SessionRegistry;
  log: Logger;
  hostLogDir: string;
  /** The daemon's environment: the base of every session's (the request's env overrides it). */
  env: NodeJS.ProcessEnv;
  homeDir: string;
  /** Bound on a new host starting its child and registering. */
  spawnTimeoutMs: number;
}

async function statOrNull(p: string): Promise<import('node:fs').Stats | null> {
  try {
    return await fs.stat(p);
  } catch (err) {
    if (isErrno(err, 'ENOENT') || isErrno(err, 'ENOTDIR') || isErrno(err, 'ENAMETOOLONG') || isErrno(err, 'ELOOP')) return null;
    throw err;
  }
}

async function isExecutableFile(p: string): Promise<boolean> {
  const st = await statOrNull(p);
  if (!st?.isFile()) return false;
  try {
    await fs.access(p, constants.X_OK);
    return true;
  } catch (err) {
    if (isErrno(err, 'EACCES')) return false;
    throw err;
  }
}

/** A cwd must be an absolute path to an existing directory; checked before anything is registered. */
export async function checkCwd(cwd: string): Promise<string> {
  if (!path.isAbsolute(cwd)) throw new TeleptyError('INVALID_CWD', `cwd must be an absolute path, got ${JSON.stringify(cwd.slice(0, 200))}`);
  const st = await statOrNull(cwd);
  if (!st) throw new TeleptyError('INVALID_CWD', `cwd ${JSON.stringify(cwd.slice(0, 200))} does not exist`);
  if (!st.isDirectory()) throw new TeleptyError('INVALID_CWD', `cwd ${JSON.stringify(cwd.slice(0, 200))} is not a directory`);
  return cwd;
}

/** The absolute path of an executable: as given when it has a slash, else the first match on PATH. */
export async function resolveCommand(command: string, cwd: string, pathVar: string | undefined): Promise<string> {
  if (command.includes('/')) {
    const p = path.resolve(cwd, command);
    if (await isExecutableFile(p)) return p;
    throw new TeleptyError('INVALID_COMMAND', `${JSON.stringify(command.slice(0, 200))} is not an executable file`);
  }
  for (const dir of (pathVar ?? '').split(':').filter(Boolean)) {
    const p = path.join(dir, command);
    if (await isExecutableFile(p)) return p;
  }
  throw new TeleptyError('INVALID_COMMAND', `command not found: ${JSON.stringify(command.slice(0, 200))}`);
}

/** `<folder>-<command>` made into a valid id. */
export function deriveSessionId(cwd: string, command: string): string {
  const raw = `${path.basename(cwd) || 'root'}-${path.basename(command)}`;
  const cleaned = raw.replace(/[^A-Za-z0-9._-]+/g, '-').replace(/^[^A-Za-z0-9]+/, '').slice(0, SESSION_ID_MAX_LENGTH - 4);
  return cleaned || 'session';
}

async function logTail(file: string): Promise<string> {
  const text = await fs.readFile(file, 'utf8').catch((err: unknown) => `(host log unreadable: ${(err as Error).message})`);
  return text.trimEnd().split('\n').slice(-LOG_TAIL_LINES).join('\n');
}

/** Starts detached session hosts for `spawn` and waits until each has registered. */
export class Spawner {
  constructor(private readonly deps: SpawnerDeps) {}

  async spawn(req: SpawnRequest): Promise<SessionEntry> {
    const { registry } = this.deps;
    const cwd = await checkCwd(req.cwd ?? this.deps.homeDir);
    const env = { ...this.deps.env, ...req.env };
    const file = await resolveCommand(req.command, cwd, env.PATH);
    const id = req.session_id ?? registry.uniqueId(deriveSessionId(cwd, req.command));
    registry.reserve(id);
    try {
      return await this.startHost(id, file, req, cwd, env);
    } finally {
      registry.release(id);
    }
  }

  private async startHost(id: string, file: string, req: SpawnRequest, cwd: string, env: NodeJS.ProcessEnv): Promise<SessionEntry> {
    const instance = randomBytes(16).toString('hex');
    const spec: HostSpec = {
      session_id: id,
      id_flexible: false,
      host_instance: instance,
      type: 'spawned',
      command: req.command,
      file,
      args: req.args,
      cwd,
      env: sessionEnv(env, {}, id),
      cols: req.cols,
      rows: req.rows,
      term: DEFAULT_TERM,
    };
    await ensureDir(this.deps.hostLogDir);
    const logFile = path.join(this.deps.hostLogDir, `${id}.log`);
    const log = await fs.open(logFile, 'a', 0o600);
    const abort = new AbortController();
    const registered = this.deps.registry.waitForInstance(instance, abort.signal);
    let child;
    try {
      // The host runs with the daemon's environment (it must find this daemon); the child's is in the spec.
      child = spawn(process.execPath, [HOST_MAIN], { detached: true, stdio: ['pipe', log.fd, log.fd], env: this.deps.env });
    } finally {
      await log.close();
    }
    child.stdin?.on('error', (err) => this.deps.log.warn(`host stdin for ${id}: ${err.message}`));
    child.stdin?.end(JSON.stringify(spec));
    child.unref();
    const exited = new Promise<never>((_resolve, reject) => {
      child.once('exit', (code, signal) => {
        void logTail(logFile).then((tail) =>
          reject(new TeleptyError('INVALID_COMMAND', `the session host exited (${signal ?? `code ${code}`}) before registering; its log ${logFile}:\n${tail}`)),
        );
      });
      child.once('error', (err) => reject(new TeleptyError('INTERNAL', `could not start a session host: ${err.message}`)));
    });
    const timer = setTimeout(() => abort.abort(new TeleptyError('SPAWN_TIMEOUT', `the session host did not register within ${this.deps.spawnTimeoutMs} ms; see ${logFile}`)), this.deps.spawnTimeoutMs);
    try {
      const entry = await Promise.race([registered, exited]);
      this.deps.log.info(`spawned ${id}: ${req.command} (host pid ${child.pid}, child pid ${entry.pid})`);
      return entry;
    } catch (err) {
      // Our own child process handle: safe to signal (its pid cannot be reused while we hold it). SIGTERM lets
      // the host end its child's session; SIGKILL follows if it does not go.
      if (child.exitCode === null && child.signalCode === null) {
        child.kill('SIGTERM');
        setTimeout(() => {
          if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
        }, FAILED_HOST_KILL_GRACE_MS).unref();
      }
      throw err;
    } finally {
      clearTimeout(timer);
      abort.abort();
      // The race's loser settles later; note it instead of leaving an unhandled rejection.
      for (const p of [registered, exited]) p.catch((err: unknown) => this.deps.log.debug(`spawn ${id} (settled late): ${(err as Error).message}`));
    }
  }
}
