import type { FleetStatus } from '../../protocol/fleet.js';
import { fleetStatusOp } from '../../protocol/operations.js';
import { routeFor, type Route } from '../http/router.js';

/** HTTP adapters for the fleet (protocol/ops/fleet.ts). */
export function fleetRoutes(status: (opts: { rtt: boolean }) => Promise<FleetStatus>): Route[] {
  return [routeFor(fleetStatusOp, async (opts) => ({ body: await status(opts) }))];
}
