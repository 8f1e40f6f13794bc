import type { AgentState, StateSource } from './agent-state.js';
import { TeleptyError } from './errors.js';
import { assertNewSessionId } from './ids.js';
import { parseRecordRequest, type RecordingInfo, type RecordRequest } from './recording.js';
import { parseTags } from './tags.js';
import { expectObject, optInt, optString, optStringArray, reqString, type Fields } from './validate.js';

export type SessionType = 'spawned' | 'wrapped';
export type SessionStatus = 'connected' | 'disconnected' | 'exited';

export interface SessionLocator {
  machine_id: string;
  session_id: string;
  project_id: string | null;
}

/** A session as every client sees it: the seed's fields first, then telepty's. */
export interface SessionObject {
  id: string;
  locator: SessionLocator;
  type: SessionType;
  command: string;
  cwd: string;
  createdAt: string;
  lastActivityAt: string;
  idleSeconds: number;
  active_clients: number;
  status: SessionStatus;
  /** The child program's pid (null until known). */
  pid: number | null;
  /** The session host process that owns the PTY. */
  host_pid: number | null;
  args: string[];
  /** The terminal type the program sees (TERM): the user's own for wrapped sessions. */
  term: string;
  cols: number;
  rows: number;
  bracketed_paste: boolean;
  alt_screen: boolean;
  exit_code: number | null;
  /** Who last sent this session a prompt, for `telepty reply` (issue: inject). */
  last_from: string | null;
  last_reply_to: string | null;
  last_thread_id: string | null;
  /** The seed's names of last_from and last_reply_to (the original `telepty reply` reads them). */
  lastInjectFrom: string | null;
  lastInjectReplyTo: string | null;
  /** The seed's: the id asked for when it resolved to another; ids resolve exactly here, so always null. */
  alias: null;
  /** Its groups (issue 21: `spawn --tag`, `telepty tag`); absent from daemons before them. */
  tags?: string[];
  /** The asciicast recording under way (`telepty record`, `spawn --record`), or null (the daemon always says). */
  recording?: RecordingInfo | null;
  /** The agent's state (issue 19; absent from daemons before it): idle, working, blocked, exited… */
  state?: AgentState;
  /** When that state began (ISO). */
  state_since?: string;
  /** The evidence that decided it: hook, terminal, screen; null before any. */
  state_source?: StateSource | null;
  /** For `blocked`, the question as shown. */
  state_detail?: string | null;
}

/** `GET /api/sessions?idle_gt=N` (the seed's filter): only sessions idle for more than N seconds. */
export function parseIdleFilter(q: URLSearchParams): number | null {
  const raw = q.get('idle_gt');
  if (raw === null) return null;
  const n = Number(raw);
  if (raw.trim() === '' || !Number.isFinite(n) || n < 0) throw new TeleptyError('INVALID_FIELD', '"idle_gt" must be a number of seconds (0 or more)', { field: 'idle_gt' });
  return n;
}

/** Bounds on what a spawn may ask for: ids and argv end up in process tables and logs. */
export const SPAWN_LIMITS = {
  commandMax: 4096,
  argsMax: 1024,
  argMax: 128 * 1024,
  /** Total bytes of env keys and values: Linux's ARG_MAX is shared by argv and env; 256 KiB is generous. */
  envBytesMax: 256 * 1024,
  envEntriesMax: 4096,
  colsMax: 1000,
  rowsMax: 1000,
} as const;

export const DEFAULT_COLS = 80;
export const DEFAULT_ROWS = 24;

const ENV_KEY = /^[A-Za-z_][A-Za-z0-9_]*$/;

export interface SpawnRequest {
  session_id?: string;
  /** The caller's id for this spawn (body `request_id` or the Idempotency-Key header): a repeat answers the session the first made. */
  request_id?: string;
  command: string;
  args: string[];
  cwd?: string;
  env: Record<string, string>;
  cols: number;
  rows: number;
  /** Record the session from its start (the daemon fills in the defaults: a file in the recordings folder, v2). */
  record?: RecordRequest;
  /** Its groups (issue 21). */
  tags?: string[];
}

/** What a client sends to spawn (fields the daemon defaults may be left out); `parseSpawnRequest` reads it. */
export interface SpawnRequestBody {
  session_id?: string;
  command: string;
  args?: string[];
  cwd?: string;
  env?: Record<string, string>;
  cols?: number;
  rows?: number;
  /** The caller's id for this spawn: a repeat of it is answered with the session the first made. */
  request_id?: string;
  /** Record it: `{file?, format?: 2|3, input?}` (an absolute file; default `<recordings dir>/<id>-<time>.cast`). */
  record?: RecordRequest;
  /** Its groups (issue 21): tags in the alphabet of ids, at most 16. */
  tags?: string[];
}

export interface SpawnResponse {
  session_id: string;
  command: string;
  cwd: string;
  pid: number;
  session: SessionObject;
}

export function parseEnv(value: unknown, field = 'env'): Record<string, string> {
  if (value === undefined || value === null) return {};
  const o = expectObject(value, `"${field}"`);
  const entries = Object.entries(o);
  if (entries.length > SPAWN_LIMITS.envEntriesMax) {
    throw new TeleptyError('INVALID_FIELD', `"${field}" has ${entries.length} entries; at most ${SPAWN_LIMITS.envEntriesMax} are allowed`, { field });
  }
  let bytes = 0;
  const out: Record<string, string> = {};
  for (const [k, v] of entries) {
    if (!ENV_KEY.test(k) || k.length > 1024) throw new TeleptyError('INVALID_FIELD', `"${field}" has an invalid variable name ${JSON.stringify(k.slice(0, 40))}`, { field });
    if (typeof v !== 'string' || v.includes('\0')) throw new TeleptyError('INVALID_FIELD', `"${field}.${k}" must be a string without NUL`, { field });
    bytes += k.length + v.length + 2;
    out[k] = v;
  }
  if (bytes > SPAWN_LIMITS.envBytesMax) {
    throw new TeleptyError('INVALID_FIELD', `"${field}" is ${bytes} bytes; at most ${SPAWN_LIMITS.envBytesMax} are allowed`, { field });
  }
  return out;
}

