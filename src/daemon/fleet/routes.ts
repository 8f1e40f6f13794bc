import type { FleetStatus } from '../../protocol/fleet.js';
import { fleetStatusOp } from '../../protocol/operations.js';
import { routeFor, type Route } from '../http/router.js';

/** HTTP adapters for the fleet (protocol/ops/fleet.ts). */
export function fleetRoutes(status: () => Promise<FleetStatus>): Route[] {
  return [routeFor(fleetStatusOp, async () => ({ body: await status() }))];
}
