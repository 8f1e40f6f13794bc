import { IDEMPOTENCY_HEADER } from '../inject.js';
import { REPEAT_HEADER } from '../headers.js';
import { arrayOf, isArray, isBoolean, isInteger, isNumber, isRecord, isString, isTrue, nullable, oneOf, optional, shape, type Guard } from '../guard.js';
import {
  parseIdleFilter,
  parseRenameRequest,
  parseScreenQuery,
  parseSpawnRequest,
  type KillResponse,
  type RenameRequest,
  type ReadScreenQuery,
  type RenameResponse,
  type ScreenSnapshot,
  type SessionObject,
  type SpawnRequest,
  type SpawnRequestBody,
  type SpawnResponse,
} from '../session.js';
import { parseTagEdit, type TagEdit, type TagsResponse } from '../tags.js';
import { isFlag, noInput, operation } from './contract.js';

/** A session as the daemon lists it: the fields every client reads. */
export const isSessionObject: Guard<SessionObject> = shape<SessionObject>({
  id: isString,
  type: isString,
  command: isString,
  cwd: isString,
  status: oneOf('connected', 'disconnected', 'exited'),
  args: isArray,
  idleSeconds: isNumber,
  active_clients: isNumber,
  pid: nullable(isInteger),
});

/** `GET /api/sessions[?idle_gt=N]`: every session (idle for more than N seconds). */
export const listSessionsOp = operation({
  name: 'sessions.list',
  method: 'GET',
  path: '/api/sessions',
  parse: ({ query }): number | null => parseIdleFilter(query),
  isAnswer: arrayOf(isSessionObject),
  query: (q: { idle_gt?: number }) => new URLSearchParams(q.idle_gt === undefined ? {} : { idle_gt: String(q.idle_gt) }),
});

/** `POST /api/sessions/spawn`: start a session host running a program; answered once it registered (201). */
export const spawnSessionOp = operation<'/api/sessions/spawn', SpawnRequestBody, undefined, { spawn: SpawnRequest; repeat: boolean }, SpawnResponse>({
  name: 'sessions.spawn',
  method: 'POST',
  path: '/api/sessions/spawn',
  status: 201,
  parse: ({ body, headers }) => ({ spawn: parseSpawnRequest(body, headers[IDEMPOTENCY_HEADER]), repeat: headers[REPEAT_HEADER] === '1' }),
  isAnswer: shape<SpawnResponse>({ session_id: isString, command: isString, cwd: isString, pid: isInteger, session: isSessionObject }),
});

/** The seed's answer to a register: the session's id and what is known of it. */
export interface RegisterResponse {
  session_id: string;
  type: string;
  command: string;
  cwd: string;
  reregistered?: boolean;
}

/**
 * `POST /api/sessions/register` (the seed's 0.1.5x bridge): a placeholder for a wrapped session (201, or 200 again).
 * Answered as a RegisterResponse; typed as an object until the service's registerPlaceholder says so.
 */
export const registerSessionOp = operation<'/api/sessions/register', { session_id: string; command?: string; cwd?: string; cols?: number; rows?: number }, undefined, unknown, Record<string, unknown>>({
  name: 'sessions.register',
  method: 'POST',
  path: '/api/sessions/register',
  // The body is checked by the service (its fields are the seed's, read with defaults).
  parse: ({ body }) => body,
  isAnswer: isRecord,
});

/** `GET /api/sessions/:id`: one session. (A WebSocket upgrade on the same path is the viewer: VIEWER_PATH.) */
export const getSessionOp = operation({
  name: 'sessions.get',
  method: 'GET',
  path: '/api/sessions/:id',
  parse: noInput,
  isAnswer: isSessionObject,
});

/** `PATCH /api/sessions/:id` `{new_id}`: rename. */
export const renameSessionOp = operation<'/api/sessions/:id', { new_id: string }, undefined, RenameRequest, RenameResponse>({
  name: 'sessions.rename',
  method: 'PATCH',
  path: '/api/sessions/:id',
  parse: ({ body }) => parseRenameRequest(body),
  isAnswer: shape<RenameResponse>({ success: isTrue, old_id: isString, new_id: isString }),
});

/** `DELETE /api/sessions/:id[?wait=1]`: kill; with wait, answered once the child has ended. */
export const killSessionOp = operation<'/api/sessions/:id', undefined, { wait?: boolean }, { wait: boolean }, KillResponse>({
  name: 'sessions.kill',
  method: 'DELETE',
  path: '/api/sessions/:id',
  parse: ({ query }) => ({ wait: isFlag(query.get('wait')) }),
  isAnswer: shape<KillResponse>({ success: isTrue, id: isString, status: oneOf('killed', 'pending', 'removed', 'closing') }),
  query: (q) => new URLSearchParams(q.wait ? { wait: '1' } : {}),
});

function screenQueryString(q: ReadScreenQuery): URLSearchParams {
  const params = new URLSearchParams();
  if (q.lines !== undefined) params.set('lines', String(q.lines));
  if (q.scrollback) params.set('scrollback', '1');
  if (q.ansi) params.set('ansi', '1');
  if (q.last_screen) params.set('last_screen', '1');
  return params;
}

/**
 * `GET /api/sessions/:id/screen[?lines=N&scrollback=1&ansi=1&last_screen=1]`: the rendered screen; with last_screen,
 * an exited session's last one (`exited: true`, `exit_code`) while it is listed and its host sent it.
 */
export const readScreenOp = operation<'/api/sessions/:id/screen', undefined, ReadScreenQuery, ReadScreenQuery, ScreenSnapshot>({
  name: 'sessions.screen',
  method: 'GET',
  path: '/api/sessions/:id/screen',
  parse: ({ query }) => parseScreenQuery(query),
  isAnswer: shape<ScreenSnapshot>({
    session_id: isString,
    cols: isInteger,
    rows: isInteger,
    lines: arrayOf((l: unknown): l is string => typeof l === 'string'),
    cursor: isRecord,
    alt_screen: isBoolean,
    bracketed_paste: isBoolean,
    exited: optional(isTrue),
    exit_code: optional(nullable(isInteger)),
  }),
  query: screenQueryString,
});

/** `PATCH /api/sessions/:id/tags` `{add?, remove?, clear?}`: the session's tags (issue 21), kept with it; answered once on disk. */
export const tagSessionOp = operation<'/api/sessions/:id/tags', { add?: string[]; remove?: string[]; clear?: boolean }, undefined, TagEdit, TagsResponse>({
  name: 'sessions.tags',
  method: 'PATCH',
  path: '/api/sessions/:id/tags',
  parse: ({ body }) => parseTagEdit(body),
  isAnswer: shape<TagsResponse>({ session_id: isString, tags: arrayOf(isString) }),
});

export const SESSION_OPERATIONS = [listSessionsOp, spawnSessionOp, registerSessionOp, getSessionOp, renameSessionOp, killSessionOp, readScreenOp, tagSessionOp] as const;
