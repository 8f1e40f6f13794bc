import type { FleetLink } from '../../fleet/link.js';
import { TeleptyError } from '../../protocol/errors.js';
import type { FleetOp } from '../../protocol/fleet.js';
import { REPEAT_HEADER } from '../../protocol/headers.js';
import { IDEMPOTENCY_HEADER, isInjectId } from '../../protocol/inject.js';
import { newRequestId } from '../../util/request-id.js';
import { OPERATIONS } from '../../protocol/operations.js';
import { WAIT_MAX_MS } from '../../protocol/ops/state.js';
import type { RequestContext, Route, RouteResult } from '../http/router.js';
import { locate, unknownHost } from '../sessions/targets.js';
import { machineSpawn, mixedMulticast } from './mixed.js';

/**
 * A request for a session of another machine (`id@machine`) is carried to that machine's daemon over the fleet and
 * run there through the same operation: same parser, same answer (checked by the operation's guard here), same
 * errors and exit codes. A remote id never falls back to a local session of the same name.
 */

/** Which operations travel, and the permission each needs on the target machine (TELEPTY_FLEET_ALLOW). */
export const FORWARDED: Readonly<Record<string, FleetOp>> = {
  inject: 'inject',
  submit: 'enter',
  'sessions.get': 'list',
  'sessions.screen': 'screen',
  'sessions.kill': 'kill',
  'sessions.rename': 'rename',
  'sessions.spawn': 'spawn',
  'sessions.state': 'state',
  'sessions.wait': 'wait',
  'sessions.keys': 'keys',
  // The answer to a prompt is part of what the screen shows: the same permission as `read`.
  'sessions.answer': 'screen',
  // Off by default like rename: they change the session (its groups) or write files on that machine.
  'sessions.tags': 'tag',
  'sessions.record': 'record',
};

/** A request as it travels: the operation's name and the HTTP request's parts. */
export interface FleetRequest {
  op: string;
  params: Record<string, string>;
  query: string;
  body: unknown;
  headers: Record<string, string>;
}

export function isFleetRequest(v: unknown): v is FleetRequest {
  if (typeof v !== 'object' || v === null) return false;
  const o: Record<string, unknown> = { ...v };
  const strings = (x: unknown): boolean => typeof x === 'object' && x !== null && Object.values(x).every((s) => typeof s === 'string');
  return typeof o.op === 'string' && strings(o.params) && typeof o.query === 'string' && strings(o.headers) && 'body' in o;
}

/** Header fields that change what an operation does, carried with it (nothing that authenticates). */
const CARRIED_HEADERS = [IDEMPOTENCY_HEADER, REPEAT_HEADER];

/** A remote request gets the time its own wait asks for, plus this for the two hops. */
const FORWARD_MARGIN_MS = 5_000;
/** Without a wait of its own. */
const FORWARD_DEFAULT_MS = 10_000;

function timeoutFor(opName: string, ctx: RequestContext): number {
  const body: Record<string, unknown> = typeof ctx.body === 'object' && ctx.body !== null ? { ...ctx.body } : {};
  // A state wait is a long-poll the remote daemon holds up to WAIT_MAX_MS (or the asked bound when shorter).
  if (opName === 'sessions.wait') return Math.min(typeof body.timeout_ms === 'number' ? body.timeout_ms : WAIT_MAX_MS, WAIT_MAX_MS) + FORWARD_MARGIN_MS;
  const waits = body.wait === true || ctx.query.get('wait') === '1';
  const ms = typeof body.timeout_ms === 'number' ? body.timeout_ms : 30_000;
  return waits ? ms + FORWARD_MARGIN_MS : FORWARD_DEFAULT_MS;
}

/** Reads: a repeat changes nothing, so one whose answer was lost on the way (the hub restarted) is sent again. */
const READS = new Set(['sessions.get', 'sessions.screen', 'sessions.state', 'sessions.wait']);
/** Jobs with an inject id: the session's host answers a repeat with the first outcome and never types it twice. */
const WITH_INJECT_ID = new Set(['inject', 'submit']);

/**
 * An inject's (or Enter's) body with its inject id: the caller's (body or Idempotency-Key), or a new one given here,
 * so that a repeat after a lost answer is the same job on the other machine, and the answer can name it.
 */
function withInjectId(body: unknown, headers: Record<string, string>): { body: unknown; injectId: string | null } {
  if (body !== null && body !== undefined && (typeof body !== 'object' || Array.isArray(body))) return { body, injectId: null };
  const o: Record<string, unknown> = { ...(body ?? {}) };
  const given = o.inject_id ?? headers[IDEMPOTENCY_HEADER];
  if (given !== undefined) return { body: o, injectId: isInjectId(given) ? given : null };
  const injectId = newRequestId();
  return { body: { ...o, inject_id: injectId }, injectId };
}

/** What the caller of an inject whose answer was lost is told: it may have been typed, and how to learn what happened. */
function lostInject(machine: string, id: string | undefined, injectId: string): (why: string) => TeleptyError {
  return (why) =>
    new TeleptyError(
      'HOST_TIMEOUT',
      `${why} while inject ${injectId} to ${id ?? 'a session'}@${machine} was under way: the prompt may have been typed there or not. ` +
        `Once ${machine} answers again, repeat it with --inject-id ${injectId} (Idempotency-Key): it is never typed twice, and the answer says what happened`,
      { machine, inject_id: injectId, job: 'pending' },
    );
}

