/**
 * The host ↔ daemon link: one WebSocket per session host at /api/host, versioned. JSON text frames carry the
 * messages below; binary frames (host → daemon) carry raw PTY output bytes while viewers are attached (a UTF-8
 * character may be cut across frames: the daemon decodes them as one stream).
 */
import type { ErrorBody } from './errors.js';
import { parseJsonFrame } from './json.js';
import type { RecordingInfo, RecordSpec } from './recording.js';
import type { ScreenQuery, ScreenState, SessionType } from './session.js';
import { isAgentStateInfo, isHookEvent, type AgentStateInfo, type HookReport } from './agent-state.js';
import type { SinceScreen } from './ops/state.js';

/** What a host answers to a screen request (the daemon adds the session id). */
export type HostScreen = ScreenState;

export const HOST_LINK_PATH = '/api/host';
/** Largest frame either end of the link accepts: a replay or screen answer carries the whole scrollback. */
export const HOST_LINK_MAX_PAYLOAD = 64 * 1024 * 1024;
/**
 * v3 added exactly-once delivery: `inject_ack` (daemon → host) for `inject_result`, which the host keeps and
 * sends again after a reconnect until acknowledged; `meta` on inject jobs and results; `known` on inject replies.
 */
export const HOST_LINK_VERSION = 3;
/** The oldest host link a daemon still accepts (a v2 host gets no acks: it never keeps results). */
export const HOST_LINK_MIN_VERSION = 2;

/**
 * Optional parts of the link, announced by each end (hello `features`, welcome `features`) without a version bump:
 * an older daemon ignores the field and is never sent what it does not know, an older host is never asked.
 * `agent_state`: the host reports its agent's state; `keys`, `hook` and `since`: the host serves those requests;
 * `last_screen`: the host sends its last screen before its exit report (HostLastScreen).
 */
export const LINK_FEATURES = ['agent_state', 'keys', 'hook', 'since', 'last_screen'] as const;
export type LinkFeature = (typeof LINK_FEATURES)[number];

/** WebSocket close codes on the host link (4000-4999 are application codes). */
export const LINK_CLOSE = {
  VERSION_MISMATCH: 4000,
  ID_CONFLICT: 4001,
  /** A newer link of the same host instance took over (the old one was half-open). */
  REPLACED: 4002,
  KILLED: 4003,
  BAD_MESSAGE: 4004,
} as const;

/** What a host tells the daemon about its session, on every (re)connect. */
export interface HostSessionInfo {
  type: SessionType;
  command: string;
  args: string[];
  cwd: string;
  pid: number | null;
  host_pid: number;
  cols: number;
  rows: number;
  term: string;
  created_at: string;
  last_activity_at: string;
  bracketed_paste: boolean;
  alt_screen: boolean;
  /** The request id of the spawn that started this host (v3): a daemon after a crash answers a repeat of it. */
  spawn_request_id?: string;
  /** The recording under way, if any (issue 22; a host before it says nothing). */
  recording?: RecordingInfo | null;
  /** The tags it was started with (issue 21): a new session takes them; a daemon that knows it keeps its own. */
  tags?: string[];
}

export interface HostHello {
  type: 'hello';
  link_version: number;
  /** Random per host process: how the daemon recognises a host across reconnects and renames. */
  host_instance: string;
  session_id: string;
  /** The daemon may pick a unique id if this one is taken (wrap without --id). */
  id_flexible: boolean;
  session: HostSessionInfo;
  /** The optional parts of the link this host serves (LINK_FEATURES). */
  features?: string[];
}

export interface HostStateUpdate {
  type: 'state';
  last_activity_at?: string;
  bracketed_paste?: boolean;
  alt_screen?: boolean;
  cols?: number;
  rows?: number;
  /** Viewers the host serves itself (handed over by the daemon that spawned it). */
  direct_viewers?: number;
  /** A recording started (its file) or ended (null). */
  recording?: RecordingInfo | null;
}

