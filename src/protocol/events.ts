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
] as const;

export type DaemonEventKind = (typeof DAEMON_EVENT_KINDS)[number] | (string & {});

/** The one function every daemon event goes through (the bus implements it). */
export interface EventSink {
  emit(kind: DaemonEventKind, fields: Record<string, unknown>): void;
}
