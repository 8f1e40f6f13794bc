import { errors, type Msg, type NatsConnection, type Subscription } from '@nats-io/transport-node';
import { TeleptyError, isErrorBody } from '../protocol/errors.js';
import { parseRpcSubject, rpcInbox, rpcSubject, type FleetOp, type RpcRoute } from '../protocol/fleet.js';
import { describeError, type Logger } from '../util/log.js';

/**
 * Requests between machines (issue 18): `call` asks another machine's daemon, `serve` answers for this one. The
 * caller is read from the subject, which the hub's permissions let each machine publish only as itself.
 * An answer is `{ok: true, result}` or `{ok: false, error: {error, code, …}}`; a remote failure becomes the same
 * TeleptyError it was there, so a remote operation prints and exits as a local one does.
 */

/** A remote request's bound when the caller gives none: an inject's own wait is added by its caller. */
export const FLEET_REQUEST_TIMEOUT_MS = 10_000;

export type RpcAnswer = { ok: true; result: unknown } | { ok: false; error: Record<string, unknown> & { error: string; code: string } };

const enc = new TextEncoder();
const dec = new TextDecoder();

function decodeAnswer(data: Uint8Array, target: string): unknown {
  let v: unknown;
  try {
    v = JSON.parse(dec.decode(data));
  } catch (err) {
    throw new TeleptyError('PROTOCOL_MISMATCH', `${target} answered something that is not JSON (${describeError(err)})`);
  }
  if (typeof v !== 'object' || v === null || !('ok' in v)) throw new TeleptyError('PROTOCOL_MISMATCH', `${target} answered something that is not a fleet answer`);
  if (v.ok === true && 'result' in v) return v.result;
  if (v.ok === false && 'error' in v && isErrorBody(v.error)) throw TeleptyError.fromBody(v.error);
  throw new TeleptyError('PROTOCOL_MISMATCH', `${target} answered something that is not a fleet answer`);
}

/** NATS's failures of a request in telepty's words. */
function requestFailure(err: unknown, target: string, op: FleetOp, timeoutMs: number): TeleptyError {
  if (err instanceof errors.RequestError && err.isNoResponders()) {
    return new TeleptyError('HOST_OFFLINE', `${target} is not connected to the fleet now (no daemon answers for it)`, { machine: target });
  }
  if (err instanceof errors.NoRespondersError) return new TeleptyError('HOST_OFFLINE', `${target} is not connected to the fleet now (no daemon answers for it)`, { machine: target });
  if (err instanceof errors.TimeoutError || (err instanceof errors.RequestError && err.cause instanceof errors.TimeoutError)) {
    return new TeleptyError('HOST_TIMEOUT', `${target} did not answer ${op} within ${Math.round(timeoutMs / 100) / 10} s (it is connected; it may have carried it out)`, { machine: target });
  }
  if (err instanceof errors.PermissionViolationError) return new TeleptyError('FORBIDDEN', `the hub refused ${op} to ${target}: ${err.message}`, { machine: target });
  if (err instanceof errors.ClosedConnectionError || err instanceof errors.DrainingConnectionError) {
    return new TeleptyError('HOST_OFFLINE', `this machine is not connected to the fleet (its NATS connection is closed)`, { machine: target });
  }
  return new TeleptyError('INTERNAL', `${op} to ${target} failed: ${describeError(err)}`, { machine: target });
}

export async function callMachine(nc: NatsConnection, self: string, target: string, op: FleetOp, body: unknown, timeoutMs = FLEET_REQUEST_TIMEOUT_MS): Promise<unknown> {
  let msg: Msg;
  try {
    msg = await nc.request(rpcSubject(target, op, self), enc.encode(JSON.stringify(body ?? null)), { timeout: timeoutMs });
  } catch (err) {
    throw requestFailure(err, target, op, timeoutMs);
  }
  return decodeAnswer(msg.data, target);
}

export type RpcHandler = (route: RpcRoute, body: unknown) => Promise<unknown>;

function encodeAnswer(a: RpcAnswer): Uint8Array {
  return enc.encode(JSON.stringify(a));
}

/**
 * Answer every request addressed to `self`, one handler call each (concurrently: a long inject wait does not hold
 * up a list). A request whose subject or body is not one is answered with an error, never dropped.
 */
export function serveMachine(nc: NatsConnection, self: string, handler: RpcHandler, log: Logger): Subscription {
  const sub = nc.subscribe(rpcInbox(self));
  void (async () => {
    for await (const m of sub) void answerOne(m, self, handler, log);
  })().catch((err: unknown) => log.error('fleet: the request subscription ended', err));
  return sub;
}

async function answerOne(m: Msg, self: string, handler: RpcHandler, log: Logger): Promise<void> {
  const route = parseRpcSubject(m.subject);
  let answer: RpcAnswer;
  if (!route || route.target !== self) {
    answer = { ok: false, error: new TeleptyError('BAD_REQUEST', `not a fleet request subject: ${m.subject}`).toBody() };
  } else {
    try {
      let body: unknown;
      try {
        body = m.data.length === 0 ? null : JSON.parse(dec.decode(m.data));
      } catch (err) {
        throw new TeleptyError('INVALID_JSON', `the request from ${route.caller} is not JSON (${describeError(err)})`);
      }
      answer = { ok: true, result: await handler(route, body) };
    } catch (err) {
      if (!(err instanceof TeleptyError)) log.error(`fleet: ${route.op} from ${route.caller} failed`, err);
      const e = err instanceof TeleptyError ? err : new TeleptyError('INTERNAL', 'internal error (see the daemon log on that machine)');
      answer = { ok: false, error: e.toBody() };
    }
  }
  if (!m.reply) return;
  try {
    m.respond(encodeAnswer(answer));
  } catch (err) {
    log.warn(`fleet: could not answer ${m.subject}: ${describeError(err)}`);
  }
}