/** What the caller of a read whose answer was lost is told: nothing changed there, so asking again is safe. */
function lostRead(machine: string, id: string | undefined, fleetOp: FleetOp): (why: string) => TeleptyError {
  return (why) => new TeleptyError('HOST_OFFLINE', `${why} while reading ${id ?? 'a session'}@${machine} (${fleetOp}): nothing was changed there; ask again once it answers`, { machine });
}

function isRouteResult(v: unknown): v is RouteResult & { status: number } {
  return typeof v === 'object' && v !== null && 'status' in v && typeof v.status === 'number' && 'body' in v;
}

/**
 * An inject's sender (`from`, `reply_to`) as the target machine must record it: a bare id is a session of the
 * caller's machine, so it travels as `id@<caller>` and a `reply` there comes back here, not to a session of the
 * same name on that machine.
 */
function senderQualified(body: unknown, machineId: string): unknown {
  if (typeof body !== 'object' || body === null || Array.isArray(body)) return body ?? null;
  const o: Record<string, unknown> = { ...body };
  for (const k of ['from', 'reply_to']) {
    const v = o[k];
    if (typeof v === 'string' && v.length > 0 && !v.includes('@')) o[k] = `${v}@${machineId}`;
  }
  return o;
}

/** What a carried request does on this machine: `route` given the request's parts, as a caller from `caller`. */
export function contextFor(req: FleetRequest, method: RequestContext['method'], path: string, params: Record<string, string>, caller: string): RequestContext {
  return {
    method,
    path,
    params,
    query: new URLSearchParams(req.query),
    headers: { ...req.headers },
    peer: `fleet:${caller}`,
    remote: true,
    body: req.body,
    signal: new AbortController().signal,
  };
}

/**
 * The routes, each forwarded operation sent to its machine when its `:id` names another one and the fleet is joined;
 * `id@<this machine>` is taken as `id`.
 */
export function withForwarding(routes: Route[], deps: { machineId: string; link: () => FleetLink | null; problem: () => string | null }): Route[] {
  /** One request to `machine`, run there by its daemon's own route for `opName`. */
  const forward = async (machine: string, opName: string, params: Record<string, string>, ctx: RequestContext, body: unknown): Promise<RouteResult> => {
    const op = OPERATIONS.find((o) => o.name === opName);
    const fleetOp = FORWARDED[opName];
    const link = deps.link();
    if (op === undefined || fleetOp === undefined) throw new TeleptyError('INTERNAL', `${opName} does not travel between machines`);
    if (link === null) throw unknownHost(`machine ${machine}`, machine, deps.problem());
    const headers: Record<string, string> = {};
    for (const h of CARRIED_HEADERS) {
      const v = ctx.headers[h];
      if (typeof v === 'string') headers[h] = v;
    }
    const job = WITH_INJECT_ID.has(opName) ? withInjectId(opName === 'inject' ? senderQualified(body, deps.machineId) : body, headers) : null;
    const req: FleetRequest = { op: op.name, params, query: ctx.query.toString(), body: job !== null ? job.body : (body ?? null), headers };
    const answer = await link.call(machine, fleetOp, req, timeoutFor(op.name, { ...ctx, body }), {
      repeatable: READS.has(opName) || (job !== null && job.injectId !== null),
      ...(job?.injectId ? { lost: lostInject(machine, params.id, job.injectId) } : READS.has(opName) ? { lost: lostRead(machine, params.id, fleetOp) } : {}),
    });
    if (!isRouteResult(answer) || !op.isAnswer(answer.body)) {
      throw new TeleptyError('PROTOCOL_MISMATCH', `${machine} answered ${op.name} with something that is not its answer`);
    }
    return answer;
  };
  const mixed = { machineId: deps.machineId, link: deps.link, problem: deps.problem, forward };
  return routes.map((route) => {
    const name = route.operation;
    if (name === 'multicast') return { ...route, handler: mixedMulticast(route, mixed) };
    if (name === 'sessions.spawn') return { ...route, handler: machineSpawn(route, mixed) };
    const fleetOp = name === undefined ? undefined : FORWARDED[name];
    const op = OPERATIONS.find((o) => o.name === name);
    if (fleetOp === undefined || op === undefined) return route;
    return {
      ...route,
      handler: async (ctx: RequestContext): Promise<RouteResult> => {
        const id = ctx.params.id;
        if (id === undefined || !id.includes('@')) return route.handler(ctx);
        const where = locate(id, deps.machineId);
        // `id@<this machine>` is this machine's `id`, for every operation (not only those that parse addresses).
        if (where.local) return route.handler({ ...ctx, params: { ...ctx.params, id: where.id } });
        // Not in a fleet: nothing can reach it, and it is never taken for a local session of the same name.
        if (deps.link() === null) throw unknownHost(`session ${id}`, where.machineId, deps.problem());
        return forward(where.machineId, op.name, { ...ctx.params, id: where.id }, ctx, ctx.body);
      },
    };
  });
}
