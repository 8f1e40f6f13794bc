import type { NatsConnection } from '@nats-io/transport-node';
import { TeleptyError, isTeleptyError } from '../protocol/errors.js';
import type { FleetOp } from '../protocol/fleet.js';
import { sleep } from '../util/async.js';
import { callMachine } from './rpc.js';

/**
 * A request to another machine whose answer may be lost on the way: the hub restarted (killed -9: what it held is
 * gone; NATS does not fail a pending request when its connection drops, so the caller would wait its whole bound
 * and then call a machine "connected but silent" that was not), or the other machine's daemon died or restarted
 * after taking it. While a request is pending, the caller watches its own connection and pings the target; on a
 * loss it waits a short grace for the target to answer again, then sends a repeatable request again (a read, or an
 * inject with its id: the session's host answers a repeat with the first outcome and never types it twice) or says
 * what is known of one that is not (it may have been carried out) instead of waiting out the bound.
 */

/** The target is pinged this often while a request is pending (a request answers in ~1 ms through a hub on loopback). */
export const LIVENESS_EVERY_MS = 2_000;
/**
 * After a loss, how long the target gets to answer again: a hub restarted at once is back, and both daemons with
 * it, within nats.js's reconnect wait (2 s, measured 2.0-2.3 s here) plus the hub's own start (0.1 s): 6 s is that
 * with a loaded machine's margin. A daemon that died is not waited for longer: its host keeps the outcome, the answer
 * says how to learn it.
 */
export const LOSS_GRACE_MS = 6_000;
/** A ping gets this long: a target slower than this is not taken for gone (only no responders is). */
const PING_MS = 2_000;
/** While waiting for the target after a loss: tried again this often. */
const BACK_RECHECK_MS = 250;

export interface WatchedCallDeps {
  self: string;
  now(): number;
  /** This machine's connection when it is connected to the hub now, else null. */
  connection(): NatsConnection | null;
  /** Calls `f` when this machine loses the hub; returns the way to stop listening. */
  onDisconnect(f: () => void): () => void;
}

export interface WatchedCallOptions {
  timeoutMs: number;
  /** Safe to send again (a repeat changes nothing, or answers the first outcome). */
  repeatable?: boolean;
  /** The error when the answer was lost: `why` says what happened; the error says what may have been done and what to do. */
  lost?: (why: string) => TeleptyError;
}

type Outcome = { kind: 'answer'; value: unknown } | { kind: 'error'; err: unknown };

/** Which daemon instance answers for `target` now (its boot id), or why none does. */
type Presence = { kind: 'there'; boot: string | null } | { kind: 'absent' } | { kind: 'silent' };

/** The boot id of a ping's answer (null from a daemon older than boot ids). */
function bootOf(answer: unknown): string | null {
  return typeof answer === 'object' && answer !== null && 'boot' in answer && typeof answer.boot === 'string' ? answer.boot : null;
}

async function ping(nc: NatsConnection, self: string, target: string): Promise<Presence> {
  try {
    return { kind: 'there', boot: bootOf(await callMachine(nc, self, target, 'ping', null, PING_MS)) };
  } catch (err) {
    // No responders (or our connection closed): no daemon of target's is there. A slow answer is not taken for gone.
    if (isTeleptyError(err) && err.code === 'HOST_OFFLINE') return { kind: 'absent' };
    return { kind: 'silent' };
  }
}

/** Why an answer may be lost when this machine's own connection to the hub went. */
const HUB_LOST = "this machine lost the fleet's hub";

function absentWhy(target: string): string {
  return `${target}'s daemon stopped answering (none of ${target}'s is connected to the hub)`;
}

/** Resolves with why the pending request's answer may be lost: this machine lost the hub, or the target's daemon went. */
function watchLoss(deps: WatchedCallDeps, target: string, known: { boot?: string | null }): { lost: Promise<string>; stop(): void } {
  let report: (why: string) => void = () => undefined;
  const lost = new Promise<string>((resolve) => (report = resolve));
  const off = deps.onDisconnect(() => report(HUB_LOST));
  let pinging = false;
  const timer = setInterval(() => {
    const nc = deps.connection();
    if (pinging || nc === null) return;
    pinging = true;
    void ping(nc, deps.self, target).then((p) => {
      pinging = false;
      if (p.kind === 'absent') report(absentWhy(target));
      else if (p.kind === 'there') {
        if (known.boot === undefined) known.boot = p.boot;
        else if (p.boot !== known.boot) report(`${target}'s daemon restarted`);
      }
    });
  }, LIVENESS_EVERY_MS);
  timer.unref();
  return {
    lost,
    stop: () => {
      off();
      clearInterval(timer);
    },
  };
}

/** After a loss: whether the target answers again by `until` (true), or why not (its text). */
async function untilBack(deps: WatchedCallDeps, target: string, lost: string, until: number, known: { boot?: string | null }, answered: () => boolean): Promise<true | string> {
  let why = lost;
  while (!answered()) {
    const nc = deps.connection();
    if (nc !== null) {
      const p = await ping(nc, deps.self, target);
      if (p.kind === 'there') {
        known.boot = p.boot;
        return true;
      }
      why = p.kind === 'absent' ? absentWhy(target) : `${target} does not answer`;
    } else why = HUB_LOST;
    const left = until - deps.now();
    if (left <= 0) break;
    await sleep(Math.min(BACK_RECHECK_MS, left));
  }
  return why;
}

function defaultLost(target: string, op: FleetOp): (why: string) => TeleptyError {
  return (why) => new TeleptyError('HOST_TIMEOUT', `${why} while ${op} to ${target} was under way: it may have been carried out there or not`, { machine: target });
}

/** `op` to `target`, its answer or its error; a loss on the way handled as said above. */
export async function watchedCall(deps: WatchedCallDeps, target: string, op: FleetOp, body: unknown, opts: WatchedCallOptions): Promise<unknown> {
  const deadline = deps.now() + opts.timeoutMs;
  const lostError = opts.lost ?? defaultLost(target, op);
  const known: { boot?: string | null } = {};
  for (;;) {
    const nc = deps.connection();
    if (nc === null) throw new TeleptyError('HOST_OFFLINE', `this machine is not connected to the fleet now, so ${target} cannot be reached`, { machine: target });
    const done: { outcome: Outcome | null } = { outcome: null };
    const attempt: Promise<Outcome> = callMachine(nc, deps.self, target, op, body, Math.max(1, deadline - deps.now())).then(
      (value): Outcome => (done.outcome = { kind: 'answer', value }),
      (err: unknown): Outcome => (done.outcome = { kind: 'error', err }),
    );
    const watch = watchLoss(deps, target, known);
    const first = await Promise.race([attempt, watch.lost]);
    watch.stop();
    if (typeof first !== 'string') return unwrap(first);
    // Lost, maybe (nats.js discards what is published while it reconnects, an answer too); unless it still comes, the
    // target gets a grace to be back.
    const back = await untilBack(deps, target, first, Math.min(deadline, deps.now() + LOSS_GRACE_MS), known, () => done.outcome !== null);
    // The target's answers come in order: one it sent before its pong has been taken by now, or was lost.
    await sleep(0);
    const got = done.outcome;
    if (got !== null && !(got.kind === 'error' && isTeleptyError(got.err) && got.err.code === 'HOST_TIMEOUT')) return unwrap(got);
    if (back !== true) throw lostError(back);
    // Back, and the answer lost on the way: sent again when that is safe.
    if (!opts.repeatable || deps.now() >= deadline) throw lostError(first);
  }
}

function unwrap(o: Outcome): unknown {
  if (o.kind === 'answer') return o.value;
  throw o.err;
}
