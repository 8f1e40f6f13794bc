import path from 'node:path';
import os from 'node:os';
import { randomBytes } from 'node:crypto';
import type { EventSink } from '../../protocol/events.js';
import { TeleptyError } from '../../protocol/errors.js';
import { assertNewSessionId } from '../../protocol/ids.js';
import { DEFAULT_COLS, DEFAULT_ROWS, SPAWN_LIMITS, type KillResponse, type ReadScreenQuery, type RenameResponse, type ScreenSnapshot, type SessionObject, type SpawnRequest, type SpawnResponse } from '../../protocol/session.js';
import { expectObject, optInt, optString } from '../../protocol/validate.js';
import type { RecordAction, RecordResponse } from '../../protocol/recording.js';
import { checkRecordable, resolveRecordSpec } from '../../util/recording-file.js';
import { applyTagEdit, type TagEdit, type TagsResponse } from '../../protocol/tags.js';
import type { TeleptyConfig } from '../../util/config.js';
import type { Logger } from '../../util/log.js';
import { sleep, withTimeout } from '../../util/async.js';
import { isProcessAlive } from '../../util/process.js';
import { Injector, type InjectorTimings } from '../inject/injector.js';
import type { InjectTimings } from '../../terminal/inject-queue.js';
import type { SessionEntry } from '../target.js';
import type { HostHubTimings } from './host-hub.js';
import { SessionRegistry } from './registry.js';
import { HOST_LOG_KEEP_MS, pruneHostLogs } from './host-logs.js';
import { Spawner } from './spawner.js';
import { SESSIONS_FILE_VERSION, SessionStore, fromPersisted, toPersisted } from './store.js';
import { startSweeper, type Sweeper, type SweeperTimings } from './sweeper.js';
import { HeldPrompts } from '../inject/held-prompts.js';
import { endOrphans, processStartTime } from './orphans.js';
import { HostChannels } from './host-channels.js';
import { ViewerHub, type ViewerTimings } from './viewer-hub.js';
import { lastScreenAnswer } from './last-screen.js';
import { LegacyOwners, isLegacySession } from './legacy-owner.js';
import { SessionStateService } from './state-service.js';

export interface SessionTimings extends HostHubTimings, SweeperTimings, ViewerTimings, InjectorTimings {
  spawnTimeoutMs: number;
  /** `kill` waits this long for the host to report that its child's session ended. */
  killTimeoutMs: number;
  screenTimeoutMs: number;
  /** sessions.json changes within this window are written once. */
  persistDebounceMs: number;
  /** After a restart, how long requests about sessions wait for the live hosts of restored sessions. */
  restoredHostsWaitMs: number;
}

export interface SessionsDeps {
  config: TeleptyConfig;
  /** The daemon's environment: the base of every spawned session's (its request's env overrides it). */
  env: NodeJS.ProcessEnv;
  /** False: every viewer is relayed through the daemon (daemon/settings.ts). */
  directViewers: boolean;
  /** The 0.1.5x owner bridge's inject queue timings (daemon/settings.ts). */
  legacyInjectTimings: InjectTimings;
  log: Logger;
  events: EventSink;
  timings: SessionTimings;
  now: () => number;
  /** Where a program of this machine reaches this daemon over HTTP (Claude Code's http hooks); absent: unknown. */
  ownUrl?: () => string | undefined;
}

/** Spawn request ids remembered (a repeat comes within seconds of the first; spawns are rare). */
const SPAWN_REQUEST_IDS_MAX = 1_000;

/** A host reconnects within its reconnect cap (1 s) plus a hello: a repeated spawn waits this long for it. */
const SPAWN_REPEAT_WAIT_MS = 2_000;
const SPAWN_REPEAT_POLL_MS = 50;

/** The session side of the daemon: registry, hosts, viewers, spawning, persistence and the sweeper. */
export class Sessions {
  readonly registry: SessionRegistry;
  readonly viewers: ViewerHub;
  readonly injector: Injector;
  /** Owners speaking the 0.1.5x protocol, for sessions registered through `POST /api/sessions/register`. */
  readonly legacy: LegacyOwners;
  /** The IPC channels to the hosts this daemon started (viewers are handed to them). */
  readonly channels: HostChannels;
  /** Agent state, wait, keys and hook reports (issue 19). */
  readonly state: SessionStateService;
  private readonly store: SessionStore;
  private readonly spawner: Spawner;
  private sweeper: Sweeper | undefined;
  /** Prompts held for idle, on disk until handed on (inject/held-prompts.ts). */
  private readonly held: HeldPrompts;
  /** Spawns by the caller's request id: a repeat (its connection dropped) answers the session the first made. */
  private readonly spawnRequests = new Map<string, { answer: () => Promise<SpawnResponse> }>();

