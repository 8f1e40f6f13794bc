import { newRequestId } from '../util/request-id.js';
import type { InjectResponse, MulticastResult } from '../protocol/inject.js';
import { startProgress } from '../ui/progress.js';
import type { DaemonClient } from './daemon-client.js';
import { sessionPath } from './sessions.js';

export interface InjectBody {
  prompt: string;
  from?: string;
  reply_to?: string;
  thread_id?: string;
  reply_expected?: boolean;
  no_enter?: boolean;
  wait: boolean;
  timeout_ms: number;
  /** The inject's id; made here when the caller gave none, before the first send, so a repeat carries the same. */
  inject_id?: string;
  /** Type even over a person's half-typed line. */
  force?: boolean;
}

/** The daemon answers a waiting inject within timeout_ms; allow for the round trip on a loaded machine. */
const WAIT_SLACK_MS = 10_000;

/** The body with its inject id: a request that carries one may be repeated safely (the host remembers the id). */
function withId<B extends { inject_id?: string }>(body: B): B & { inject_id: string } {
  return { ...body, inject_id: body.inject_id ?? newRequestId() };
}

/** A spinner on a terminal while the caller waits for a session to take the prompt (queued, or held by a draft). */
async function waiting<T>(what: string, wait: boolean, work: Promise<T>): Promise<T> {
  if (!wait) return work;
  const progress = startProgress(`waiting for ${what} to take the prompt…`);
  try {
    return await work;
  } finally {
    progress.done();
  }
}

export function injectOne(c: DaemonClient, id: string, body: InjectBody): Promise<InjectResponse> {
  const req = { method: 'POST' as const, path: sessionPath(id, '/inject'), body: withId(body), timeoutMs: body.timeout_ms + WAIT_SLACK_MS, idempotent: true };
  return waiting(id, body.wait, c.request<InjectResponse>(req));
}

export function injectMany(c: DaemonClient, ids: string[] | 'all', body: InjectBody): Promise<MulticastResult> {
  const b = withId(body);
  const req =
    ids === 'all'
      ? { method: 'POST' as const, path: '/api/sessions/broadcast/inject', body: b, timeoutMs: body.timeout_ms + WAIT_SLACK_MS, idempotent: true }
      : { method: 'POST' as const, path: '/api/sessions/multicast/inject', body: { ...b, session_ids: ids }, timeoutMs: body.timeout_ms + WAIT_SLACK_MS, idempotent: true };
  return waiting(ids === 'all' ? 'the sessions' : ids.join(', '), body.wait, c.request<MulticastResult>(req));
}

export function submitEnter(c: DaemonClient, id: string, body: { wait: boolean; timeout_ms: number; inject_id?: string; force?: boolean }): Promise<InjectResponse> {
  const req = { method: 'POST' as const, path: sessionPath(id, '/submit'), body: withId(body), timeoutMs: body.timeout_ms + WAIT_SLACK_MS, idempotent: true };
  return waiting(id, body.wait, c.request<InjectResponse>(req));
}
