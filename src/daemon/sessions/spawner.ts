import { spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { promises as fs } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { TeleptyError } from '../../protocol/errors.js';
import { deriveSessionId } from '../../protocol/ids.js';
import type { SpawnRequest } from '../../protocol/session.js';
import { DEFAULT_TERM, type HostSpec } from '../../protocol/host-spec.js';
import type { RecordSpec } from '../../protocol/recording.js';
import { checkRecordable, resolveRecordSpec } from '../../util/recording-file.js';
import { sessionEnv } from '../../util/session-env.js';
import { agentHookArgs } from '../../terminal/agent-hooks.js';
import { programFor } from '../../terminal/programs.js';
import { checkCwd, resolveCommand } from '../../util/command.js';
import { ensureDir } from '../../util/files.js';
import type { Logger } from '../../util/log.js';
import type { HostChannels } from './host-channels.js';
import { SESSION_INSTANCE_ENV } from './orphans.js';
import type { SessionEntry, SessionRegistry } from './registry.js';
import { SpareHosts } from './spare-host.js';

/**
 * The session host, bundled into one CommonJS file (scripts/bundle-fast.mjs): an idle host holds ~3 MB less than
 * when it loads ~30 ES modules, and starts sooner. The bundle sits in dist/bundle/, two folders deep like this
 * module, so the same relative URL finds it.
 */
const HOST_MAIN = fileURLToPath(new URL('../../bundle/host.cjs', import.meta.url));
/** The telepty launcher, which the agent hooks of spawned sessions run (`telepty hook`). */
const LAUNCHER_SCRIPT = fileURLToPath(new URL('../../../bin/telepty.js', import.meta.url));
/**
 * Node flags for every host (none). Measured and rejected (bench/host-memory.md): --expose-gc (for the host's
 * quiet-time collection: ~3 ms more CPU at every host's start, on `spawn`'s path; the host sets it at run time
 * instead); --max-semi-space-size=1 (a host after a 40 MB flood held ~+11 MB over idle instead of ~+16-19 MB, but
 * steady keystroke echo was 10-20 % slower in 4 of 4 interleaved runs); =2 and =4 (no gain after a flood);
 * --lite-mode/--jitless (-1 to -3 MB idle, but no optimising compiler for floods); --always-sparkplug (+2.5 MB idle,
 * first keys no faster); --interrupt-budget=8192 (first keys no faster); --v8-pool-size=1, --optimize-for-size,
 * --single-threaded(-gc), --gc-memory-reducer-start-delay-ms=2000 (each within the noise of ±0.5 MB idle);
 * --turbo-filter=-addMany (to spare the one TurboFan compile at start: a V8 flag here costs more than it saves).
 * V8 settings a host does use are set at run time instead (startup-code.ts, quiet-cleanup.ts).
 */
export const HOST_NODE_FLAGS: readonly string[] = [];
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
  /** Where each new host's IPC channel goes (viewers are handed to it). */
  channels: HostChannels;
  /** The host program (default: the bundled session host); tests give a stand-in that reads the same spec. */
  hostMain?: string;
  /** Where `spawn --record` without a file records (paths.recordDir). */
  recordDir?: string;
  /** Where the settings files of telepty's agent hooks are written (issue 19); none are added without it. */
  hooksDir?: string;
  /** Where the session's agent hooks reach this daemon over HTTP (Claude Code's http hooks); absent: command hooks. */
  daemonUrl?: () => string | undefined;
  /** Keep a spare host started ahead of the next spawn (spare-host.ts); default: unless TELEPTY_SPARE_HOST=0 in `env`. */
  spareHost?: boolean;
}

/**
 * The recording a spawn asks for, with its defaults, checked before anything starts: a file that exists is refused
 * (a recording never overwrites one), and so is one that cannot be created.
 */
async function recordSpecFor(req: SpawnRequest, id: string, dir: string | undefined): Promise<RecordSpec | undefined> {
  if (!req.record) return undefined;
  if (!req.record.file && !dir) throw new TeleptyError('INVALID_FIELD', 'no recordings folder is configured: name the file', { field: 'record' });
  const spec = await resolveRecordSpec(req.record, dir ?? '/', id, new Date());
  const exists = await fs.lstat(spec.file).then(
    () => true,
    () => false,
  );
  if (exists) throw new TeleptyError('CONFLICT', `${spec.file} exists already: a recording never overwrites a file`, { file: spec.file });
  // The host opens it once the session runs, and could then only log why it cannot: find out before starting.
  await checkRecordable(spec.file);
  return spec;
}

async function logTail(file: string): Promise<string> {
  const text = await fs.readFile(file, 'utf8').catch((err: unknown) => `(host log unreadable: ${(err as Error).message})`);
  return text.trimEnd().split('\n').slice(-LOG_TAIL_LINES).join('\n');
}

/**
 * Why a host ended before registering, as truthfully as can be told: a full disk (its log could not even be
 * written) is PERSIST_FAILED naming the file; an empty log otherwise says so; a log with lines quotes them.
 */