  constructor(private readonly deps: SessionsDeps) {
    const { config, log, events, timings, now } = deps;
    this.registry = new SessionRegistry({
      machineId: config.machineId,
      events,
      now,
      // A failed urgent write is logged and retried by the store; whoever must answer "saved" waits with settle().
      changed: (urgent) => (urgent ? void this.store.flush().catch((err: unknown) => log.debug(`urgent sessions.json write: ${err instanceof Error ? err.message : String(err)}`)) : this.store.schedule()),
      isAlive: isProcessAlive,
      // Its host is gone for good (kill -9, never back): the jobs it left end failed, each with its one outcome.
      exitedAway: (e) => this.injector.onHostGone(e),
      // A host killed -9 is marked exited within SWEEP_SOON_MS, not at the next sweep interval.
      disconnected: () => this.sweeper?.soon(),
    });
    this.store = new SessionStore(
      config.paths.sessionsFile,
      () => ({ version: SESSIONS_FILE_VERSION, sessions: this.registry.list().map(toPersisted), killed_instances: this.registry.killedInstances() }),
      log,
      timings.persistDebounceMs,
    );
    this.held = new HeldPrompts({ file: config.paths.heldPromptsFile, events, now, log, debounceMs: timings.persistDebounceMs });
    this.injector = new Injector({ registry: this.registry, events, log, timings, now, changed: () => this.store.schedule(), held: this.held });
    this.state = new SessionStateService(this.registry, timings.screenTimeoutMs, log);
    const channels = new HostChannels(log, deps.directViewers);
    this.channels = channels;
    this.viewers = new ViewerHub(timings);
    this.legacy = new LegacyOwners({ registry: this.registry, viewers: this.viewers, injector: this.injector, log, timings, injectTimings: deps.legacyInjectTimings, now });
    this.spawner = new Spawner({
      registry: this.registry,
      log,
      hostLogDir: config.paths.hostLogDir,
      hooksDir: path.join(config.paths.dataDir, 'hooks'),
      env: deps.env,
      homeDir: os.homedir(),
      spawnTimeoutMs: timings.spawnTimeoutMs,
      channels,
      recordDir: config.paths.recordDir,
      ...(deps.ownUrl ? { daemonUrl: deps.ownUrl } : {}),
    });
  }

  /** Restore sessions.json (every session disconnected until its host says hello). Before listening. */
  async load(): Promise<void> {
    const file = await this.store.load();
    const now = this.deps.now();
    for (const p of file.sessions) this.registry.restore(fromPersisted(p, now));
    for (const [instance, at] of file.killed_instances) this.registry.rememberKilled(instance, at);
    if (file.sessions.length > 0) this.deps.log.info(`restored ${file.sessions.length} session(s); waiting for their hosts to reconnect`);
    const held = await this.held.load();
    if (held > 0) this.deps.log.info(`${held} prompt(s) held for idle by the last daemon: held again`);
  }

  /** This daemon won the claim: start persisting and sweeping. */
  activate(): void {
    this.store.enable();
    this.held.enable();
    this.injector.restoreHeld(this.held.list());
    this.registry.expectRestoredHosts(this.deps.timings.restoredHostsWaitMs);
    this.sweeper = startSweeper(this.registry, this.deps.events, this.deps.timings, this.deps.now, isProcessAlive, this.deps.log, (e) => this.endOrphansOf(e).then(() => undefined));
    // Once per start: logs of sessions long gone (a daemon runs for days; restarts come with updates and reboots).
    pruneHostLogs(this.deps.config.paths.hostLogDir, (id) => this.registry.get(id) !== undefined, this.deps.now(), this.deps.log).then(
      (n) => {
        if (n > 0) this.deps.log.info(`removed ${n} host log(s) of sessions gone for over ${HOST_LOG_KEEP_MS / 86_400_000} days`);
      },
      (err: unknown) => this.deps.log.warn(`old host logs were not looked at: ${(err as Error).message}`),
    );
  }

