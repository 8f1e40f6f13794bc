import type { KillResponse, RenameResponse, ScreenQuery, ScreenSnapshot, SessionObject, SpawnResponse } from '../protocol/session.js';
import type { DaemonClient } from './daemon-client.js';

/** Session requests, typed by src/protocol. */
export function sessionPath(id: string, suffix = ''): string {
  return `/api/sessions/${encodeURIComponent(id)}${suffix}`;
}

export function listSessions(c: DaemonClient): Promise<SessionObject[]> {
  return c.request<SessionObject[]>({ path: '/api/sessions' });
}

export function getSession(c: DaemonClient, id: string): Promise<SessionObject> {
  return c.request<SessionObject>({ path: sessionPath(id) });
}

export interface SpawnBody {
  session_id?: string;
  command: string;
  args: string[];
  cwd: string;
  env: Record<string, string>;
  cols?: number;
  rows?: number;
}

/** Spawning starts a host and waits for it to register: allow for a loaded machine. */
const SPAWN_REQUEST_TIMEOUT_MS = 30_000;
/** A kill waits for SIGHUP, a grace period, SIGKILL and the exit report. */
const KILL_REQUEST_TIMEOUT_MS = 30_000;

export function spawnSession(c: DaemonClient, body: SpawnBody): Promise<SpawnResponse> {
  return c.request<SpawnResponse>({ method: 'POST', path: '/api/sessions/spawn', body, timeoutMs: SPAWN_REQUEST_TIMEOUT_MS });
}

/** `?wait=1`: answered once the child has ended (a plain DELETE is the seed's, answered at once with `closing`). */
export function killSession(c: DaemonClient, id: string): Promise<KillResponse> {
  return c.request<KillResponse>({ method: 'DELETE', path: sessionPath(id, '?wait=1'), timeoutMs: KILL_REQUEST_TIMEOUT_MS });
}

export function renameSession(c: DaemonClient, id: string, newId: string): Promise<RenameResponse> {
  return c.request<RenameResponse>({ method: 'PATCH', path: sessionPath(id), body: { new_id: newId } });
}

export function readScreen(c: DaemonClient, id: string, q: ScreenQuery): Promise<ScreenSnapshot> {
  const params = new URLSearchParams();
  if (q.lines !== undefined) params.set('lines', String(q.lines));
  if (q.scrollback) params.set('scrollback', '1');
  if (q.ansi) params.set('ansi', '1');
  const qs = params.toString();
  return c.request<ScreenSnapshot>({ path: sessionPath(id, `/screen${qs ? `?${qs}` : ''}`) });
}