/** Spawn request ids: the same shape as inject ids. */
const REQUEST_ID_PATTERN = /^[A-Za-z0-9][A-Za-z0-9._:-]{0,199}$/;

export function parseSpawnRequest(body: unknown, idHeader?: string | string[]): SpawnRequest {
  const o: Fields = expectObject(body);
  const rawId = o.request_id ?? (Array.isArray(idHeader) ? idHeader[0] : idHeader);
  if (rawId !== undefined && rawId !== null && (typeof rawId !== 'string' || !REQUEST_ID_PATTERN.test(rawId))) {
    throw new TeleptyError('INVALID_FIELD', '"request_id" (or the Idempotency-Key header) must be 1-200 letters, digits, ".", "_", ":" or "-", starting with a letter or digit', { field: 'request_id' });
  }
  const sessionId = o.session_id === undefined || o.session_id === null ? undefined : assertNewSessionId(o.session_id);
  const command = reqString(o, 'command', { min: 1, max: SPAWN_LIMITS.commandMax, noNul: true });
  if (command.trim().length === 0) throw new TeleptyError('INVALID_COMMAND', 'the command is empty');
  const cwd = optString(o, 'cwd', { min: 1, max: 4096, noNul: true });
  const record = o.record === undefined || o.record === null || o.record === false ? undefined : parseRecordRequest(o.record === true ? {} : o.record);
  const tags = parseTags(o.tags);
  return {
    ...(sessionId ? { session_id: sessionId } : {}),
    ...(typeof rawId === 'string' ? { request_id: rawId } : {}),
    command,
    args: optStringArray(o, 'args', SPAWN_LIMITS.argsMax, { max: SPAWN_LIMITS.argMax, noNul: true }) ?? [],
    ...(cwd !== undefined ? { cwd } : {}),
    env: parseEnv(o.env),
    cols: optInt(o, 'cols', 2, SPAWN_LIMITS.colsMax) ?? DEFAULT_COLS,
    rows: optInt(o, 'rows', 2, SPAWN_LIMITS.rowsMax) ?? DEFAULT_ROWS,
    ...(record ? { record } : {}),
    ...(tags && tags.length > 0 ? { tags } : {}),
  };
}

export interface RenameRequest {
  new_id: string;
}

export function parseRenameRequest(body: unknown): RenameRequest {
  const o = expectObject(body);
  return { new_id: assertNewSessionId(o.new_id ?? o.newId, 'new id') };
}

export interface RenameResponse {
  success: true;
  old_id: string;
  new_id: string;
}

export interface KillResponse {
  success: true;
  id: string;
  /**
   * With `?wait=1` (the CLI): `killed`: the host ended its child and the session is gone; `pending`: the host is
   * away and will be told; `removed`: a 0.1.5x bridge owned it (its protocol has no kill): its link was closed.
   * Without (the seed's DELETE): `closing`, at once; the session is already gone from the list.
   */
  status: 'killed' | 'pending' | 'removed' | 'closing';
  exit_code?: number | null;
  /** The session had exited before this kill (it was only removed from the list; `exit_code` is the program's). */
  already_exited?: boolean;
  /** The session's host had died: what it left running was ended (`orphans_ended` processes). */
  host_gone?: boolean;
  orphans_ended?: number;
}

export interface ScreenQuery {
  lines?: number;
  scrollback: boolean;
  ansi: boolean;
}

/**
 * `GET /api/sessions/:id/screen`'s query: a screen's, and `last_screen`: a session that has exited answers with the
 * last screen its host sent (`exited: true`, `exit_code`) instead of SESSION_EXITED. Asked for, not the default: a
 * caller that polls the screen until it fails (wait_for before it, a seed-era orchestrator) keeps its ending.
 */
export interface ReadScreenQuery extends ScreenQuery {
  last_screen?: boolean;
}

export const SCREEN_LINES_MAX = 100_000;

export function parseScreenQuery(q: URLSearchParams): ReadScreenQuery {
  const linesRaw = q.get('lines');
  let lines: number | undefined;
  if (linesRaw !== null) {
    lines = Number(linesRaw);
    if (!/^\d+$/.test(linesRaw) || lines < 1 || lines > SCREEN_LINES_MAX) {
      throw new TeleptyError('INVALID_FIELD', `"lines" must be an integer 1-${SCREEN_LINES_MAX}`, { field: 'lines' });
    }
  }
  const flag = (name: string): boolean => {
    const v = q.get(name);
    return v === '1' || v === 'true';
  };
  return { ...(lines !== undefined ? { lines } : {}), scrollback: flag('scrollback'), ansi: flag('ansi'), ...(flag('last_screen') ? { last_screen: true } : {}) };
}

/** The screen as a terminal emulator rendered it. */
export interface ScreenState {
  cols: number;
  rows: number;
  cursor: { x: number; y: number };
  alt_screen: boolean;
  bracketed_paste: boolean;
  lines: string[];
}

/** `GET /api/sessions/:id/screen`. */
export interface ScreenSnapshot extends ScreenState {
  session_id: string;
  /** The session has exited: this is its last screen (asked with `last_screen`). */
  exited?: true;
  /** With `exited`: its program's exit code (128 + the signal that ended it; null when unknown). */
  exit_code?: number | null;
}
