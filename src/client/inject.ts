import type { InjectResponse, MulticastResult } from '../protocol/inject.js';
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
}

/** The daemon answers a waiting inject within timeout_ms; allow for the round trip on a loaded machine. */
const WAIT_SLACK_MS = 10_000;

export function injectOne(c: DaemonClient, id: string, body: InjectBody): Promise<InjectResponse> {
  return c.request<InjectResponse>({ method: 'POST', path: sessionPath(id, '/inject'), body, timeoutMs: body.timeout_ms + WAIT_SLACK_MS });
}

export function injectMany(c: DaemonClient, ids: string[] | 'all', body: InjectBody): Promise<MulticastResult> {
  return ids === 'all'
    ? c.request<MulticastResult>({ method: 'POST', path: '/api/sessions/broadcast/inject', body, timeoutMs: body.timeout_ms + WAIT_SLACK_MS })
    : c.request<MulticastResult>({ method: 'POST', path: '/api/sessions/multicast/inject', body: { ...body, session_ids: ids }, timeoutMs: body.timeout_ms + WAIT_SLACK_MS });
}

export function submitEnter(c: DaemonClient, id: string, body: { wait: boolean; timeout_ms: number }): Promise<InjectResponse> {
  return c.request<InjectResponse>({ method: 'POST', path: sessionPath(id, '/submit'), body, timeoutMs: body.timeout_ms + WAIT_SLACK_MS });
}