async function hostExitError(logFile: string, how: string): Promise<TeleptyError> {
  const tail = await logTail(logFile);
  const free = await fs.statfs(path.dirname(logFile)).then(
    (s) => s.bavail,
    (err: unknown) => (err instanceof Error ? err.message : String(err)),
  );
  if (free === 0) {
    return new TeleptyError('PERSIST_FAILED', `the session host exited (${how}) before registering: no space left on the disk holding its log ${logFile}`, { file: logFile });
  }
  if (tail === '') return new TeleptyError('INTERNAL', `the session host exited (${how}) before registering, and its log ${logFile} is empty`, { file: logFile });
  return new TeleptyError('INVALID_COMMAND', `the session host exited (${how}) before registering; its log ${logFile}:\n${tail}`);
}

/**
 * glibc's malloc in a host: one arena. Each thread that allocates (V8's compiler and GC threads) otherwise gets an
 * arena of its own, which keeps what it once held: against 8 arenas, an idle host -0.2 to -0.6 MB and a host after a
 * 40 MB flood -0.1 to -5.9 MB in 4 of 5 pairs (each the other way once), its throughput and first keys the same
 * (bench/host-memory.md). Only the host's: the session's program has its own environment (spec.env). Ignored where
 * the C library is not glibc.
 */
export const HOST_GLIBC_TUNABLES = 'glibc.malloc.arena_max=1';

/**
 * jemalloc, preloaded into hosts where the system has it (Debian/Ubuntu's libjemalloc2, at these paths): glibc's
 * malloc gives back only the top of its heap, and a flood leaves the rows of the scrollback and the read buffers
 * interleaved in it, so a host kept ~12 MB of freed memory after a 40 MB flood; jemalloc returns freed pages
 * (bench/host-memory.md, "after a flood"). TELEPTY_HOST_MALLOC names another library to preload, or `glibc` for none.
 */
export const HOST_MALLOC_LIBRARIES: readonly string[] = [
  '/usr/lib/x86_64-linux-gnu/libjemalloc.so.2',
  '/usr/lib/aarch64-linux-gnu/libjemalloc.so.2',
  '/usr/lib64/libjemalloc.so.2',
  '/usr/lib/libjemalloc.so.2',
];
/**
 * jemalloc's settings in a host: one arena and no thread caches (a cache per V8 thread cost an idle host ~1 MB), and
 * freed pages returned 1 s after they were freed by jemalloc's own thread (without it they wait for the next
 * allocation, which an idle host does not make; returning them at once cost a flood ~70 % more host CPU).
 */
export const HOST_JEMALLOC_CONF = 'narenas:1,tcache:false,background_thread:true,dirty_decay_ms:1000,muzzy_decay_ms:0';

/** The malloc library to preload into hosts (null: glibc's own): TELEPTY_HOST_MALLOC, else jemalloc where present. */
export async function hostMalloc(env: NodeJS.ProcessEnv, platform: NodeJS.Platform = process.platform): Promise<string | null> {
  if (platform !== 'linux') return null;
  const own = env.TELEPTY_HOST_MALLOC;
  const candidates = own === undefined || own === '' ? HOST_MALLOC_LIBRARIES : own === 'glibc' ? [] : [own];
  for (const file of candidates) {
    try {
      await fs.access(file);
      return file;
    } catch {
      continue; // not on this system: the next, or glibc's malloc
    }
  }
  return null;
}

/**
 * Node settings of the daemon's environment a host goes without. NODE_EXTRA_CA_CERTS: Node 20 reads and parses the
 * whole root store with that file at every start, before any script runs: 55-75 ms of a host's start and +1.1 MB
 * anonymous in every idle host on a machine that sets it (this one does; bench/host-memory.md, Dec 6). A host makes
 * no TLS connection (its link to its daemon is ws://; the host bundle never loads ws's https and tls). The
 * session's program keeps it: its environment is spec.env, not the host's.
 */
export const HOST_ENV_DROPPED: readonly string[] = ['NODE_EXTRA_CA_CERTS'];

/**
 * The daemon's environment for a host, without a session marker (a daemon started from inside a session has one):
 * a host is no process of the session it runs in the daemon's name; nor HOST_ENV_DROPPED. glibc tunables of the
 * daemon's environment are kept, HOST_GLIBC_TUNABLES added unless they set the arena count themselves. `malloc`
 * (hostMalloc) is preloaded unless the daemon's environment preloads something itself; only into the host: the
 * session's program has its own environment (spec.env).
 */
export function hostEnv(env: NodeJS.ProcessEnv, malloc: string | null = null): NodeJS.ProcessEnv {
  const { [SESSION_INSTANCE_ENV]: _marker, ...rest } = env;
  for (const name of HOST_ENV_DROPPED) delete rest[name];
  const own = rest.GLIBC_TUNABLES;
  const withTunables = own?.includes('glibc.malloc.arena_max=') ? rest : { ...rest, GLIBC_TUNABLES: own ? `${own}:${HOST_GLIBC_TUNABLES}` : HOST_GLIBC_TUNABLES };
  if (malloc === null || rest.LD_PRELOAD) return withTunables;
  return { ...withTunables, LD_PRELOAD: malloc, MALLOC_CONF: rest.MALLOC_CONF ?? HOST_JEMALLOC_CONF };
}

