import type { RpcHandler } from '../../fleet/rpc.js';
import { TeleptyError, isTeleptyError } from '../../protocol/errors.js';
import { FLEET_OPS, type FleetOp } from '../../protocol/fleet.js';
import { pathFor } from '../../protocol/ops/contract.js';
import { OPERATIONS } from '../../protocol/operations.js';
import type { Logger } from '../../util/log.js';
import { redactErrorText } from '../http/respond.js';
import { RouteTable, type Route } from '../http/router.js';
import { FORWARDED, contextFor, isFleetRequest } from './forward.js';

/** Operations another machine may ask of this one unless TELEPTY_FLEET_ALLOW says otherwise: reading and typing, not spawning or killing. */
export const DEFAULT_FLEET_ALLOW: readonly FleetOp[] = ['ping', 'inject', 'enter', 'keys', 'screen', 'list', 'state', 'wait'];

/**
 * This machine's answers to the fleet: each request checked against the policy for its caller and operation,
 * logged with its caller, then run through this daemon's own route (not forwarded again: one hop), as a remote
 * caller (its error texts redacted).
 */
export function fleetServer(routes: Route[], deps: { allow: ReadonlySet<FleetOp>; log: Logger; attach?: (caller: string, body: unknown) => unknown }): RpcHandler {
  const table = new RouteTable<Route>().add(...routes);
  return async (route, body) => {
    if (!deps.allow.has(route.op)) {
      deps.log.warn(`fleet: refused ${route.op} from ${route.caller} (not in TELEPTY_FLEET_ALLOW)`);
      throw new TeleptyError('FORBIDDEN', `${route.op} from other machines is not allowed on ${route.target} (its TELEPTY_FLEET_ALLOW)`);
    }
    if (route.op === 'attach' && deps.attach) {
      deps.log.info(`fleet: attach from ${route.caller}`);
      return deps.attach(route.caller, body);
    }
    if (!isFleetRequest(body)) throw new TeleptyError('BAD_REQUEST', `the request from ${route.caller} is not a fleet request`);
    const op = OPERATIONS.find((o) => o.name === body.op);
    if (op === undefined || FORWARDED[op.name] !== route.op) throw new TeleptyError('BAD_REQUEST', `${body.op} is not an operation of ${route.op}`);
    const path = pathFor(op.path, body.params);
    const m = table.match(op.method, path);
    if (m.kind !== 'found') throw new TeleptyError('NOT_FOUND', `no route for ${op.name} here`);
    deps.log.info(`fleet: ${op.name} ${body.params.id ?? ''} from ${route.caller}`);
    try {
      return await m.route.handler(contextFor(body, op.method, path, m.params, route.caller));
    } catch (err) {
      if (!isTeleptyError(err)) throw err;
      const details = err.details === undefined ? undefined : Object.fromEntries(Object.entries(err.details).map(([k, v]) => [k, typeof v === 'string' ? redactErrorText(v) : v]));
      throw new TeleptyError(err.code, redactErrorText(err.message), details);
    }
  };
}

/** TELEPTY_FLEET_ALLOW: a comma list of operations (`inject,screen,list,kill`), or `all`. */
export function parseFleetAllow(text: string | undefined): Set<FleetOp> {
  if (text === undefined || text.trim() === '') return new Set(DEFAULT_FLEET_ALLOW);
  const words = text.split(',').map((s) => s.trim()).filter((s) => s.length > 0);
  const all: readonly FleetOp[] = FLEET_OPS;
  if (words.includes('all')) return new Set(all);
  const out = new Set<FleetOp>(['ping']);
  for (const w of words) {
    const op = all.find((a) => a === w);
    if (op === undefined) throw new TeleptyError('INVALID_FIELD', `TELEPTY_FLEET_ALLOW: "${w}" is not one of ${all.join(', ')} or all`);
    out.add(op);
  }
  return out;
}
