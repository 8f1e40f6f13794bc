/** Events the daemon emits (seed names), each published on the bus with `kind` and `type`. */
export const DAEMON_EVENT_KINDS = [
  'session_spawn',
  'session_register',
  'session.replaced',
  'session_rename',
  'session_exit',
  'session_disconnect',
  'session_reconnect',
  'session_health',
  'session.idle',
  'session.state',
  'turn_complete',
] as const;

export type DaemonEventKind = (typeof DAEMON_EVENT_KINDS)[number] | (string & {});

/** The one function every daemon event goes through (the bus implements it). */
export interface EventSink {
  emit(kind: DaemonEventKind, fields: Record<string, unknown>): void;
}

/** The published answer of a turn: its first and last lines (the middle is left out past these). */
export const TURN_ANSWER_HEAD_LINES = 20;
export const TURN_ANSWER_TAIL_LINES = 40;
export const TURN_ANSWER_MAX_CHARS = 8_000;

/**
 * `turn_complete` (issue 19): a routed `turn_request`'s prompt was submitted and the target's agent then reached
 * idle, blocked or exited (or `timed_out`: still working after the router's bound). Published on the bus of the
 * machine whose session ran the turn (the fleet bridge carries it to the others).
 */
export interface TurnCompleteFields {
  turn_id: string | null;
  /** The turn_request's target as given (`id` or `id@machine`) and the session's id now. */
  target: string;
  session_id: string;
  inject_id: string;
  state: 'idle' | 'blocked' | 'exited' | 'working' | 'starting' | 'unknown';
  /** For blocked: the dialog's question. */
  detail: string | null;
  /** From the prompt's submission to the state that ended the turn. */
  duration_ms: number;
  timed_out: boolean;
  /** What the session showed after the submission (`read --since`): first and last lines, bounded; null when unknown. */
  answer: string | null;
  answer_lines: number;
  answer_truncated: boolean;
  original_message_id: unknown;
  source_host: unknown;
}