export type HostReply = { type: 'reply'; req_id: number; ok: true; result: unknown } | { type: 'reply'; req_id: number; ok: false; error: ErrorBody };

/** The exit code a session reports: the child's, or 128 + the signal that ended it (as a shell reports it). */
export function exitCodeOf(code: number | null, signal: number | null): number | null {
  return code ?? (signal ? 128 + signal : null);
}

export interface HostExit {
  type: 'exit';
  code: number | null;
  signal: number | null;
}

/**
 * Rows of scrollback a last screen carries above the visible ones: what explains an exit (the error, its stack) is
 * at the end, and the daemon keeps each exited session's in memory while it is listed (60 s by default): 1,049 rows
 * of 200 coloured columns, text and SGR, measured 364 KB.
 */
export const LAST_SCREEN_SCROLLBACK_LINES = 1_000;

/**
 * The session's last screen, as its program left it (every byte of its output parsed), sent just before `exit` to a
 * daemon whose welcome lists `last_screen`: `read` of the exited session shows it. `lines` are the visible rows
 * (blank rows below the last written one dropped, as a screen answer drops them) with at most
 * LAST_SCREEN_SCROLLBACK_LINES rows of scrollback above them.
 */
export interface HostLastScreen extends ScreenState {
  type: 'last_screen';
  /** The same rows with their colours and attributes (SGR sequences), for `read --ansi`. */
  ansi_lines: string[];
  /** How many of the last `lines` are the visible screen (those above are scrollback). */
  visible: number;
  /** Where the answer of each inject the host remembers starts in `lines`, for `read --since` of the exited session. */
  answers?: LastScreenAnswer[];
}

/** At most this many answers in a last screen (a host remembers the last 100 submitted injects). */
export const LAST_SCREEN_ANSWERS_MAX = 1_000;

export interface LastScreenAnswer {
  inject_id: string;
  /** When the host saw the prompt submitted (ISO). */
  submitted_at: string;
  /**
   * Index in `lines` of the answer's first row; negative: the answer began that many rows above the first row kept;
   * null: its start is not known (the rows around the submission left the scrollback or were redrawn).
   */
  start: number | null;
}

/** Output frames were dropped because the link was congested: viewers need a fresh replay. */
export interface HostGap {
  type: 'gap';
}

/** An inject job wrote its text and Enter (or its text alone, for no_enter). */
export interface HostInjectWritten {
  type: 'inject_written';
  inject_id: string;
  written_at: string;
}

/** How an inject job ended. Kept by the host and sent again after each reconnect until a daemon acks it. */
export interface HostInjectResult {
  type: 'inject_result';
  inject_id: string;
  status: 'written' | 'entered' | 'submitted' | 'failed';
  written_at: string | null;
  submitted_at: string | null;
  code?: string;
  error?: string;
  /** For `entered`: what the screen showed instead of the submission. */
  seen?: string;
  /** For `submitted`: the program's UserPromptSubmit hook reported the text (`hook`), or the screen showed it (issue 19). */
  confirmed_by?: 'hook' | 'screen';
  /** When the program was ready for the prompt (its previous prompt gone from its box, no turn running): issue 25. */
  ready_at?: string;
  /** The job's `meta`, echoed so that a daemon that did not accept the job can still publish its outcome. */
  meta?: InjectJobMeta;
}

/** What a daemon needs to publish a job's events (sender, thread, origin), carried with the job and its result. */
export interface InjectJobMeta {
  from: string | null;
  reply_to: string | null;
  thread_id: string | null;
  reply_expected: boolean;
  no_enter: boolean;
  enter_only: boolean;
  source_type: string;
  extra?: Record<string, unknown>;
}

/** The agent's state changed (sent only to a daemon whose welcome lists `agent_state`); `explain` for `state --explain`. */
export interface HostAgentState extends AgentStateInfo {
  type: 'agent_state';
  explain: string[];
}

