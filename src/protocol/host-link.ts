/**
 * The host ↔ daemon link: one WebSocket per session host at /api/host, versioned. JSON text frames carry the
 * messages below; binary frames (host → daemon) carry raw PTY output bytes while viewers are attached (a UTF-8
 * character may be cut across frames: the daemon decodes them as one stream).
 */
import type { ErrorBody } from './errors.js';
import { parseJsonFrame } from './json.js';
import type { ScreenQuery, ScreenState, SessionType } from './session.js';

/** What a host answers to a screen request (the daemon adds the session id). */
export type HostScreen = ScreenState;

export const HOST_LINK_PATH = '/api/host';
/**
 * v3 added exactly-once delivery: `inject_ack` (daemon → host) for `inject_result`, which the host keeps and
 * sends again after a reconnect until acknowledged; `meta` on inject jobs and results; `known` on inject replies.
 */
export const HOST_LINK_VERSION = 3;
/** The oldest host link a daemon still accepts (a v2 host gets no acks: it never keeps results). */
export const HOST_LINK_MIN_VERSION = 2;

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

/** Output frames were dropped because the link was congested: viewers need a fresh replay. */
export interface HostGap {
  type: 'gap';
}

/** An event the host reports for the daemon to publish (inject progress). */
export interface HostEvent {
  type: 'event';
  kind: string;
  fields: Record<string, unknown>;
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

export type HostToDaemon = HostHello | HostStateUpdate | HostReply | HostExit | HostGap | HostEvent | HostInjectWritten | HostInjectResult;

export interface DaemonWelcome {
  type: 'welcome';
  link_version: number;
  /** The id the daemon knows this host by (differs from the hello's after a rename or a flexible pick). */
  session_id: string;
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
}

export type HostRequestOp = keyof HostRequestMap;

export interface DaemonRequest<K extends HostRequestOp = HostRequestOp> {
  type: 'request';
  req_id: number;
  op: K;
  args: HostRequestMap[K]['args'];
}

export type DaemonToHost = DaemonWelcome | DaemonRename | DaemonKill | DaemonInput | DaemonResize | DaemonSubscribe | DaemonRequest | DaemonInjectAck;


function isObj(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

const HOST_TYPES = new Set(['hello', 'state', 'reply', 'exit', 'gap', 'event', 'inject_written', 'inject_result']);
const DAEMON_TYPES = new Set(['welcome', 'rename', 'kill', 'input', 'resize', 'subscribe', 'request', 'inject_ack']);

/** A link message of one of `types`, or null (the receiver closes a link that sends anything else). */
function parseLinkMessage<T>(text: string, types: Set<string>): T | null {
  const v = parseJsonFrame(text);
  return isObj(v) && typeof v.type === 'string' && types.has(v.type) ? (v as unknown as T) : null;
}

/** Parse a text frame from a host. */
export function parseHostMessage(text: string): HostToDaemon | null {
  return parseLinkMessage<HostToDaemon>(text, HOST_TYPES);
}

/** Parse a text frame from the daemon. */
export function parseDaemonMessage(text: string): DaemonToHost | null {
  return parseLinkMessage<DaemonToHost>(text, DAEMON_TYPES);
}

export function isHostHello(m: HostToDaemon): m is HostHello {
  if (m.type !== 'hello') return false;
  const h = m as unknown as Record<string, unknown>;
  const s = h.session;
  return (
    typeof h.link_version === 'number' &&
    typeof h.host_instance === 'string' &&
    h.host_instance.length >= 16 &&
    h.host_instance.length <= 128 &&
    typeof h.session_id === 'string' &&
    isObj(s) &&
    (s.type === 'spawned' || s.type === 'wrapped') &&
    typeof s.command === 'string' &&
    Array.isArray(s.args) &&
    typeof s.cwd === 'string' &&
    Number.isInteger(s.host_pid) &&
    Number.isInteger(s.cols) &&
    Number.isInteger(s.rows)
  );
}