  async stop(): Promise<void> {
    this.sweeper?.stop();
    // The last write at shutdown: if the disk is full, what is on disk stays as it was (and the log says so).
    await this.store.flush().catch((err: unknown) => this.deps.log.error('sessions.json could not be written at shutdown', err));
    await this.held.flush();
  }

  /** A host reported its session's exit: a session killed while its host was away leaves the list now. */
  onHostExit(e: SessionEntry): void {
    if (e.killPending) this.registry.remove(e);
  }

  /**
   * A host said which spawn request started it. One this daemon did not make (a daemon before a crash): a repeat of
   * that spawn is answered with this session.
   */
  spawnedBy(requestId: string, entry: SessionEntry): void {
    if (!this.spawnRequests.has(requestId)) this.rememberSpawn(requestId, async () => this.spawnAnswer(entry));
  }

  /**
   * Every session; with `idleGt`, those idle for more than that many seconds (the seed's `idle_gt`). Answers about
   * sessions wait (bounded) for the hosts a restart is expecting back.
   */
  async list(idleGt: number | null = null): Promise<SessionObject[]> {
    await this.registry.whenHostsBack();
    const all = this.registry.list().map((e) => this.registry.toObject(e));
    return idleGt === null ? all : all.filter((s) => s.idleSeconds > idleGt);
  }

  async get(id: unknown): Promise<SessionObject> {
    await this.registry.whenHostsBack();
    return this.registry.toObject(this.registry.require(id));
  }

  /**
   * A session's host died (kill -9, a crash): it could not end its child's session, so whatever there ignores
   * SIGHUP or left the session would run on. End it, by start time (orphans.ts), and remember how many for `kill`.
   */
  private async endOrphansOf(e: SessionEntry): Promise<number> {
    // Only a spawned session's host is surely on this machine (this daemon started it) and its child marked: the
    // pids of a wrapped session may be another machine's.
    if (e.type !== 'spawned') return 0;
    let ended = 0;
    try {
      ended = await endOrphans({ pid: e.pid, pidStart: e.pidStart, instance: e.hostInstance });
    } catch (err) {
      this.deps.log.error(`could not end the processes left by the host of ${e.id}`, err);
    }
    e.orphansEnded = (e.orphansEnded ?? 0) + ended;
    if (ended > 0) {
      this.deps.log.info(`the host of ${e.id} was gone; ended ${ended} orphaned process(es) of its session`);
      this.deps.events.emit('session.orphans_ended', { session_id: e.id, count: ended });
    }
    return ended;
  }

  /**
   * Answered once sessions.json has the new session: a daemon killed right after still knows it. A spawn with a
   * request id this daemon has seen (its own, or one a reconnecting host names) answers that session again.
   */
  async spawn(req: SpawnRequest, repeat = false): Promise<SpawnResponse> {
    const rid = req.request_id;
    let known = rid ? this.spawnRequests.get(rid) : undefined;
    // A repeat after a dropped connection: the first try's host may be reconnecting to this (new) daemon.
    if (rid && !known && repeat) known = await this.waitForSpawnRequest(rid);
    if (known) return known.answer();
    const made = this.spawnNew(req);
    if (rid) {
      this.rememberSpawn(rid, () => made);
      // A spawn that failed made nothing: a repeat may try again.
      made.catch(() => this.spawnRequests.delete(rid));
    }
    return made;
  }

  private async spawnNew(req: SpawnRequest): Promise<SpawnResponse> {
    const entry = await this.spawner.spawn(req);
    // Its child named for good (pid + start time), so that a reused pid is never taken for it (orphans.ts).
    // (The write its host's hello started has it without: written again, at once, by the settle below.)
    if (entry.pid !== null) {
      entry.pidStart = await processStartTime(entry.pid);
      if (entry.pidStart !== null) this.store.schedule();
    }
    // Its host's hello already started the write (a new session is urgent): wait for it.
    try {
      await this.store.settle();
    } catch (err) {
      // Not saved, so not made: a session the next daemon would not know is ended rather than left unlisted.
      this.registry.remove(entry);
      entry.link?.send({ type: 'kill', reason: 'its session could not be saved' });
      throw err;
    }
    this.deps.events.emit('session_spawn', { session_id: entry.id, command: entry.command, cwd: entry.cwd, pid: entry.pid });
    return this.spawnAnswer(entry);
  }

  private spawnAnswer(entry: SessionEntry): SpawnResponse {
    return { session_id: entry.id, command: entry.command, cwd: entry.cwd, pid: entry.pid ?? 0, session: this.registry.toObject(entry) };
  }

