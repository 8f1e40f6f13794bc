/** `GET /api/meta`: who this daemon is and what it can do. */
export interface MetaResponse {
  name: 'telepty';
  version: string;
  pid: number;
  host: string;
  port: number;
  machine_id: string;
  started_at: string;
  uptime_seconds: number;
  /** Identity proof for the singleton claim (matches the state file's nonce). */
  nonce: string;
  /**
   * Which TELEPTY_HOME this daemon serves: an id derived from its data folder, and the folder (to local callers
   * only). A CLI of another home on this machine refuses the daemon (DAEMON_MISMATCH). Absent before 0.2.
   */
  home_id?: string;
  home?: string;
  /** Seed names for what exists (older clients check them), plus telepty's own. */
  capabilities: string[];
}

export interface HealthResponse {
  status: 'ok';
}

export function isMetaResponse(value: unknown): value is MetaResponse {
  if (typeof value !== 'object' || value === null) return false;
  const m = value as Record<string, unknown>;
  return m.name === 'telepty' && typeof m.nonce === 'string' && Number.isInteger(m.pid) && Array.isArray(m.capabilities);
}

export interface ShutdownResponse {
  success: true;
  pid: number;
}
