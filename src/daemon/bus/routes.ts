import type { Route } from '../http/router.js';
import type { Bus } from './bus.js';

/** `POST /api/bus/publish`: one event object; answers {success, seq, message_id, delivered}. */
export function busRoutes(bus: Bus): Route[] {
  return [{ method: 'POST', path: '/api/bus/publish', handler: (ctx) => ({ body: bus.publish(ctx.body) }) }];
}
