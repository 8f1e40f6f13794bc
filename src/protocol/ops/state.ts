import { AGENT_STATES, STATE_SOURCES, parseWaitUntil, type AgentState, type StateSource, type WaitUntil } from '../agent-state.js';
import { TeleptyError } from '../errors.js';
import { arrayOf, isBoolean, isInteger, isString, nullable, oneOf, shape, type Guard } from '../guard.js';
import { MAX_KEYS_PER_CALL, MAX_LITERAL_KEY_CHARS } from '../keys.js';
import { isInjectId } from '../inject.js';
import { expectObject, optInt, optString, reqString } from '../validate.js';
import { noInput, operation } from './contract.js';

/** A session's agent state as `telepty state` and `telepty wait` answer it (issue 19). */
export interface StateAnswer {
  session_id: string;
  state: AgentState;
  /** When this state began (ISO). */
  since: string;
  source: StateSource | null;
  detail: string | null;
  /** Which evidence decided. */
  reason: string;
  /** Every kind of evidence as the host's tracker sees it (`state --explain`). */
  explain: string[];
}

export interface WaitAnswer extends StateAnswer {
  /** False when the wait's bound passed first. */
  reached: boolean;
}

/**
 * One wait request is held at most this long: a client waits longer by asking again (an HTTP request held for
 * minutes dies in proxies and idle timeouts; 25 s stays under the usual 30 s ones).
 */
export const WAIT_MAX_MS = 25_000;

export interface WaitRequest {
  until: WaitUntil;
  timeout_ms: number;
}

export function parseWaitRequest(body: unknown): WaitRequest {
  const o = expectObject(body);
  return { until: parseWaitUntil(o.until), timeout_ms: optInt(o, 'timeout_ms', 0, WAIT_MAX_MS) ?? WAIT_MAX_MS };
}

export function parseKeysRequest(body: unknown): { keys: string[] } {
  const o = expectObject(body);
  const keys = o.keys;
  if (!Array.isArray(keys) || keys.length === 0 || keys.length > MAX_KEYS_PER_CALL) {
    throw new TeleptyError('INVALID_FIELD', `"keys" must be a list of 1-${MAX_KEYS_PER_CALL} key names (Enter, Escape, C-c, Up, Down, Tab…) or short texts`, { field: 'keys' });
  }
  for (const k of keys) {
    if (typeof k !== 'string' || k.length === 0 || k.length > MAX_LITERAL_KEY_CHARS || k.includes('\0')) {
      throw new TeleptyError('INVALID_FIELD', `each of "keys" must be a key name or a text of 1-${MAX_LITERAL_KEY_CHARS} characters without NUL`, { field: 'keys' });
    }
  }
  return { keys: keys as string[] };
}

const isStateAnswerShape = {
  session_id: isString,
  state: oneOf(...AGENT_STATES),
  since: isString,
  source: nullable(oneOf(...STATE_SOURCES)),
  detail: nullable(isString),
  reason: isString,
  explain: arrayOf(isString),
};

export const isStateAnswer: Guard<StateAnswer> = shape<StateAnswer>(isStateAnswerShape);

/** `GET /api/sessions/:id/state`: the agent's state, with what decided it. */
export const sessionStateOp = operation({
  name: 'sessions.state',
  method: 'GET',
  path: '/api/sessions/:id/state',
  parse: noInput,
  isAnswer: isStateAnswer,
});

/** `POST /api/sessions/:id/wait` `{until, timeout_ms?}`: answered once the state is reached, or when the bound passes. */
export const waitStateOp = operation<'/api/sessions/:id/wait', { until: WaitUntil; timeout_ms?: number }, undefined, WaitRequest, WaitAnswer>({
  name: 'sessions.wait',
  method: 'POST',
  path: '/api/sessions/:id/wait',
  parse: ({ body }) => parseWaitRequest(body),
  isAnswer: shape<WaitAnswer>({ ...isStateAnswerShape, reached: isBoolean }),
});

export interface KeysAnswer {
  session_id: string;
  /** Each key as written: its name, or `text` for a literal. */
  keys: string[];
  bytes: number;
}

/** `POST /api/sessions/:id/keys` `{keys: [...]}`: keys by tmux name written to the session as they are. */
export const sendKeysOp = operation<'/api/sessions/:id/keys', { keys: string[] }, undefined, { keys: string[] }, KeysAnswer>({
  name: 'sessions.keys',
  method: 'POST',
  path: '/api/sessions/:id/keys',
  parse: ({ body }) => parseKeysRequest(body),
  isAnswer: shape<KeysAnswer>({ session_id: isString, keys: arrayOf(isString), bytes: isInteger }),
});

/** What `telepty hook` sends: the program and event named on the hook's command line, and the hook's JSON as given. */
export interface HookRequest {
  program: string;
  event: string;
  input: unknown;
  /** The session's host instance: the session is found by it after a rename (the hook's id is the old one). */
  instance?: string;
}

export function parseHookRequest(body: unknown): HookRequest {
  const o = expectObject(body);
  const instance = optString(o, 'instance', { min: 1, max: 128 });
  return { program: reqString(o, 'program', { min: 1, max: 32 }), event: reqString(o, 'event', { min: 1, max: 64 }), input: o.input ?? {}, ...(instance !== undefined ? { instance } : {}) };
}

/**
 * `POST /api/sessions/:id/hook` `{program, event, input}`: what the program's hook said (`telepty hook`); the daemon
 * maps it (terminal/agent-hooks.ts) and hands it to the session's host, whose tracker decides the state.
 */