export type HostToDaemon = HostHello | HostStateUpdate | HostReply | HostExit | HostLastScreen | HostGap | HostInjectWritten | HostInjectResult | HostAgentState;

export interface DaemonWelcome {
  type: 'welcome';
  link_version: number;
  /** The id the daemon knows this host by (differs from the hello's after a rename or a flexible pick). */
  session_id: string;
  /** The optional parts of the link this daemon takes (LINK_FEATURES). */
  features?: string[];
}

export interface DaemonRename {
  type: 'rename';
  new_id: string;
}

export interface DaemonKill {
  type: 'kill';
  reason: string;
}

export interface DaemonInput {
  type: 'input';
  data: string;
}

export interface DaemonResize {
  type: 'resize';
  cols: number;
  rows: number;
}

/** The daemon has published these results: the host may forget them (v3). */
export interface DaemonInjectAck {
  type: 'inject_ack';
  inject_ids: string[];
}

/** Viewers are attached (on) or all gone (off): the host sends output only while on. */
export interface DaemonSubscribe {
  type: 'subscribe';
  on: boolean;
}

/** Requests the daemon makes of a host; each is answered by one `reply` with the same req_id. */
/** An inject job for the host's per-session FIFO queue. */
export interface InjectJobArgs {
  inject_id: string;
  /** Empty with enter_only. */
  text: string;
  no_enter: boolean;
  /** Enter alone (submit). */
  enter_only: boolean;
  /** Type even over a person's half-typed line. */
  force?: boolean;
  /**
   * Refuse a new job (SESSION_BLOCKED, nothing queued) while the host's agent waits on a dialog (issue 19); a repeat
   * of an id the host remembers is answered as always.
   */
  refuse_blocked?: boolean;
  meta?: InjectJobMeta;
}

/**
 * What a host answers to an inject: queued (a new job), or `known` when it remembers the id: `running` (queued or
 * being typed: its result follows as usual) or `done` with the first outcome (`acked`: a daemon already published it).
 */
export type InjectReply =
  | { queued: true; position: number; known?: undefined }
  | { queued: true; position: number; known: 'running' }
  | { queued: true; position: number; known: 'done'; result: HostInjectResult; acked: boolean };

export interface HostRequestMap {
  screen: { args: ScreenQuery; result: HostScreen };
  replay: { args: Record<string, never>; result: { data: string } };
  inject: { args: InjectJobArgs; result: InjectReply };
  /** Withdraw a job that has not started; `cancelled: false` when it already runs or ran. */
  cancel_inject: { args: { inject_id: string }; result: { cancelled: boolean } };
  /** Start a recording (a complete spec) or stop the one under way (issue 22). */
  record: { args: RecordArgs; result: RecordResult };
  /** Keys by tmux name (protocol/keys.ts), written to the PTY as they are (host feature `keys`). */
  keys: { args: { keys: string[] }; result: KeysReply };
  /** A report from the program's hook (`telepty hook`), for the agent state tracker (host feature `hook`). */
  hook: { args: HookReport; result: { state: AgentStateInfo } };
  /** What the session showed after one of its injects was submitted (host feature `since`, `read --since`). */
  since: { args: { inject_id: string }; result: SinceScreen };
}

export type RecordArgs = { action: 'start'; record: RecordSpec } | { action: 'stop' };

/** The recording under way after the request (null after a stop); a stop says which files it wrote. */
export interface RecordResult {
  recording: RecordingInfo | null;
  files?: string[];
  dropped_bytes?: number;
}

/** What a host wrote for a `keys` request: each key's name (or `text`) and the bytes' count. */
export interface KeysReply {
  keys: string[];
  bytes: number;
}

export type HostRequestOp = keyof HostRequestMap;

export interface DaemonRequest<K extends HostRequestOp = HostRequestOp> {
  type: 'request';
  req_id: number;
  op: K;
  args: HostRequestMap[K]['args'];
}

