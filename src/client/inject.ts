import { newRequestId } from '../util/request-id.js';
import type { InjectRequestBody, InjectResponse, MulticastResult, SubmitRequestBody } from '../protocol/inject.js';
import { broadcastOp, injectOp, multicastOp, submitOp } from '../protocol/ops/inject.js';
import type { DaemonClient } from './daemon-client.js';
import { startProgress } from './progress.js';

/**
 * What `inject` sends: the wire body (protocol/inject.ts) with `wait` and `timeout_ms` always given (the request's
 * own bound follows from them). `inject_id` is made here when the caller gave none, before the first send, so a
 * repeat carries the same.
 */
export type InjectBody = InjectRequestBody & { wait: boolean; timeout_ms: number };

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
  const sent = c.call(injectOp, { params: { id }, body: withId(body), timeoutMs: body.timeout_ms + WAIT_SLACK_MS, idempotent: true });
  return waiting(id, body.wait, sent);
}

export function injectMany(c: DaemonClient, ids: string[] | 'all', body: InjectBody): Promise<MulticastResult> {
  const b = withId(body);
  const opts = { timeoutMs: body.timeout_ms + WAIT_SLACK_MS, idempotent: true };
  const sent = ids === 'all' ? c.call(broadcastOp, { ...opts, body: b }) : c.call(multicastOp, { ...opts, body: { ...b, session_ids: ids } });
  return waiting(ids === 'all' ? 'the sessions' : ids.join(', '), body.wait, sent);
}

export function submitEnter(c: DaemonClient, id: string, body: SubmitRequestBody & { wait: boolean; timeout_ms: number }): Promise<InjectResponse> {
  const sent = c.call(submitOp, { params: { id }, body: withId(body), timeoutMs: body.timeout_ms + WAIT_SLACK_MS, idempotent: true });
  return waiting(id, body.wait, sent);
}