export const hookReportOp = operation<'/api/sessions/:id/hook', HookRequest, undefined, HookRequest, StateAnswer>({
  name: 'sessions.hook',
  method: 'POST',
  path: '/api/sessions/:id/hook',
  parse: ({ body }) => parseHookRequest(body),
  isAnswer: isStateAnswer,
});

/** Where a `type: "http"` hook's report goes: the query names the program, the event and the host instance. */
export interface HttpHookQuery {
  program: string;
  event: string;
  instance?: string;
}

/**
 * `POST /api/sessions/:id/hooks?program=P&event=E[&instance=I]` with the hook's own JSON as the body: what Claude
 * Code's `type: "http"` hooks send (agent-hooks.ts claudeHttpHookSettings). The same report as `sessions.hook`.
 */
export const httpHookOp = operation<'/api/sessions/:id/hooks', unknown, HttpHookQuery, HookRequest, StateAnswer>({
  name: 'sessions.hook-http',
  method: 'POST',
  path: '/api/sessions/:id/hooks',
  parse: ({ body, query }) => parseHookRequest({ program: query.get('program') ?? undefined, event: query.get('event') ?? undefined, instance: query.get('instance') ?? undefined, input: body ?? {} }),
  query: (q) => new URLSearchParams({ program: q.program, event: q.event, ...(q.instance !== undefined ? { instance: q.instance } : {}) }),
  isAnswer: isStateAnswer,
});

/**
 * `read --since`: what a session showed after one of its prompts was submitted, at most this many lines (the last
 * ones) and characters: an answer is read by a person or an agent, not archived.
 */
export const SINCE_MAX_LINES = 2_000;
export const SINCE_MAX_CHARS = 200_000;

/** What a host answers for `since` (the daemon adds the session id). */
export interface SinceScreen {
  inject_id: string;
  /** When the host saw the prompt submitted (ISO). */
  submitted_at: string;
  /** The rows the program wrote or changed from the prompt's submission on, as text (the last ones when cut). */
  lines: string[];
  /** How many such rows there were before the bound. */
  total_lines: number;
  truncated: boolean;
  /**
   * The rows the prompt's output started on have left the scrollback (or were redrawn beyond recognition): `lines`
   * is then the whole scrollback kept, bounded.
   */
  lost: boolean;
}

export interface SinceAnswer extends SinceScreen {
  session_id: string;
  /** The session has exited: this answer comes from the last screen its host sent (asked with `last_screen`). */
  exited?: true;
  exit_code?: number | null;
}

/**
 * The answer's rows as `since` gives them: the last SINCE_MAX_LINES, and no more than SINCE_MAX_CHARS characters (the
 * oldest rows go first). `before`: rows of the answer that were no longer there to cut (a last screen's kept rows
 * began below the answer's start); they count in total_lines and make it truncated.
 */
export function boundedSince(rows: readonly string[], before = 0): Pick<SinceScreen, 'lines' | 'total_lines' | 'truncated'> {
  let kept = rows.slice(-SINCE_MAX_LINES);
  let chars = kept.reduce((n, r) => n + r.length + 1, 0);
  let drop = 0;
  while (chars > SINCE_MAX_CHARS && drop < kept.length) chars -= (kept[drop++] as string).length + 1;
  if (drop > 0) kept = kept.slice(drop);
  return { lines: kept, total_lines: rows.length + before, truncated: kept.length < rows.length || before > 0 };
}

export const isSinceScreenShape = {
  inject_id: isString,
  submitted_at: isString,
  lines: arrayOf(isString),
  total_lines: isInteger,
  truncated: isBoolean,
  lost: isBoolean,
};

/** `last_screen`: a session that has exited answers from the last screen its host sent, not SESSION_EXITED (as a screen read). */
export interface SinceQuery {
  since: string;
  last_screen?: boolean;
}

export function parseSinceQuery(query: URLSearchParams): SinceQuery {
  const since = query.get('since');
  if (!isInjectId(since)) throw new TeleptyError('INVALID_FIELD', '"since" must be an inject id (1-200 letters, digits, ".", "_", ":" or "-")', { field: 'since' });
  return { since, ...(query.get('last_screen') === '1' ? { last_screen: true } : {}) };
}

/**
 * `GET /api/sessions/:id/answer?since=INJECT_ID[&last_screen=1]`: what the session showed after that prompt was
 * submitted, rendered as text and bounded (the answer to it). 404 `NOT_FOUND` when its host does not remember that
 * inject (it keeps the last INJECT_MARKS_KEPT submitted in each session). With last_screen, an exited session still
 * listed answers from its last screen (`exited`, `exit_code`), as `read` does.
 */
export const readSinceOp = operation<'/api/sessions/:id/answer', undefined, SinceQuery, SinceQuery, SinceAnswer>({
  name: 'sessions.answer',
  method: 'GET',
  path: '/api/sessions/:id/answer',
  parse: ({ query }) => parseSinceQuery(query),
  query: (q) => new URLSearchParams({ since: q.since, ...(q.last_screen ? { last_screen: '1' } : {}) }),
  isAnswer: shape<SinceAnswer>({ session_id: isString, ...isSinceScreenShape }),
});

export const STATE_OPERATIONS = [sessionStateOp, waitStateOp, sendKeysOp, hookReportOp, httpHookOp, readSinceOp] as const;
