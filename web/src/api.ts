/**
 * The page's calls to its daemon: the same API routes and WebSockets as the CLI, same origin. The browser adds the
 * dashboard's HttpOnly cookie itself; the page never sees a token.
 */

/** A session as the page shows it: the daemon's session object, with its machine (the fleet's rows have others). */
export interface Session {
  id: string;
  /** `id` for this machine's sessions, `id@machine` for the fleet's. */
  address: string;
  machine: string;
  local: boolean;
  reachable: boolean;
  command: string;
  args: string[];
  cwd: string;
  status: string;
  state?: string;
  state_detail?: string | null;
  lastActivityAt: string;
  cols: number;
  rows: number;
}

export interface ApiError {
  status: number;
  code: string;
  error: string;
}

export class ApiFailure extends Error {
  constructor(readonly answer: ApiError) {
    super(`${answer.code}: ${answer.error}`);
  }
}

type Json = Record<string, unknown>;

function isObject(v: unknown): v is Json {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

async function call(path: string, init: RequestInit = {}): Promise<unknown> {
  const res = await fetch(path, { ...init, credentials: 'same-origin', cache: 'no-store' });
  const body: unknown = await res.json().catch(() => null);
  if (!res.ok) {
    const code = isObject(body) && typeof body.code === 'string' ? body.code : `HTTP_${res.status}`;
    const error = isObject(body) && typeof body.error === 'string' ? body.error : res.statusText;
    throw new ApiFailure({ status: res.status, code, error });
  }
  return body;
}

export function getJson(path: string): Promise<unknown> {
  return call(path);
}

export function postJson(path: string, body: Json): Promise<unknown> {
  return call(path, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) });
}

function str(v: unknown, fallback = ''): string {
  return typeof v === 'string' ? v : fallback;
}

function num(v: unknown, fallback: number): number {
  return typeof v === 'number' && Number.isFinite(v) ? v : fallback;
}

function toSession(v: unknown, machine: string, local: boolean, reachable: boolean): Session | null {
  if (!isObject(v) || typeof v.id !== 'string') return null;
  const s: Session = {
    id: v.id,
    address: local ? v.id : `${v.id}@${machine}`,
    machine,
    local,
    reachable,
    command: str(v.command),
    args: Array.isArray(v.args) ? v.args.filter((a): a is string => typeof a === 'string') : [],
    cwd: str(v.cwd),
    status: str(v.status, 'unknown'),
    lastActivityAt: str(v.lastActivityAt),
    cols: num(v.cols, 80),
    rows: num(v.rows, 24),
  };
  if (typeof v.state === 'string') s.state = v.state;
  if (typeof v.state_detail === 'string') s.state_detail = v.state_detail;
  return s;
}

/**
 * This machine's sessions, and, when the daemon is in a fleet, every other machine's from its directory (`list --all`);
 * `missing` says why other machines' are not there (the daemon in a fleet it is not connected to now), else null.
 */
export async function listSessions(): Promise<{ sessions: Session[]; missing: string | null }> {
  const [local, fleet] = await Promise.all([getJson('/api/sessions'), getJson('/api/fleet?rtt=0').catch((err: unknown) => (err instanceof ApiFailure ? null : Promise.reject(err)))]);
  const self = isObject(fleet) ? str(fleet.machine, 'this machine') : 'this machine';
  const rows: Session[] = [];
  for (const v of Array.isArray(local) ? local : []) {
    const s = toSession(v, self, true, true);
    if (s) rows.push(s);
  }
  const state = isObject(fleet) ? str(fleet.state, 'off') : 'off';
  const missing = state === 'off' || state === 'connected' ? null : `the fleet is ${state}${isObject(fleet) && typeof fleet.server === 'string' ? ` (${fleet.server})` : ''}: other machines' sessions are not shown`;
  if (isObject(fleet) && fleet.state !== 'off' && Array.isArray(fleet.machines)) {
    for (const m of fleet.machines) {
      if (!isObject(m) || typeof m.machine !== 'string' || m.machine === self || !Array.isArray(m.sessions)) continue;
      for (const v of m.sessions) {
        const s = toSession(v, m.machine, false, m.reachable === true);
        if (s) rows.push(s);
      }
    }
  }
  return { sessions: rows, missing };
}

/** The WebSocket URL of a daemon path on this page's own origin. */
export function wsUrl(path: string): string {
  return `${location.protocol === 'https:' ? 'wss' : 'ws'}://${location.host}${path}`;
}

export function sessionPath(id: string): string {
  return `/api/sessions/${encodeURIComponent(id)}`;
}
