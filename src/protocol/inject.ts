import { replyAddressOf } from './address.js';
import { TeleptyError } from './errors.js';
import { isRecord } from './guard.js';
import { assertSessionId } from './ids.js';
import { expectObject, optBool, optInt, optString, type Fields } from './validate.js';

/** Largest prompt accepted (characters); a 100,000-character prompt is routine, this bounds memory. */
export const MAX_PROMPT_CHARS = 1_000_000;
/** `from`, `reply_to`, `thread_id` are identifiers such as `project:session`, not prose. */
const MAX_REF_CHARS = 256;
/** Default bound on an inject with `wait`: queue wait + typing + submission. */
export const DEFAULT_INJECT_TIMEOUT_MS = 30_000;
export const MAX_INJECT_TIMEOUT_MS = 600_000;

export interface InjectOptions {
  from: string | null;
  reply_to: string | null;
  thread_id: string | null;
  reply_expected: boolean;
  no_enter: boolean;
  /** Answer when the job finished (true) or once it is queued (false, the HTTP default). */
  wait: boolean;
  timeout_ms: number;
  /** The caller's id for this inject (body `inject_id` or the Idempotency-Key header); null: the daemon picks one. */
  inject_id?: string | null;
  /**
   * Type even when a person has a half-typed line in the session (their draft and the prompt become one line), or
   * when the agent waits on a dialog (state `blocked`: the prompt would answer it).
   */
  force?: boolean;
  /** `idle`: held in the daemon until the session's agent is idle (never typed mid-turn), within `timeout_ms`. */
  when?: InjectWhen;
}

/** When a job may be typed: `now` (through the session's queue) or once the agent is `idle`. */
export type InjectWhen = 'now' | 'idle';

export interface InjectRequest extends InjectOptions {
  prompt: string;
}

/** What a client sends to inject (the daemon defaults what is left out); `parseInjectRequest` reads it. */
export interface InjectRequestBody {
  prompt: string;
  from?: string;
  reply_to?: string;
  thread_id?: string;
  reply_expected?: boolean;
  no_enter?: boolean;
  wait?: boolean;
  timeout_ms?: number;
  /** The inject's id: a request that carries one may be repeated safely (the host remembers the id). */
  inject_id?: string;
  /** Type even over a person's half-typed line, or into a session whose agent waits on a dialog. */
  force?: boolean;
  /** `idle`: only once the agent is idle (held until then, within timeout_ms). */
  when?: InjectWhen;
}

/** What a client sends to press Enter (`/submit`): the inject options without a prompt. */
export type SubmitRequestBody = Omit<InjectRequestBody, 'prompt'>;

/** What a client sends to inject into several sessions (`/multicast/inject`). */
export type MulticastRequestBody = InjectRequestBody & { session_ids: string[] };

/**
 * Inject ids: chosen by the caller (any string of this shape) or the daemon (a UUID). A repeat of an id the session
 * host remembers is answered with the first outcome and never typed again.
 */
export const INJECT_ID_PATTERN = /^[A-Za-z0-9][A-Za-z0-9._:-]{0,199}$/;
/** The HTTP header that may carry the inject id instead of the body (lower case, as node gives headers). */
export const IDEMPOTENCY_HEADER = 'idempotency-key';

export function isInjectId(value: unknown): value is string {
  return typeof value === 'string' && INJECT_ID_PATTERN.test(value);
}

/** Which kind a TIMEOUT is: `withdrawn` (nothing typed, never will be) or `pending` (may still be typed). */
export type TimeoutJob = 'withdrawn' | 'pending';

export type InjectStatus = 'queued' | 'written' | 'entered' | 'submitted';

/**
 * `written`: text only (no_enter). `entered`: text and Enter written, the submission not seen (`seen` says what
 * was). `submitted`: the program took the line as a turn: the text left its input row, which is empty again.
 * `queued`: answered before the job ran.
 */
export interface InjectResponse {
  success: true;
  inject_id: string;
  session_id: string;
  status: InjectStatus;
  written_at: string | null;
  submitted_at: string | null;
  /**
   * The seed's block (inject only): null with no_enter; `deferred` while the Enter is still to come (a queued
   * answer). The outcome itself is `status`, never this.
   */
  submit?: { deferred: boolean; strategy: SubmitStrategy } | null;
  /** With `entered`: what the screen showed instead of the submission. */
  seen?: string;
  /** With `submitted`: what proved it: the program's own UserPromptSubmit hook reported this text, or the screen. */
  confirmed_by?: ConfirmedBy;
  /**
   * With `written`, `entered`, `submitted`: when the program was ready for the prompt (its previous prompt gone from its
   * box, no turn running, its input box showing). `submitted_at` − `ready_at` is the part telepty took (issue 25).
   */
  ready_at?: string;
}

/** What proved a submission: the program's hook (it reported the very text), or the screen. */
export type ConfirmedBy = 'hook' | 'screen';

/** How the Enter goes, in the seed's names: apart from the text, to the PTY (our host) or through a 0.1.5x owner. */
export type SubmitStrategy = 'pty_split_cr' | 'ws_split_cr';

export interface MulticastResult {
  success: boolean;
  results: {
    successful: { id: string; inject_id: string; status: InjectStatus }[];
    failed: { id: string; code: string; error: string; inject_id?: string; job?: TimeoutJob }[];
  };
}

/** Control characters other than tab and newlines would be typed as keys (ESC could even end a paste). */
const FORBIDDEN_CONTROL = /[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]/;

/** Line endings become \n; nothing else in the text is ever changed or added. */
export function normalizePrompt(text: string): string {
  return text.replace(/\r\n?/g, '\n');
}

