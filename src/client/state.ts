import type { WaitUntil } from '../protocol/agent-state.js';
import { WAIT_MAX_MS, waitStateOp, type WaitAnswer } from '../protocol/ops/state.js';
import { DaemonClient } from './daemon-client.js';
import { TeleptyError } from '../protocol/errors.js';
import { loadConfig, processEnv } from '../util/config.js';
import { findDaemon, readToken, recordEndpoint, type DaemonHandle } from '../wire/discovery.js';
import { readStateRecord } from '../wire/local-files.js';

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

/**
 * The wait ended on the session's exit, which ends every wait but is not the state asked for (unless `exited` or
 * `any-change` was): `wait` then exits 4 and MCP's wait_for_state answers SESSION_EXITED, so no caller goes on as if
 * the turn were over.
 */
export function exitedInstead(answer: WaitAnswer, until: WaitUntil): boolean {
  return answer.reached && answer.state === 'exited' && until !== 'exited' && until !== 'any-change';
}

/**
 * A client for `telepty hook`, which runs at every turn's start and end: the daemon named by the state file, taken
 * at its word on the first answer (as `inject` does: the request carries the record's nonce, which another daemon
 * refuses), without the discovery round trip; never starts a daemon. Null when none is recorded.
 */
export async function recordedDaemon(): Promise<DaemonClient | null> {
  const env = processEnv();
  const config = await loadConfig(env);
  const token = await readToken(config, env);
  const record = readStateRecord(config.paths.stateFile);
  if (!record) return null;
  const rediscover = async (): Promise<DaemonHandle> => {
    const found = await findDaemon(config, token);
    if (!found) throw new TeleptyError('DAEMON_NOT_RUNNING', 'no telepty daemon runs');
    return found;
  };
  return new DaemonClient({ endpoint: recordEndpoint(record, token), record }, config, rediscover);
}
