import type { WaitUntil } from '../protocol/agent-state.js';
import { WAIT_MAX_MS, waitStateOp, type WaitAnswer } from '../protocol/ops/state.js';
import type { DaemonClient } from './daemon-client.js';

/** A wait request's answer may take its whole bound: the HTTP request is given this much more. */
const WAIT_REQUEST_SLACK_MS = 10_000;

/**
 * Wait until one session's agent reaches `until`: long-polls of at most WAIT_MAX_MS each (the daemon holds one
 * no longer) until reached or the deadline (epoch ms; null: none). The last answer, `reached: false` on timeout.
 */
export async function waitForState(client: DaemonClient, id: string, until: WaitUntil, deadline: number | null): Promise<WaitAnswer> {
  for (;;) {
    const left = deadline === null ? WAIT_MAX_MS : Math.max(0, Math.min(WAIT_MAX_MS, deadline - Date.now()));
    const r = await client.call(waitStateOp, { params: { id }, body: { until, timeout_ms: left }, timeoutMs: left + WAIT_REQUEST_SLACK_MS, idempotent: true });
    if (r.reached || (deadline !== null && Date.now() >= deadline)) return r;
  }
}