function ref(o: Fields, key: string): string | null {
  const v = optString(o, key, { max: MAX_REF_CHARS, noNul: true });
  if (v !== undefined && FORBIDDEN_CONTROL.test(v)) throw new TeleptyError('INVALID_FIELD', `"${key}" contains control characters`, { field: key });
  return v ?? null;
}

export function parsePrompt(value: unknown): string {
  if (typeof value !== 'string') throw new TeleptyError('INVALID_FIELD', '"prompt" is required and must be a string (the canonical field is prompt, not text or content)', { field: 'prompt' });
  if (value.length === 0) throw new TeleptyError('INVALID_FIELD', '"prompt" is empty; to send Enter alone use /submit (telepty enter)', { field: 'prompt' });
  if (value.length > MAX_PROMPT_CHARS) throw new TeleptyError('PAYLOAD_TOO_LARGE', `"prompt" is ${value.length} characters; at most ${MAX_PROMPT_CHARS} are allowed`, { field: 'prompt' });
  if (FORBIDDEN_CONTROL.test(value)) {
    throw new TeleptyError('INVALID_FIELD', '"prompt" contains control characters (only tab and newlines are allowed): they would be typed as keys', { field: 'prompt' });
  }
  if (/[\ud800-\udbff](?![\udc00-\udfff])|(?<![\ud800-\udbff])[\udc00-\udfff]/.test(value)) {
    throw new TeleptyError('INVALID_FIELD', '"prompt" is not valid Unicode (a lone surrogate)', { field: 'prompt' });
  }
  return normalizePrompt(value);
}

/** The caller's inject id: body `inject_id`, else the Idempotency-Key header; both given must agree. */
export function parseInjectId(o: Fields, header?: string | string[]): string | null {
  const fromHeader = Array.isArray(header) ? header[0] : header;
  const raw = o.inject_id ?? fromHeader;
  if (raw === undefined || raw === null) return null;
  if (!isInjectId(raw)) {
    throw new TeleptyError('INVALID_FIELD', '"inject_id" (or the Idempotency-Key header) must be 1-200 letters, digits, ".", "_", ":" or "-", starting with a letter or digit', { field: 'inject_id' });
  }
  if (o.inject_id !== undefined && fromHeader !== undefined && fromHeader !== o.inject_id) {
    throw new TeleptyError('INVALID_FIELD', '"inject_id" and the Idempotency-Key header differ; give one', { field: 'inject_id' });
  }
  return raw;
}

function parseWhen(v: unknown): InjectWhen {
  if (v === undefined || v === null || v === 'now') return 'now';
  if (v === 'idle') return 'idle';
  throw new TeleptyError('INVALID_FIELD', '"when" must be "now" or "idle" (held until the agent is idle)', { field: 'when' });
}

export function parseInjectOptions(o: Fields, defaults: { wait: boolean }, idHeader?: string | string[]): InjectOptions {
  const from = ref(o, 'from');
  return {
    from,
    reply_to: replyAddressOf(ref(o, 'reply_to'), from),
    thread_id: ref(o, 'thread_id'),
    reply_expected: optBool(o, 'reply_expected') ?? false,
    no_enter: optBool(o, 'no_enter') ?? false,
    wait: optBool(o, 'wait') ?? defaults.wait,
    timeout_ms: optInt(o, 'timeout_ms', 1, MAX_INJECT_TIMEOUT_MS) ?? DEFAULT_INJECT_TIMEOUT_MS,
    inject_id: parseInjectId(o, idHeader),
    force: optBool(o, 'force') ?? false,
    ...(parseWhen(o.when) === 'idle' ? { when: 'idle' as const } : {}),
  };
}

export function parseInjectRequest(body: unknown, idHeader?: string | string[]): InjectRequest {
  const o = expectObject(body);
  return { prompt: parsePrompt(o.prompt), ...parseInjectOptions(o, { wait: false }, idHeader) };
}

/** `{prompt: ""}` without no_enter (with it, there would be nothing to do: refused as an empty prompt). */
export function isEnterOnly(body: unknown): boolean {
  return isRecord(body) && body.prompt === '' && body.no_enter !== true;
}

/**
 * `POST /api/sessions/:id/inject`: a prompt to type, or (the seed's later clients send an empty prompt to press
 * Enter) the same job as /submit.
 */
export type InjectOrEnter = { kind: 'inject'; request: InjectRequest } | { kind: 'enter'; options: InjectOptions };

export function parseInjectOrEnter(body: unknown, idHeader?: string | string[]): InjectOrEnter {
  if (isEnterOnly(body)) return { kind: 'enter', options: parseSubmitRequest(body, idHeader) };
  return { kind: 'inject', request: parseInjectRequest(body, idHeader) };
}

export function parseSubmitRequest(body: unknown, idHeader?: string | string[]): InjectOptions {
  return parseInjectOptions(body === undefined ? {} : expectObject(body), { wait: false }, idHeader);
}

/** The id of one target's job in a multicast: the caller's id with the session id appended (one job per session). */
export function multicastInjectId(base: string | null, sessionId: string): string | null {
  return base === null ? null : `${base}.${sessionId}`.slice(0, 200);
}

/** At most this many targets in one multicast. */
export const MAX_MULTICAST = 256;

export function parseMulticastRequest(body: unknown, idHeader?: string | string[]): InjectRequest & { session_ids: string[] } {
  const o = expectObject(body);
  const ids = o.session_ids;
  if (!Array.isArray(ids) || ids.length === 0 || ids.length > MAX_MULTICAST) {
    throw new TeleptyError('INVALID_FIELD', `"session_ids" must be an array of 1-${MAX_MULTICAST} session ids`, { field: 'session_ids' });
  }
  return { session_ids: [...new Set(ids.map((id) => assertSessionId(id)))], ...parseInjectRequest(o, idHeader) };
}