export type DaemonToHost = DaemonWelcome | DaemonRename | DaemonKill | DaemonInput | DaemonResize | DaemonSubscribe | DaemonRequest | DaemonInjectAck;

/*
 * Guards: every message is checked whole (each field's type, every union member), so the receiver may use it as
 * typed. A frame that fails its guard is no link message: the receiver closes the link (the daemon) or ignores it
 * (the host).
 */

type Obj = Record<string, unknown>;

function isObj(v: unknown): v is Obj {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}
const isStr = (v: unknown): v is string => typeof v === 'string';
const isBool = (v: unknown): v is boolean => typeof v === 'boolean';
const isInt = (v: unknown): v is number => Number.isInteger(v);
const isStrOrNull = (v: unknown): v is string | null => v === null || isStr(v);
const isIntOrNull = (v: unknown): v is number | null => v === null || isInt(v);
/** An optional field: absent, or of its type. */
const opt = (v: unknown, guard: (x: unknown) => boolean): boolean => v === undefined || guard(v);
const isStrArray = (v: unknown): v is string[] => Array.isArray(v) && v.every(isStr);
const isCastFormat = (v: unknown): boolean => v === 2 || v === 3;
export function isRecordingInfo(v: unknown): v is RecordingInfo {
  return isObj(v) && isStr(v.file) && isCastFormat(v.format);
}
const isRecordingOrNull = (v: unknown): boolean => v === null || isRecordingInfo(v);
function isRecordArgs(a: unknown): a is RecordArgs {
  if (!isObj(a)) return false;
  if (a.action === 'stop') return true;
  return a.action === 'start' && isObj(a.record) && isStr(a.record.file) && a.record.file.startsWith('/') && isCastFormat(a.record.format) && isBool(a.record.input);
}

export function isHostSessionInfo(s: unknown): s is HostSessionInfo {
  return (
    isObj(s) &&
    (s.type === 'spawned' || s.type === 'wrapped') &&
    isStr(s.command) &&
    isStrArray(s.args) &&
    isStr(s.cwd) &&
    isIntOrNull(s.pid) &&
    isInt(s.host_pid) &&
    isInt(s.cols) &&
    isInt(s.rows) &&
    isStr(s.term) &&
    isStr(s.created_at) &&
    isStr(s.last_activity_at) &&
    isBool(s.bracketed_paste) &&
    isBool(s.alt_screen) &&
    opt(s.spawn_request_id, isStr) &&
    opt(s.recording, isRecordingOrNull) &&
    opt(s.tags, isStrArray)
  );
}

function isHelloShape(h: Obj): boolean {
  return (
    isInt(h.link_version) &&
    isStr(h.host_instance) &&
    h.host_instance.length >= 16 &&
    h.host_instance.length <= 128 &&
    isStr(h.session_id) &&
    isBool(h.id_flexible) &&
    isHostSessionInfo(h.session) &&
    opt(h.features, isStrArray)
  );
}

export function isInjectJobMeta(m: unknown): m is InjectJobMeta {
  return (
    isObj(m) &&
    isStrOrNull(m.from) &&
    isStrOrNull(m.reply_to) &&
    isStrOrNull(m.thread_id) &&
    isBool(m.reply_expected) &&
    isBool(m.no_enter) &&
    isBool(m.enter_only) &&
    isStr(m.source_type) &&
    opt(m.extra, isObj)
  );
}

const RESULT_STATUSES = new Set(['written', 'entered', 'submitted', 'failed']);

function isInjectResultShape(m: Obj): boolean {
  return (
    isStr(m.inject_id) &&
    isStr(m.status) &&
    RESULT_STATUSES.has(m.status) &&
    isStrOrNull(m.written_at) &&
    isStrOrNull(m.submitted_at) &&
    opt(m.code, isStr) &&
    opt(m.error, isStr) &&
    opt(m.seen, isStr) &&
    opt(m.confirmed_by, (v) => v === 'hook' || v === 'screen') &&
    opt(m.ready_at, isStr) &&
    opt(m.meta, isInjectJobMeta)
  );
}