  /** A host naming this spawn request, for at most SPAWN_REPEAT_WAIT_MS. */
  private async waitForSpawnRequest(requestId: string): Promise<{ answer: () => Promise<SpawnResponse> } | undefined> {
    const deadline = this.deps.now() + SPAWN_REPEAT_WAIT_MS;
    for (;;) {
      const known = this.spawnRequests.get(requestId);
      if (known || this.deps.now() >= deadline) return known;
      await sleep(SPAWN_REPEAT_POLL_MS);
    }
  }

  /** Spawn request ids, bounded in count (oldest forgotten first). */
  private rememberSpawn(requestId: string, answer: () => Promise<SpawnResponse>): void {
    this.spawnRequests.set(requestId, { answer });
    if (this.spawnRequests.size > SPAWN_REQUEST_IDS_MAX) {
      const oldest = this.spawnRequests.keys().next();
      if (!oldest.done) this.spawnRequests.delete(oldest.value);
    }
  }

  /** Change a session's tags (issue 21); answered once sessions.json has them (undone in memory when the disk refuses). */
  async tags(id: unknown, edit: TagEdit): Promise<TagsResponse> {
    await this.registry.whenHostsBack();
    const e = this.registry.require(id);
    const before = e.tags;
    e.tags = applyTagEdit(before ?? [], edit);
    try {
      await this.store.flush();
    } catch (err) {
      e.tags = before;
      throw err;
    }
    return { session_id: e.id, tags: e.tags };
  }

  /** Answered once sessions.json has the new id: a daemon killed right after must not switch the host back. */
  async rename(id: unknown, newId: string): Promise<RenameResponse> {
    await this.registry.whenHostsBack();
    const e = this.registry.require(id);
    const renamed = this.registry.rename(e, newId);
    try {
      await this.store.flush();
    } catch (err) {
      // Not saved, so not made: the old id again, in memory and at the host, as on disk.
      if (renamed.old_id !== renamed.new_id) this.registry.rename(e, renamed.old_id);
      throw err;
    }
    return { success: true, ...renamed };
  }

  /**
   * End the session's child (process group) and remove it; a host that is away is told when it returns (the
   * kill is on disk before it is answered). With `wait` (our CLI) the answer comes once the child has ended
   * (`killed`), or says the host is away (`pending`); without it (the seed's DELETE) it comes at once:
   * `closing`. Either way the session leaves the list at once unless a connected host is being waited for.
   * A session owned by a 0.1.5x bridge cannot be ended (that protocol has no kill): its link is closed and it
   * is removed (`removed` with `wait`). Like every answer about sessions it waits (bounded) for the hosts a
   * restart is expecting back.
   */
  async kill(id: unknown, opts: { wait: boolean } = { wait: true }): Promise<KillResponse> {
    await this.registry.whenHostsBack();
    const e = this.registry.require(id);
    // An exited session is only removed: the answer says it had exited (not that this kill ended it).
    const alreadyExited = e.status === 'exited' ? { already_exited: true } : {};
    if (e.type === 'spawned' && e.status === 'disconnected' && (e.hostPid === null || !(await isProcessAlive(e.hostPid)))) {
      // Its host is gone for good and cannot be told: end what it left here and now.
      this.registry.markExited(e, e.exitCode, 'host gone');
      await this.endOrphansOf(e);
    }
    if (e.status === 'exited') {
      this.registry.remove(e);
      await this.store.flush();
      const orphans = e.orphansEnded === null ? {} : { host_gone: true, orphans_ended: e.orphansEnded };
      return opts.wait ? { success: true, id: e.id, status: 'killed', exit_code: e.exitCode, ...alreadyExited, ...orphans } : { success: true, id: e.id, status: 'closing' };
    }
    if (isLegacySession(e)) {
      this.legacy.release(e);
      this.registry.markExited(e, null, 'deleted');
      this.viewers.endAll(e, { type: 'exit', code: null });
      this.registry.remove(e);
      await this.store.flush();
      return { success: true, id: e.id, status: opts.wait ? 'removed' : 'closing' };
    }
    e.killPending = true;
    this.registry.rememberKilled(e.hostInstance, this.deps.now());
    const link = e.link;
    // A pending kill is a promise to end the session when its host returns: on disk before it is answered.
    try {
      await this.store.flush();
    } catch (err) {
      // Not saved, so not made: the session goes on as before, in memory as on disk.
      e.killPending = false;
      this.registry.forgetKilled(e.hostInstance);
      throw err;
    }
    // Hostless, or not waited for: gone from the list now. A host that comes back is ended (killed instances).
    if (!link || !opts.wait) this.registry.remove(e);
    if (!link) return { success: true, id: e.id, status: opts.wait ? 'pending' : 'closing' };
    link.send({ type: 'kill', reason: 'killed by `telepty kill`' });
    const exited = withTimeout(this.registry.waitExit(e), this.deps.timings.killTimeoutMs, () => new TeleptyError('TIMEOUT', `session ${e.id} was told to end but did not report its exit within ${this.deps.timings.killTimeoutMs} ms`));
    if (!opts.wait) {
      exited.catch((err: unknown) => this.deps.log.warn(`kill of ${e.id}: ${(err as Error).message}`));
      return { success: true, id: e.id, status: 'closing' };
    }
    const code = await exited;
    this.registry.remove(e);
    return { success: true, id: e.id, status: 'killed', exit_code: code };
  }

