import { promises as fs } from 'node:fs';
import { isSessionId } from '../../protocol/ids.js';
import type { SessionType } from '../../protocol/session.js';
import { readTextIfExists, writeFileAtomic } from '../../util/files.js';
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
    idleNotified: false,
    exitWaiters: [],
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

/**
 * sessions.json: written atomically (temp + rename), coalesced so a burst of changes is one write, never a
 * full rewrite per event. A file it cannot read is moved aside, not deleted, and the daemon starts empty
 * (hosts re-register themselves when they reconnect).
 */
export class SessionStore {
  private timer: NodeJS.Timeout | undefined;
  private writing: Promise<void> = Promise.resolve();
  /** Only the daemon that won the singleton claim writes; changes before that are written on enable(). */
  private enabled = false;
  private dirty = false;

  constructor(
    private readonly file: string,
    private readonly snapshot: () => SessionsFile,
    private readonly log: Logger,
    /** Changes within this window are written once. */
    private readonly debounceMs: number,
  ) {}

  async load(): Promise<SessionsFile> {
    const empty: SessionsFile = { version: SESSIONS_FILE_VERSION, sessions: [], killed_instances: [] };
    const text = await readTextIfExists(this.file);
    if (text === null) return empty;
    let parsed: unknown;
    try {
      parsed = JSON.parse(text);
    } catch (err) {
      if (!(err instanceof SyntaxError)) throw err;
      await this.setAside(`not JSON (${err.message})`);
      return empty;
    }
    if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed)) {
      await this.setAside('not a JSON object');
      return empty;
    }
    const f = parsed as Partial<SessionsFile>;
    if (f.version !== SESSIONS_FILE_VERSION || !Array.isArray(f.sessions)) {
      await this.setAside(`version ${String(f.version)} is not ${SESSIONS_FILE_VERSION}`);
      return empty;
    }
    return {
      version: SESSIONS_FILE_VERSION,
      sessions: f.sessions.filter(isPersistedSession),
      killed_instances: Array.isArray(f.killed_instances) ? f.killed_instances.filter((k) => Array.isArray(k) && typeof k[0] === 'string' && Number.isFinite(k[1])) : [],
    };
  }

  private async setAside(why: string): Promise<void> {
    const aside = `${this.file}.unreadable-${Date.now()}`;
    this.log.error(`${this.file} is unreadable (${why}); moved to ${aside}, starting with no sessions`);
    await fs.rename(this.file, aside);
  }

  /** Start writing (after the claim is won), including any change made before. */
  enable(): void {
    this.enabled = true;
    if (this.dirty) this.schedule();
  }

  schedule(): void {
    this.dirty = true;
    if (!this.enabled) return;
    this.timer ??= setTimeout(() => {
      this.timer = undefined;
      void this.write();
    }, this.debounceMs);
  }

  /** Write now (shutdown), after any write in progress. */
  async flush(): Promise<void> {
    clearTimeout(this.timer);
    this.timer = undefined;
    if (this.enabled) await this.write();
  }

  private write(): Promise<void> {
    this.dirty = false;
    this.writing = this.writing.then(async () => {
      try {
        await writeFileAtomic(this.file, `${JSON.stringify(this.snapshot(), null, 2)}\n`);
      } catch (err) {
        this.log.error(`could not persist sessions to ${this.file}`, err);
      }
    });
    return this.writing;
  }
}
