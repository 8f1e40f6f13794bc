import path from 'node:path';
import type { EventSink } from '../../protocol/events.js';
import { TeleptyError } from '../../protocol/errors.js';
import { isHostMessage, type HostHello, type HostStateUpdate } from '../../protocol/host-link.js';
import { clientCount, type HostHandle, type SessionEntry } from '../target.js';
import { assertNewSessionId, assertSessionId, uniqueSessionId } from '../../protocol/ids.js';
import { closeMatches, didYouMean } from '../../util/suggest.js';
import type { SessionObject } from '../../protocol/session.js';
import { AgentStates } from './agent-states.js';
import { saneTags } from '../../protocol/tags.js';

export type { HostHandle, SessionEntry, ViewerHandle } from '../target.js';
export { clientCount } from '../target.js';

export type AttachOutcome = 'new' | 'reconnected' | 'replaced';

export interface RegistryDeps {
  machineId: string;
  events: EventSink;
  now: () => number;
  /**
   * Called after every change worth persisting; `urgent` for a session new to this registry, which should be on
   * disk at once (a daemon killed right after must still know it), not after the write debounce.
   */
  changed: (urgent?: boolean) => void;
  /** True if a process with this pid runs (a host that may still come back). */
  isAlive: (pid: number) => Promise<boolean>;
  /**
   * A session was marked exited while it had no host link (its host died or never came back): nothing can report
   * the end of its inject jobs any more.
   */
  exitedAway?: (e: SessionEntry) => void;
  /** A session's host link closed without an exit report (its host may be dead: look soon). */
  disconnected?: (e: SessionEntry) => void;
}

/** How many killed host instances are remembered (a killed host must never come back as a session). */
const KILLED_MEMORY = 1_000;

function projectId(cwd: string): string | null {
  return cwd ? path.basename(cwd) || null : null;
}

/** The daemon's sessions: ids, state, hosts and viewers. Pure domain: no sockets, no files. */
export class SessionRegistry {
  private readonly byId = new Map<string, SessionEntry>();
  /** Ids held for a host being spawned, with the instance that host will say hello with. */
  private readonly reserved = new Map<string, string>();
  private readonly killed = new Map<string, number>();
  private readonly instanceWaiters = new Map<string, (e: SessionEntry) => void>();
  /** Restored sessions whose host process was alive when this daemon started: not back yet. */
  private readonly awaitedHosts = new Set<SessionEntry>();
  private hostsBack: Promise<void> = Promise.resolve();
  private endHostsWait: (() => void) | null = null;

  /** Each session's agent state as its host reports it (issue 19). */
  readonly states: AgentStates;

  constructor(private readonly deps: RegistryDeps) {
    this.states = new AgentStates(deps.events);
  }

  /**
   * After a restart, the hosts of restored sessions whose processes are alive are reconnecting: requests about
   * sessions wait for them (whenHostsBack), at most `withinMs` from now, so the first command after a restart
   * does not see live sessions as disconnected.
   */
  expectRestoredHosts(withinMs: number): void {
    const candidates = [...this.byId.values()].filter((e) => e.status === 'disconnected' && !e.link && e.hostPid !== null);
    if (candidates.length === 0) return;
    for (const e of candidates) this.awaitedHosts.add(e);
    let release!: () => void;
    this.hostsBack = new Promise<void>((resolve) => (release = resolve));
    const timer = setTimeout(() => this.stopAwaitingHosts(), withinMs);
    this.endHostsWait = () => {
      clearTimeout(timer);
      release();
    };
    for (const e of candidates) {
      void this.deps.isAlive(e.hostPid as number).then(
        (alive) => alive || this.hostBack(e),
        () => this.hostBack(e),
      );
    }
  }

  /** Resolves once every awaited host is back (or gone), or the bound of expectRestoredHosts has passed. */
  whenHostsBack(): Promise<void> {
    return this.hostsBack;
  }

  /** Whether a restart's hosts are still awaited (callers skip the wait, and its turn of the loop, otherwise). */
  awaitingHosts(): boolean {
    return this.awaitedHosts.size > 0;
  }

  /**
   * The host of `e` has been welcomed on its link: requests may be sent to it now. (Not at attach: a request sent
   * before the welcome reaches a host that does not yet answer on that link.)
   */
  hostReady(e: SessionEntry): void {
    this.hostBack(e);
  }

  private hostBack(e: SessionEntry): void {
    if (this.awaitedHosts.delete(e) && this.awaitedHosts.size === 0) this.stopAwaitingHosts();
  }

  private stopAwaitingHosts(): void {
    this.awaitedHosts.clear();
    this.endHostsWait?.();
    this.endHostsWait = null;
  }

