/**
 * The daemon's sessions as its operations see them, with no transport in them: a session's state (SessionEntry),
 * the host that serves it (HostHandle), its viewers (ViewerHandle), and SessionTarget: the one object an address
 * (`id` or `id@machine`) resolves to. Below both the registry (sessions/) and the injector (inject/): neither
 * imports the other's module for these.
 */
import type { DaemonToHost, HostLastScreen, HostRequestMap, HostRequestOp } from '../protocol/host-link.js';
import type { InjectOptions, InjectResponse } from '../protocol/inject.js';
import type { RecordingInfo } from '../protocol/recording.js';
import type { KillResponse, RenameResponse, ScreenQuery, ScreenSnapshot, SessionStatus, SessionType } from '../protocol/session.js';

/** A connected host as the registry sees it (host-hub implements it over a host link; legacy-owner over a 0.1.5x owner socket). */
export interface HostHandle {
  send(message: DaemonToHost): void;
  request<K extends HostRequestOp>(op: K, args: HostRequestMap[K]['args'], timeoutMs: number): Promise<HostRequestMap[K]['result']>;
  close(code: number, reason: string): void;
}

/** An attached viewer (viewer-hub implements it over a WebSocket). */
export interface ViewerHandle {
  /** False until its replay was sent; output before that is already in the replay. */
  ready: boolean;
  /** Fell behind (stopped confirming output): gets none until it catches up, then a fresh replay. */
  readonly behind: boolean;
  /** Queue a ready-made message; the viewer is dropped (returns false) when it is too far behind. */
  send(text: string | Buffer): boolean;
  close(code: number, reason: string): void;
}

export interface SessionEntry {
  id: string;
  hostInstance: string;
  type: SessionType;
  command: string;
  args: string[];
  cwd: string;
  term: string;
  createdAt: string;
  lastActivityAt: number;
  pid: number | null;
  /** The child's start time (/proc/<pid>/stat field 22) once read: with the pid, it names that process for good. */
  pidStart: string | null;
  /** Processes of the session ended after its host died (reported by `kill`), or null. */
  orphansEnded: number | null;
  hostPid: number | null;
  cols: number;
  rows: number;
  bracketedPaste: boolean;
  altScreen: boolean;
  status: SessionStatus;
  exitCode: number | null;
  exitedAt: number | null;
  disconnectedAt: number | null;
  /** Killed while its host was away: the host is told to end its child when it comes back. */
  killPending: boolean;
  lastFrom: string | null;
  lastReplyTo: string | null;
  lastThreadId: string | null;
  link: HostHandle | null;
  viewers: Set<ViewerHandle>;
  /** Viewers its host serves itself (handed over at upgrade); reported by the host. */
  directViewers: number;
  idleNotified: boolean;
  exitWaiters: ((code: number | null) => void)[];
  /**
   * The screen its host sent with its exit report (`read` of the exited session answers from it). In memory only, for
   * as long as the exited entry is listed: a daemon restarted since has none (SESSION_EXITED, as from an older host).
   */
  lastScreen?: HostLastScreen;
  /** The recording its host reports (issue 22); absent until one says. */
  recording?: RecordingInfo | null;
  /** Its groups (issue 21): from the first hello (spawn/wrap --tag), then `telepty tag`; persisted. */
  tags?: string[];
}

/** Viewers attached to a session: through the daemon, and served by its host directly. */
export function clientCount(e: SessionEntry): number {
  return e.viewers.size + e.directViewers;
}

/** Where an inject came from, carried into its events (the bus auto-router adds turn_id and friends). */
export interface InjectOrigin {
  source_type: 'api' | 'bus_auto_route';
  extra?: Record<string, unknown>;
}

/**
 * One session wherever it runs: what an address resolves to (sessions/targets.ts). Today every target is local (a
 * host of ours, or a 0.1.5x owner, connected to this daemon); a session on another machine will be a remote target
 * that does the same through its machine's daemon.
 */
export interface SessionTarget {
  /** The session's id on its machine. */
  readonly id: string;
  /** The machine it runs on. */
  readonly machineId: string;
  /** True when its host is served by this daemon. */
  readonly local: boolean;
  /** Type `prompt` and (unless no_enter) submit it. */
  inject(prompt: string, opts: InjectOptions, origin?: InjectOrigin): Promise<InjectResponse>;
  /** Enter alone, through the same queue. */
  enter(opts: InjectOptions): Promise<InjectResponse>;
  /** What its screen shows. */
  read(q: ScreenQuery): Promise<ScreenSnapshot>;
  kill(opts?: { wait: boolean }): Promise<KillResponse>;
  rename(newId: string): Promise<RenameResponse>;
  /** Attach a viewer: a replay, then live output, until the returned function detaches it. */
  subscribe(viewer: ViewerHandle): () => void;
}
