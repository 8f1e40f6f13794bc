import { isSessionId } from '../../protocol/ids.js';
import type { SessionType } from '../../protocol/session.js';
import { saneTags } from '../../protocol/tags.js';
import { DebouncedJsonFile } from '../../util/json-file.js';
import type { Logger } from '../../util/log.js';
import type { SessionEntry } from './registry.js';

export const SESSIONS_FILE_VERSION = 1;

/** What survives a daemon restart: enough to list a session and recognise its host when it reconnects. */
export interface PersistedSession {
  id: string;
  host_instance: string;
  type: SessionType;
  command: string;
  args: string[];
  cwd: string;
  term: string;
  createdAt: string;
  lastActivityAt: string;
  pid: number | null;
  /** The child's start time (absent in files written before it was kept). */
  pid_start?: string | null;
  host_pid: number | null;
  cols: number;
  rows: number;
  status: 'disconnected' | 'exited';
  exit_code: number | null;
  exited_at: string | null;
  kill_pending: boolean;
  last_from: string | null;
  last_reply_to: string | null;
  last_thread_id: string | null;
  /** Its groups (issue 21; absent in files written before them). */
  tags?: string[];
}

export interface SessionsFile {
  version: typeof SESSIONS_FILE_VERSION;
  sessions: PersistedSession[];
  killed_instances: [string, number][];
}

export function toPersisted(e: SessionEntry): PersistedSession {
  return {
    id: e.id,
    host_instance: e.hostInstance,
    type: e.type,
    command: e.command,
    args: e.args,
    cwd: e.cwd,
    term: e.term,
    createdAt: e.createdAt,
    lastActivityAt: new Date(e.lastActivityAt).toISOString(),
    pid: e.pid,
    pid_start: e.pidStart,
    host_pid: e.hostPid,
    cols: e.cols,
    rows: e.rows,
    // Whatever it was, after a restart it is disconnected until its host says hello again.
    status: e.status === 'exited' ? 'exited' : 'disconnected',
    exit_code: e.exitCode,
    exited_at: e.exitedAt === null ? null : new Date(e.exitedAt).toISOString(),
    kill_pending: e.killPending,
    last_from: e.lastFrom,
    last_reply_to: e.lastReplyTo,
    last_thread_id: e.lastThreadId,
    tags: e.tags ?? [],
  };
}

export function fromPersisted(p: PersistedSession, now: number): SessionEntry {
  const last = Date.parse(p.lastActivityAt);
  const exitedAt = p.exited_at ? Date.parse(p.exited_at) : NaN;
  return {
    id: p.id,
    hostInstance: p.host_instance,
    type: p.type,
    command: p.command,
    args: p.args,
    cwd: p.cwd,
    term: p.term,
    createdAt: p.createdAt,
    lastActivityAt: Number.isFinite(last) ? last : now,
    pid: p.pid,
    pidStart: typeof p.pid_start === 'string' && /^\d+$/.test(p.pid_start) ? p.pid_start : null,
    orphansEnded: null,
    hostPid: p.host_pid,
    cols: p.cols,
    rows: p.rows,
    bracketedPaste: false,
    altScreen: false,
    status: p.status,
    exitCode: p.exit_code,
    exitedAt: Number.isFinite(exitedAt) ? exitedAt : p.status === 'exited' ? now : null,
    disconnectedAt: p.status === 'disconnected' ? now : null,
    killPending: p.kill_pending,
    lastFrom: p.last_from,
    lastReplyTo: p.last_reply_to,
    lastThreadId: p.last_thread_id,
    link: null,
    viewers: new Set(),
    directViewers: 0,
    idleNotified: false,
    exitWaiters: [],
    tags: saneTags(p.tags),
  };
}

/** A hand-edited or damaged entry is dropped, not trusted: ids become file names, status drives the sweeper. */
function isPersistedSession(v: unknown): v is PersistedSession {
  if (typeof v !== 'object' || v === null) return false;
  const p = v as Record<string, unknown>;
  return (
    isSessionId(p.id) &&
    typeof p.host_instance === 'string' &&
    typeof p.command === 'string' &&
    Array.isArray(p.args) &&
    p.args.every((a) => typeof a === 'string') &&
    typeof p.cwd === 'string' &&
    (p.type === 'spawned' || p.type === 'wrapped') &&
    (p.status === 'disconnected' || p.status === 'exited') &&
    (p.host_pid === null || Number.isInteger(p.host_pid))
  );
}

/** sessions.json: a DebouncedJsonFile whose content is validated entry by entry on load. */
export class SessionStore {
  private readonly json: DebouncedJsonFile<SessionsFile>;

  constructor(file: string, snapshot: () => SessionsFile, log: Logger, debounceMs: number) {
    this.json = new DebouncedJsonFile(file, snapshot, log, debounceMs);
  }

  async load(): Promise<SessionsFile> {
    const empty: SessionsFile = { version: SESSIONS_FILE_VERSION, sessions: [], killed_instances: [] };
    const parsed = await this.json.loadRaw();
    if (parsed === undefined) return empty;
    if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed)) {
      await this.json.setAside('not a JSON object');
      return empty;
    }
    const f = parsed as Partial<SessionsFile>;
    if (f.version !== SESSIONS_FILE_VERSION || !Array.isArray(f.sessions)) {
      await this.json.setAside(`version ${String(f.version)} is not ${SESSIONS_FILE_VERSION}`);
      return empty;
    }
    return {
      version: SESSIONS_FILE_VERSION,
      sessions: f.sessions.filter(isPersistedSession),
      killed_instances: Array.isArray(f.killed_instances) ? f.killed_instances.filter((k) => Array.isArray(k) && typeof k[0] === 'string' && Number.isFinite(k[1])) : [],
    };
  }

  enable(): void {
    this.json.enable();
  }

  schedule(): void {
    this.json.schedule();
  }

  flush(): Promise<void> {
    return this.json.flush();
  }

  settle(): Promise<void> {
    return this.json.settle();
  }
}