  list(): SessionEntry[] {
    return [...this.byId.values()].sort((a, b) => a.createdAt.localeCompare(b.createdAt) || a.id.localeCompare(b.id));
  }

  get(id: string): SessionEntry | undefined {
    return this.byId.get(id);
  }

  /** Exact resolution only (never a prefix or a stripped suffix). */
  require(id: unknown): SessionEntry {
    const valid = assertSessionId(id);
    const entry = this.byId.get(valid);
    if (!entry) {
      const suggestions = closeMatches(valid, this.byId.keys());
      throw new TeleptyError('SESSION_NOT_FOUND', `no session ${JSON.stringify(valid)}${didYouMean(suggestions)}`, { id: valid, ...(suggestions.length > 0 ? { suggestions } : {}) });
    }
    return entry;
  }

  /** The entry with a live host link, or why there is none. */
  requireConnected(id: unknown): SessionEntry & { link: HostHandle } {
    const entry = this.require(id);
    if (entry.status === 'exited') throw new TeleptyError('SESSION_EXITED', `session ${entry.id} has exited (code ${entry.exitCode})`, { id: entry.id });
    if (!entry.link) throw new TeleptyError('SESSION_DISCONNECTED', `session ${entry.id} is disconnected: its host is not connected to the daemon`, { id: entry.id });
    return entry as SessionEntry & { link: HostHandle };
  }

  isTaken(id: string): boolean {
    return this.byId.has(id) || this.reserved.has(id);
  }

  /**
   * Why `id` cannot be given to another session: the seed's words (`seedWords`, which its clients match) for a live
   * holder; for one that has exited and is only still listed, what it is and how to free the id at once.
   */
  private takenError(id: string, seedWords: string): TeleptyError {
    const holder = this.byId.get(id);
    if (holder?.status === 'exited') {
      return new TeleptyError('SESSION_EXISTS', `Session ID '${id}' is taken by a session that has exited (code ${holder.exitCode}) and is still listed; \`telepty kill ${id}\` removes it now, or choose another id.`, { id });
    }
    return new TeleptyError('SESSION_EXISTS', `Session ID '${id}' ${seedWords}`, { id });
  }

  /** Hold `id` for the host that will say hello with `instance` (spawn). */
  reserve(id: string, instance: string): void {
    // The seed's words: clients match `Session ID 'X' is already active.`
    if (this.isTaken(id)) throw this.takenError(id, 'is already active.');
    this.reserved.set(id, instance);
  }

  release(id: string, instance: string): void {
    if (this.reserved.get(id) === instance) this.reserved.delete(id);
  }

  uniqueId(base: string): string {
    return uniqueSessionId(base, (id) => this.isTaken(id));
  }

  toObject(e: SessionEntry): SessionObject {
    const now = this.deps.now();
    return {
      id: e.id,
      locator: { machine_id: this.deps.machineId, session_id: e.id, project_id: projectId(e.cwd) },
      type: e.type,
      command: e.command,
      cwd: e.cwd,
      createdAt: e.createdAt,
      lastActivityAt: new Date(e.lastActivityAt).toISOString(),
      idleSeconds: Math.max(0, Math.floor((now - e.lastActivityAt) / 1000)),
      active_clients: clientCount(e),
      status: e.status,
      pid: e.pid,
      host_pid: e.hostPid,
      args: e.args,
      term: e.term,
      cols: e.cols,
      rows: e.rows,
      bracketed_paste: e.bracketedPaste,
      alt_screen: e.altScreen,
      exit_code: e.exitCode,
      last_from: e.lastFrom,
      last_reply_to: e.lastReplyTo,
      last_thread_id: e.lastThreadId,
      lastInjectFrom: e.lastFrom,
      lastInjectReplyTo: e.lastReplyTo,
      alias: null,
      recording: e.recording ?? null,
      tags: e.tags ?? [],
      ...this.states.fields(e),
    };
  }

  /** Add an entry restored from disk: disconnected until its host comes back. */
  restore(e: SessionEntry): void {
    this.byId.set(e.id, e);
  }

  rememberKilled(instance: string, at: number): void {
    this.killed.set(instance, at);
    if (this.killed.size > KILLED_MEMORY) this.killed.delete(this.killed.keys().next().value as string);
  }

  /** Undo rememberKilled (a kill that could not be saved is not made). */
  forgetKilled(instance: string): void {
    this.killed.delete(instance);
  }

  killedInstances(): [string, number][] {
    return [...this.killed.entries()];
  }

  wasKilled(instance: string): boolean {
    return this.killed.has(instance);
  }

  hasInstance(instance: string): boolean {
    return this.findByInstance(instance) !== undefined;
  }

  private findByInstance(instance: string): SessionEntry | undefined {
    for (const e of this.byId.values()) if (e.hostInstance === instance) return e;
    return undefined;
  }

