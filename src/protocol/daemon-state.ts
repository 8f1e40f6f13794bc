/** The singleton claim: the state file written by the one daemon that serves a TELEPTY_HOME. */
export const STATE_FILE_VERSION = 1;

export interface DaemonRecord {
  state_version: typeof STATE_FILE_VERSION;
  pid: number;
  host: string;
  port: number;
  version: string;
  started_at: string;
  /** Random per daemon instance: a live daemon proves its identity by answering with it. */
  nonce: string;
}

export function isDaemonRecord(value: unknown): value is DaemonRecord {
  if (typeof value !== 'object' || value === null) return false;
  const r = value as Record<string, unknown>;
  return (
    r.state_version === STATE_FILE_VERSION &&
    Number.isInteger(r.pid) &&
    (r.pid as number) > 0 &&
    typeof r.host === 'string' &&
    Number.isInteger(r.port) &&
    (r.port as number) > 0 &&
    (r.port as number) < 65536 &&
    typeof r.version === 'string' &&
    typeof r.started_at === 'string' &&
    typeof r.nonce === 'string' &&
    r.nonce.length >= 16
  );
}

/** Parse the state file's text; 'invalid' for anything that is not a record (corrupt, foreign, old format). */
export function parseDaemonRecord(raw: string): DaemonRecord | 'invalid' {
  try {
    const parsed: unknown = JSON.parse(raw);
    return isDaemonRecord(parsed) ? parsed : 'invalid';
  } catch (err) {
    if (err instanceof SyntaxError) return 'invalid';
    throw err;
  }
}
