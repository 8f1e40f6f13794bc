import { newRequestId } from '../util/request-id.js';
import { isTeleptyError } from '../protocol/errors.js';
import { getSessionOp, killSessionOp, listSessionsOp, readScreenOp, renameSessionOp, spawnSessionOp, tagSessionOp } from '../protocol/ops/sessions.js';
import type { TagEdit, TagsResponse } from '../protocol/tags.js';
import type { KillResponse, ReadScreenQuery, RenameResponse, ScreenSnapshot, SessionObject, SpawnRequestBody, SpawnResponse } from '../protocol/session.js';
import type { DaemonClient } from './daemon-client.js';

/** Session requests: the operations of protocol/ops/sessions.ts, with the client's timeouts and retries. */
export function sessionPath(id: string, suffix = ''): string {
  return `/api/sessions/${encodeURIComponent(id)}${suffix}`;
}

export function listSessions(c: DaemonClient): Promise<SessionObject[]> {
  return c.call(listSessionsOp);
}

export function getSession(c: DaemonClient, id: string): Promise<SessionObject> {
  return c.call(getSessionOp, { params: { id } });
}

/** What `spawn` sends: the wire body (protocol/session.ts) with the fields the CLI always gives. */
export type SpawnBody = SpawnRequestBody & { args: string[]; cwd: string; env: Record<string, string> };

/** Spawning starts a host and waits for it to register: allow for a loaded machine. */
const SPAWN_REQUEST_TIMEOUT_MS = 30_000;
/** A kill waits for SIGHUP, a grace period, SIGKILL and the exit report. */
const KILL_REQUEST_TIMEOUT_MS = 30_000;

/**
 * A spawn carries a request id, made before the first send: the daemon answers a repeat of it with the session
 * the first try made (a connection that dropped is retried only with the same id).
 */
export function spawnSession(c: DaemonClient, body: SpawnBody): Promise<SpawnResponse> {
  const withId = { ...body, request_id: body.request_id ?? newRequestId() };
  return c.call(spawnSessionOp, { body: withId, timeoutMs: SPAWN_REQUEST_TIMEOUT_MS, idempotent: true });
}

/**
 * `?wait=1`: answered once the child has ended (a plain DELETE is the seed's, answered at once with `closing`).
 * A kill repeated after a dropped connection that finds the session gone: the first try killed it.
 */
export function killSession(c: DaemonClient, id: string): Promise<KillResponse> {
  return c.call(killSessionOp, {
    params: { id },
    query: { wait: true },
    timeoutMs: KILL_REQUEST_TIMEOUT_MS,
    idempotent: true,
    onRetryError: async (err) => (err.code === 'SESSION_NOT_FOUND' ? { success: true, id, status: 'killed', exit_code: null } : null),
  });
}

/** A rename repeated after a dropped connection that finds the old id gone and the new one there: the first try did it. */
export function renameSession(c: DaemonClient, id: string, newId: string): Promise<RenameResponse> {
  return c.call(renameSessionOp, {
    params: { id },
    body: { new_id: newId },
    idempotent: true,
    onRetryError: async (err) => {
      if (err.code !== 'SESSION_NOT_FOUND') return null;
      const renamed = await getSession(c, newId).then(
        () => true,
        (e: unknown) => {
          if (isTeleptyError(e) && e.code === 'SESSION_NOT_FOUND') return false;
          throw e;
        },
      );
      return renamed ? { success: true, old_id: id, new_id: newId } : null;
    },
  });
}

/** Change a session's tags (an edit is the same on a repeat: safe to retry). */
export function tagSession(c: DaemonClient, id: string, edit: TagEdit): Promise<TagsResponse> {
  return c.call(tagSessionOp, { params: { id }, body: edit, idempotent: true });
}

export function readScreen(c: DaemonClient, id: string, q: ReadScreenQuery): Promise<ScreenSnapshot> {
  return c.call(readScreenOp, { params: { id }, query: q });
}

/** What a screen or answer read with `last_screen` is when its session had exited: from its last screen. */
export function exitedNote(sessionId: string, exitCode: number | null | undefined): string {
  return `session ${sessionId} exited${exitCode === null || exitCode === undefined ? '' : ` (code ${exitCode})`}; its last screen`;
}
