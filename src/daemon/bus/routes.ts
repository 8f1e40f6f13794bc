import { publishOp } from '../../protocol/operations.js';
import { routeFor, type Route } from '../http/router.js';
import type { Bus } from './bus.js';

/** `POST /api/bus/publish` (protocol/ops/bus.ts): one event object; answers {success, seq, message_id, delivered}. */
export function busRoutes(bus: Bus): Route[] {
  return [routeFor(publishOp, (event) => ({ body: bus.publish(event) }))];
}