  /** Start or stop a running session's recording (issue 22): its host opens or closes the file. */
  async record(id: unknown, req: RecordAction): Promise<RecordResponse> {
    await this.registry.whenHostsBack();
    const e = this.registry.requireConnected(id);
    const args = req.action === 'stop' ? { action: 'stop' as const } : { action: 'start' as const, record: await resolveRecordSpec(req.record, this.deps.config.paths.recordDir, e.id, new Date(this.deps.now())) };
    if (args.action === 'start') await checkRecordable(args.record.file);
    const result = await e.link.request('record', args, this.deps.timings.screenTimeoutMs);
    e.recording = result.recording;
    return { session_id: e.id, ...result };
  }

  async screen(id: unknown, q: ReadScreenQuery): Promise<ScreenSnapshot> {
    await this.registry.whenHostsBack();
    const { last_screen: lastScreen, ...query } = q;
    const last = lastScreen ? lastScreenAnswer(this.registry.require(id), query) : null;
    if (last) return last;
    const e = this.registry.requireConnected(id);
    const screen = await e.link.request('screen', query, this.deps.timings.screenTimeoutMs);
    return { session_id: e.id, ...screen };
  }

  /**
   * Seed compatibility: `POST /api/sessions/register` announces a wrapped session by id. It is listed as
   * disconnected until a host with that id connects (which then takes it over).
   */
  registerPlaceholder(body: unknown): { status: number; body: Record<string, unknown> } {
    const o = expectObject(body);
    const id = assertNewSessionId(o.session_id);
    const existing = this.registry.get(id);
    if (existing) {
      // The 0.1.5x bridge re-registers before every reconnect: its next connection is the owner again.
      this.legacy.arm(existing);
      return { status: 200, body: { session_id: id, reregistered: true, type: existing.type, command: existing.command, cwd: existing.cwd } };
    }
    const now = this.deps.now();
    const entry: SessionEntry = fromPersisted(
      {
        id,
        host_instance: randomBytes(16).toString('hex'),
        type: 'wrapped',
        command: optString(o, 'command', { max: 4096 }) ?? 'wrapped',
        args: [],
        cwd: optString(o, 'cwd', { max: 4096 }) ?? '',
        term: 'xterm-256color',
        createdAt: new Date(now).toISOString(),
        lastActivityAt: new Date(now).toISOString(),
        pid: null,
        host_pid: null,
        // The seed's bridge never says its terminal's size; a client may (the screen model uses it).
        cols: optInt(o, 'cols', 2, SPAWN_LIMITS.colsMax) ?? DEFAULT_COLS,
        rows: optInt(o, 'rows', 2, SPAWN_LIMITS.rowsMax) ?? DEFAULT_ROWS,
        status: 'disconnected',
        exit_code: null,
        exited_at: null,
        kill_pending: false,
        last_from: null,
        last_reply_to: null,
        last_thread_id: null,
      },
      now,
    );
    this.registry.restore(entry);
    this.legacy.arm(entry);
    this.store.schedule();
    this.deps.events.emit('session_register', { session_id: id, command: entry.command, cwd: entry.cwd, type: 'wrapped' });
    return { status: 201, body: { session_id: id, type: 'wrapped', command: entry.command, cwd: entry.cwd } };
  }
}