export function isHostInjectResult(m: unknown): m is HostInjectResult {
  return isObj(m) && m.type === 'inject_result' && isInjectResultShape(m);
}

function isScreenState(r: Obj): boolean {
  return isInt(r.cols) && isInt(r.rows) && isObj(r.cursor) && isInt(r.cursor.x) && isInt(r.cursor.y) && isBool(r.alt_screen) && isBool(r.bracketed_paste) && isStrArray(r.lines);
}

/** A last screen: its text and SGR rows side by side, within its bound (the daemon keeps it in memory). */
function isLastScreenAnswer(a: unknown): a is LastScreenAnswer {
  return isObj(a) && isStr(a.inject_id) && isStr(a.submitted_at) && isIntOrNull(a.start);
}

function isLastScreenShape(m: Obj): boolean {
  const { lines, ansi_lines: ansi, visible, rows } = m;
  return (
    isScreenState(m) &&
    isStrArray(lines) &&
    isStrArray(ansi) &&
    ansi.length === lines.length &&
    isInt(visible) &&
    isInt(rows) &&
    visible >= 0 &&
    visible <= Math.min(rows, lines.length) &&
    lines.length - visible <= LAST_SCREEN_SCROLLBACK_LINES &&
    (m.answers === undefined || (Array.isArray(m.answers) && m.answers.length <= LAST_SCREEN_ANSWERS_MAX && m.answers.every(isLastScreenAnswer)))
  );
}

function isErrorBody(v: unknown): v is ErrorBody {
  return isObj(v) && isStr(v.error) && isStr(v.code);
}

/** The fields of each message a host sends, by its type. */
const HOST_MESSAGE_SHAPES: Record<HostToDaemon['type'], (m: Obj) => boolean> = {
  hello: isHelloShape,
  state: (m) =>
    opt(m.last_activity_at, isStr) &&
    opt(m.bracketed_paste, isBool) &&
    opt(m.alt_screen, isBool) &&
    // A size is reported whole: both or neither.
    (m.cols === undefined) === (m.rows === undefined) &&
    opt(m.cols, isInt) &&
    opt(m.rows, isInt) &&
    opt(m.direct_viewers, (v) => isInt(v) && (v as number) >= 0) &&
    opt(m.recording, isRecordingOrNull),
  reply: (m) => isInt(m.req_id) && (m.ok === true ? 'result' in m : m.ok === false && isErrorBody(m.error)),
  exit: (m) => isIntOrNull(m.code) && isIntOrNull(m.signal),
  last_screen: isLastScreenShape,
  gap: () => true,
  inject_written: (m) => isStr(m.inject_id) && isStr(m.written_at),
  inject_result: isInjectResultShape,
  agent_state: (m) => isAgentStateInfo(m) && isStrArray(m.explain),
};

function isInjectJobArgs(a: unknown): a is InjectJobArgs {
  return isObj(a) && isStr(a.inject_id) && isStr(a.text) && isBool(a.no_enter) && isBool(a.enter_only) && opt(a.force, isBool) && opt(a.refuse_blocked, isBool) && opt(a.meta, isInjectJobMeta);
}

/** The arguments of each request the daemon makes, by its op. */
const REQUEST_ARGS: Record<HostRequestOp, (a: unknown) => boolean> = {
  screen: (a) => isObj(a) && opt(a.lines, isInt) && isBool(a.scrollback) && isBool(a.ansi),
  replay: isObj,
  inject: isInjectJobArgs,
  cancel_inject: (a) => isObj(a) && isStr(a.inject_id),
  record: isRecordArgs,
  keys: (a) => isObj(a) && isStrArray(a.keys),
  hook: (a) =>
    isObj(a) && isHookEvent(a.event) && opt(a.prompt, isStr) && opt(a.notification_type, isStr) && opt(a.message, isStr),
  since: (a) => isObj(a) && isStr(a.inject_id),
};