  /**
   * A host said hello. Its instance is how it is recognised across reconnects and renames; a new instance
   * takes an id only when the id is free, or held by a session whose host is gone (replaced).
   */
  async attachHost(hello: HostHello, link: HostHandle): Promise<{ entry: SessionEntry; outcome: AttachOutcome }> {
    const wanted = assertSessionId(hello.session_id);
    // The only await: whether the current holder of the id still has a live host process. Every decision is
    // taken after it, synchronously, against the registry as it is then (another hello may have run meanwhile).
    const checked = this.byId.get(wanted);
    const checkedAlive = checked && !checked.link && checked.status !== 'exited' && checked.hostPid !== null ? await this.deps.isAlive(checked.hostPid) : undefined;

    const known = this.findByInstance(hello.host_instance);
    if (known) return { entry: this.reattach(known, hello, link), outcome: 'reconnected' };
    assertNewSessionId(wanted);

    let id = wanted;
    let outcome: AttachOutcome = 'new';
    const holder = this.byId.get(id);
    const reservedFor = this.reserved.get(id);
    if (holder) {
      const holderGone = holder.status === 'exited' || (!holder.link && (holder.hostPid === null || (holder === checked && checkedAlive === false)));
      if (hello.id_flexible) id = this.uniqueId(id);
      else if (holderGone) {
        this.dropEntry(holder);
        outcome = 'replaced';
      } else {
        throw new TeleptyError('SESSION_EXISTS', `session id ${id} is in use by another live session`, { id });
      }
    } else if (reservedFor !== undefined && reservedFor !== hello.host_instance) {
      // Reserved for a host being spawned: only that host may take it.
      if (hello.id_flexible) id = this.uniqueId(id);
      else throw new TeleptyError('SESSION_EXISTS', `session id ${id} is being spawned by another request`, { id });
    }
    const now = this.deps.now();
    const entry: SessionEntry = {
      id,
      hostInstance: hello.host_instance,
      type: hello.session.type,
      command: hello.session.command,
      args: hello.session.args,
      cwd: hello.session.cwd,
      term: hello.session.term,
      createdAt: hello.session.created_at,
      lastActivityAt: now,
      pid: null,
      pidStart: null,
      orphansEnded: null,
      hostPid: null,
      cols: hello.session.cols,
      rows: hello.session.rows,
      bracketedPaste: false,
      altScreen: false,
      status: 'connected',
      exitCode: null,
      exitedAt: null,
      disconnectedAt: null,
      killPending: false,
      lastFrom: null,
      lastReplyTo: null,
      lastThreadId: null,
      link,
      viewers: new Set(),
      directViewers: 0,
      idleNotified: false,
      exitWaiters: [],
      tags: saneTags(hello.session.tags),
    };
    this.applyHello(entry, hello);
    if (this.reserved.get(id) === hello.host_instance) this.reserved.delete(id);
    this.byId.set(id, entry);
    this.instanceWaiters.get(hello.host_instance)?.(entry);
    if (outcome === 'replaced') this.deps.events.emit('session.replaced', { old_id: id, new_id: id, alias: id, session_id: id });
    this.deps.events.emit('session_register', { session_id: id, command: entry.command, cwd: entry.cwd, type: entry.type, pid: entry.pid });
    this.deps.changed(true);
    return { entry, outcome };
  }

  private reattach(known: SessionEntry, hello: HostHello, link: HostHandle): SessionEntry {
    const old = known.link;
    known.link = link;
    if (old && old !== link) old.close(4002, 'replaced by a newer link from the same host');
    this.applyHello(known, hello);
    if (known.status === 'exited') {
      known.exitCode = null;
      known.exitedAt = null;
      known.lastScreen = undefined;
    }
    known.status = 'connected';
    known.disconnectedAt = null;
    this.deps.events.emit('session_reconnect', { session_id: known.id, host_pid: known.hostPid, pid: known.pid });
    this.deps.changed();
    return known;
  }

  private applyHello(e: SessionEntry, hello: HostHello): void {
    this.states.setFeatures(e, hello.features);
    const s = hello.session;
    if (e.pid !== s.pid) e.pidStart = null;
    e.pid = s.pid;
    e.hostPid = s.host_pid;
    e.cols = s.cols;
    e.rows = s.rows;
    e.bracketedPaste = s.bracketed_paste;
    e.altScreen = s.alt_screen;
    e.directViewers = 0;
    e.recording = s.recording ?? null;
    const last = Date.parse(s.last_activity_at);
    if (Number.isFinite(last)) e.lastActivityAt = last;
  }