/** Starts detached session hosts for `spawn` and waits until each has registered. */
export class Spawner {
  private readonly spares: SpareHosts | null;
  /** The malloc library hosts preload, looked up once. */
  private malloc: Promise<string | null> | null = null;

  constructor(private readonly deps: SpawnerDeps) {
    const spare = deps.spareHost ?? deps.env.TELEPTY_SPARE_HOST !== '0';
    this.spares = !spare ? null : new SpareHosts((logFile) => this.launch(logFile), deps.hostLogDir, deps.log);
  }

  /**
   * Start a host process with its stdout and stderr appended to `logFile`; its spec is written to its stdin later
   * (at once, or when a spare is handed a spawn). The host runs with the daemon's environment (it must find this
   * daemon); the child's is in the spec. The IPC channel carries viewers handed to the host (host-channels.ts);
   * the host outlives it.
   */
  private async launch(logFile: string): Promise<ChildProcess> {
    await ensureDir(this.deps.hostLogDir);
    this.malloc ??= hostMalloc(this.deps.env);
    const malloc = await this.malloc;
    const log = await fs.open(logFile, 'a', 0o600);
    let child;
    try {
      child = spawn(process.execPath, [...HOST_NODE_FLAGS, this.deps.hostMain ?? HOST_MAIN], { detached: true, stdio: ['pipe', log.fd, log.fd, 'ipc'], env: hostEnv(this.deps.env, malloc) });
    } finally {
      await log.close();
    }
    child.unref();
    this.deps.channels.add(child);
    return child;
  }

  async spawn(req: SpawnRequest): Promise<SessionEntry> {
    const { registry } = this.deps;
    const cwd = await checkCwd(req.cwd ?? this.deps.homeDir);
    const env = { ...this.deps.env, ...req.env };
    const file = await resolveCommand(req.command, cwd, env.PATH);
    const id = req.session_id ?? registry.uniqueId(deriveSessionId(cwd, req.command, req.args ?? []));
    const instance = randomBytes(16).toString('hex');
    registry.reserve(id, instance);
    try {
      return await this.startHost(id, instance, file, req, cwd, env);
    } finally {
      registry.release(id, instance);
    }
  }

  private async startHost(id: string, instance: string, file: string, req: SpawnRequest, cwd: string, env: NodeJS.ProcessEnv): Promise<SessionEntry> {
    const record = await recordSpecFor(req, id, this.deps.recordDir);
    const spec: HostSpec = {
      session_id: id,
      id_flexible: false,
      host_instance: instance,
      type: 'spawned',
      command: req.command,
      file,
      args: req.args,
      cwd,
      // The marker lets the processes of this session be found even once they left its process session.
      env: sessionEnv(env, { [SESSION_INSTANCE_ENV]: instance }, id),
      cols: req.cols,
      rows: req.rows,
      term: DEFAULT_TERM,
      ...(req.request_id ? { spawn_request_id: req.request_id } : {}),
      ...(record ? { record } : {}),
      ...(req.tags ? { tags: req.tags } : {}),
    };
    const hooksDir = this.deps.hooksDir;
    const hookArgs = !hooksDir ? [] : await agentHookArgs({ args: req.args, env, dir: hooksDir, sessionId: id, instance, telepty: [process.execPath, LAUNCHER_SCRIPT], daemonUrl: this.deps.daemonUrl?.() }, programFor(req.command, req.args).name);
    if (hookArgs.length > 0) spec.hook_args = hookArgs;
    const logFile = path.join(this.deps.hostLogDir, `${id}.log`);
    // A spare host (started ahead) when one waits, else a host started now; either reads its spec from stdin.
    const spare = (await this.spares?.take(logFile)) ?? null;
    const child = spare ?? (await this.launch(logFile));
    const abort = new AbortController();
    const registered = this.deps.registry.waitForInstance(instance, abort.signal);
    child.stdin?.on('error', (err) => this.deps.log.warn(`host stdin for ${id}: ${err.message}`));
    child.stdin?.end(JSON.stringify(spec));
    const exited = new Promise<never>((_resolve, reject) => {
      child.once('exit', (code, signal) => {
        void hostExitError(logFile, signal ?? `code ${code}`).then(reject);
      });
      child.once('error', (err) => reject(new TeleptyError('INTERNAL', `could not start a session host: ${err.message}`)));
    });
    const timer = setTimeout(() => abort.abort(new TeleptyError('SPAWN_TIMEOUT', `the session host did not register within ${this.deps.spawnTimeoutMs} ms; see ${logFile}`)), this.deps.spawnTimeoutMs);
    try {
      const entry = await Promise.race([registered, exited]);
      this.deps.log.info(`spawned ${id}: ${req.command} (${spare ? 'spare ' : ''}host pid ${child.pid}, child pid ${entry.pid})`);
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
      // The next spawn's host starts now, once this one's has registered (not while it still loads).
      this.spares?.refill();
    }
  }
}