function isRequestOp(v: unknown): v is HostRequestOp {
  return isStr(v) && Object.hasOwn(REQUEST_ARGS, v);
}

/** The fields of each message the daemon sends, by its type. */
const DAEMON_MESSAGE_SHAPES: Record<DaemonToHost['type'], (m: Obj) => boolean> = {
  welcome: (m) => isInt(m.link_version) && isStr(m.session_id) && opt(m.features, isStrArray),
  rename: (m) => isStr(m.new_id),
  kill: (m) => isStr(m.reason),
  input: (m) => isStr(m.data),
  resize: (m) => isInt(m.cols) && isInt(m.rows),
  subscribe: (m) => isBool(m.on),
  request: (m) => isInt(m.req_id) && isRequestOp(m.op) && REQUEST_ARGS[m.op](m.args),
  inject_ack: (m) => isStrArray(m.inject_ids),
};

/** The result a host answers to each request, by its op. */
const REQUEST_RESULTS: { [K in HostRequestOp]: (r: unknown) => r is HostRequestMap[K]['result'] } = {
  screen: (r): r is HostScreen => isObj(r) && isScreenState(r),
  replay: (r): r is { data: string } => isObj(r) && isStr(r.data),
  inject: (r): r is InjectReply =>
    isObj(r) &&
    r.queued === true &&
    isInt(r.position) &&
    (r.known === undefined || r.known === 'running' || (r.known === 'done' && isHostInjectResult(r.result) && isBool(r.acked))),
  cancel_inject: (r): r is { cancelled: boolean } => isObj(r) && isBool(r.cancelled),
  record: (r): r is RecordResult => isObj(r) && isRecordingOrNull(r.recording) && opt(r.files, isStrArray) && opt(r.dropped_bytes, isInt),
  keys: (r): r is KeysReply => isObj(r) && isStrArray(r.keys) && isInt(r.bytes),
  hook: (r): r is { state: AgentStateInfo } => isObj(r) && isAgentStateInfo(r.state),
  since: (r): r is SinceScreen =>
    isObj(r) && isStr(r.inject_id) && isStr(r.submitted_at) && isStrArray(r.lines) && isInt(r.total_lines) && isBool(r.truncated) && isBool(r.lost),
};

/** Whether `result` is what a host answers to a request of `op`. */
export function isHostRequestResult<K extends HostRequestOp>(op: K, result: unknown): result is HostRequestMap[K]['result'] {
  return REQUEST_RESULTS[op](result);
}

function hasShape<T extends { type: string }>(v: unknown, shapes: Record<T['type'], (m: Obj) => boolean>): v is T {
  return isObj(v) && isStr(v.type) && Object.hasOwn(shapes, v.type) && shapes[v.type as T['type']](v);
}

/** Whether `v` is a complete, well-formed message from a host. */
export function isHostMessage(v: unknown): v is HostToDaemon {
  return hasShape<HostToDaemon>(v, HOST_MESSAGE_SHAPES);
}

/** Whether `v` is a complete, well-formed message from the daemon. */
export function isDaemonMessage(v: unknown): v is DaemonToHost {
  return hasShape<DaemonToHost>(v, DAEMON_MESSAGE_SHAPES);
}

/** Parse a text frame from a host: the message, or null when it is not a complete host link message. */
export function parseHostMessage(text: string): HostToDaemon | null {
  const v = parseJsonFrame(text);
  return isHostMessage(v) ? v : null;
}

/** Parse a text frame from the daemon: the message, or null when it is not a complete daemon link message. */
export function parseDaemonMessage(text: string): DaemonToHost | null {
  const v = parseJsonFrame(text);
  return isDaemonMessage(v) ? v : null;
}

/** A hello: the first message of every link (parseHostMessage has checked all of its fields). */
export function isHostHello(m: HostToDaemon): m is HostHello {
  return m.type === 'hello';
}