  /**
   * A 0.1.5x owner (legacy-owner.ts) took a session registered through `POST /api/sessions/register`: it is
   * connected while that owner is; `returning` when it had an owner before (a reconnect).
   */
  attachLegacyOwner(e: SessionEntry, link: HostHandle, returning: boolean): void {
    e.link = link;
    e.status = 'connected';
    e.disconnectedAt = null;
    e.lastActivityAt = this.deps.now();
    e.idleNotified = false;
    if (returning) this.deps.events.emit('session_reconnect', { session_id: e.id, host_pid: null, pid: null });
    this.deps.changed();
  }

  /** The host link closed without an exit report. */
  detachHost(e: SessionEntry, link: HostHandle): void {
    if (e.link !== link) return;
    e.link = null;
    // Its direct viewers are counted again when the host reports them on its next link.
    e.directViewers = 0;
    if (e.status !== 'connected') return;
    e.status = 'disconnected';
    e.disconnectedAt = this.deps.now();
    this.deps.events.emit('session_disconnect', { session_id: e.id, host_pid: e.hostPid });
    this.deps.disconnected?.(e);
    this.deps.changed();
  }

  /** A host's state report; one that fails the link's guard (protocol/host-link.ts) changes nothing. */
  updateState(e: SessionEntry, s: HostStateUpdate): void {
    if (!isHostMessage(s)) return;
    if (s.last_activity_at !== undefined) {
      const t = Date.parse(s.last_activity_at);
      if (Number.isFinite(t) && t > e.lastActivityAt) {
        e.lastActivityAt = t;
        e.idleNotified = false;
      }
    }
    if (s.bracketed_paste !== undefined) e.bracketedPaste = s.bracketed_paste;
    if (s.alt_screen !== undefined) e.altScreen = s.alt_screen;
    if (s.direct_viewers !== undefined) e.directViewers = s.direct_viewers;
    if (s.recording !== undefined) e.recording = s.recording;
    if (s.cols !== undefined && s.rows !== undefined) {
      e.cols = s.cols;
      e.rows = s.rows;
    }
  }

  markExited(e: SessionEntry, code: number | null, reason: string): void {
    if (e.status === 'exited') return;
    const away = e.link === null;
    e.status = 'exited';
    e.exitCode = code;
    e.exitedAt = this.deps.now();
    e.link = null;
    e.directViewers = 0;
    e.recording = null;
    this.hostBack(e);
    this.deps.events.emit('session_exit', { session_id: e.id, exit_code: code, reason });
    this.states.exited(e);
    for (const w of e.exitWaiters.splice(0)) w(code);
    if (away) this.deps.exitedAway?.(e);
    this.deps.changed();
  }

  /** Remove an entry for good (kill, or an exited session past its retention). */
  remove(e: SessionEntry): void {
    this.dropEntry(e);
    this.deps.changed();
  }

  private dropEntry(e: SessionEntry): void {
    this.hostBack(e);
    if (this.byId.get(e.id) === e) this.byId.delete(e.id);
    for (const w of e.exitWaiters.splice(0)) w(e.exitCode);
  }

  rename(e: SessionEntry, newIdRaw: unknown): { old_id: string; new_id: string } {
    const newId = assertNewSessionId(newIdRaw, 'new id');
    const oldId = e.id;
    if (this.byId.get(oldId) !== e) throw new TeleptyError('SESSION_NOT_FOUND', `no session ${JSON.stringify(oldId)}`, { id: oldId });
    if (newId === oldId) return { old_id: oldId, new_id: newId };
    // The seed's words for a rename onto a taken id.
    if (this.isTaken(newId)) throw this.takenError(newId, 'is already in use.');
    this.byId.delete(oldId);
    e.id = newId;
    this.byId.set(newId, e);
    e.link?.send({ type: 'rename', new_id: newId });
    this.deps.events.emit('session_rename', { old_id: oldId, new_id: newId, session_id: newId });
    this.deps.changed();
    return { old_id: oldId, new_id: newId };
  }

  /** Resolves with the exit code once the entry has exited or been removed. */
  waitExit(e: SessionEntry): Promise<number | null> {
    if (e.status === 'exited' || this.byId.get(e.id) !== e) return Promise.resolve(e.exitCode);
    return new Promise((resolve) => e.exitWaiters.push(resolve));
  }

  /** Resolves when the host with this instance registers (spawn waits for its own host). */
  waitForInstance(instance: string, signal: AbortSignal): Promise<SessionEntry> {
    return new Promise((resolve, reject) => {
      const done = (e: SessionEntry): void => {
        this.instanceWaiters.delete(instance);
        resolve(e);
      };
      this.instanceWaiters.set(instance, done);
      signal.addEventListener('abort', () => {
        this.instanceWaiters.delete(instance);
        reject(signal.reason);
      });
    });
  }
}
