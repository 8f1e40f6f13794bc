import type { BusEvent } from '../../protocol/bus.js';
import { TeleptyError, isTeleptyError } from '../../protocol/errors.js';
import { replyAddressOf } from '../../protocol/address.js';
import { parsePrompt } from '../../protocol/inject.js';
import type { Logger } from '../../util/log.js';
import { injectFailedFields } from '../inject/events.js';
import type { Injector } from '../inject/injector.js';
import type { TurnFollowStore } from '../inject/turn-follows.js';
import { TurnFollower } from '../inject/turns.js';
import { locate, unknownHost } from '../sessions/targets.js';
import type { InjectOrigin } from '../target.js';
import type { Bus } from './bus.js';

export const TURN_REQUEST = 'turn_request';

function isHere(target: string, machineId: string): boolean {
  try {
    return locate(target, machineId).local;
  } catch (err) {
    // A target that is no address is refused by the origin's own router; it is nobody's here.
    if (isTeleptyError(err)) return false;
    throw err;
  }
}

function text(v: unknown): string | null {
  return typeof v === 'string' && v.length > 0 && v.length <= 256 ? v : null;
}

/** The fleet as the router needs it: whether another machine answers now (its own router delivers the event). */
export interface RouterFleet {
  reachable(machineId: string): Promise<boolean>;
}

/** What the router is given besides the bus and the injector. */
export interface RouterOptions {
  /** The fleet, once joined (null: local only). */
  fleet?: () => RouterFleet | null;
  /** Why a configured fleet is not usable (null: usable, or none): said in UNKNOWN_HOST. */
  fleetProblem?: () => string | null;
  /** Where followed turns are kept until their turn_complete is out (absent: in memory only). */
  store?: TurnFollowStore;
  now?: () => number;
}

/**
 * The auto-router: a `turn_request` (by kind or legacy type) with a `target` becomes an inject of
 * `payload.prompt` through the session's queue; its `inject_written` ack (or `inject_failed`) carries turn_id,
 * original_message_id and source_host so it can be matched to the request from the ack alone; once the target's
 * agent rests after the prompt, `turn_complete` (daemon/inject/turns.ts), also across a daemon restart. A target
 * on another machine is never delivered locally: with no peers configured it fails with UNKNOWN_HOST. Returns the
 * turn follower, which also resumes the turns a killed daemon left (TurnFollower.restore).
 */
export function startAutoRouter(bus: Bus, injector: Injector, machineId: string, log: Logger, opts: RouterOptions = {}): TurnFollower {
  const fleet = opts.fleet ?? (() => null);
  const fleetProblem = opts.fleetProblem ?? (() => null);
  const turns = new TurnFollower({ injector, events: bus, log, now: opts.now ?? Date.now, ...(opts.store ? { store: opts.store } : {}) });
  bus.onClientEvent((ev: BusEvent) => {
    if (ev.kind !== TURN_REQUEST && ev.type !== TURN_REQUEST) return;
    const remoteEvent = bus.isRemote(ev);
    // An event from another machine is delivered here only when its target is here; its origin answers for the rest.
    if (remoteEvent && (!ev.target || !isHere(ev.target, machineId))) return;
    const payload = typeof ev.payload === 'object' && ev.payload !== null ? (ev.payload as Record<string, unknown>) : {};
    const extra = { turn_id: payload.turn_id ?? null, original_message_id: ev.message_id, source_host: machineId, auto_routed: true as const };
    const origin: InjectOrigin = { source_type: 'bus_auto_route', extra };
    // Refused before it became a job: no inject id.
    const fail = (e: TeleptyError): void => bus.emit('inject_failed', injectFailedFields(e, ev.target, origin));
    try {
      const target = ev.target;
      if (!target) throw new TeleptyError('INVALID_EVENT', 'a turn_request needs a target');
      const where = locate(target, machineId);
      if (!where.local) {
        const f = fleet();
        if (f === null) throw unknownHost(`target ${ev.target}`, where.machineId, fleetProblem());
        // The fleet carries the event to its machine, whose router delivers it once; say so now if nobody is there.
        void f.reachable(where.machineId).then((up) => {
          if (!up) fail(new TeleptyError('HOST_OFFLINE', `target ${ev.target}: ${where.machineId} is not connected to the fleet now, so the turn was not delivered`));
        });
        return;
      }
      const prompt = parsePrompt(payload.prompt);
      const from = text(ev.source);
      // Kept on disk, injected, and once its prompt is submitted followed to its end: turn_complete (issue 19).
      turns
        .route({ session_id: where.id, target, text: prompt, from, reply_to: replyAddressOf(text(ev.reply_to), from), thread_id: text(payload.thread_id) ?? text(ev.thread_id), extra })
        .catch((err: unknown) => log.error('auto-route inject failed', err));
    } catch (err) {
      if (!isTeleptyError(err)) throw err;
      fail(err);
    }
  });
  return turns;
}
