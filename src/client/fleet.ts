import type { FleetStatus } from '../protocol/fleet.js';
import { fleetStatusOp } from '../protocol/operations.js';
import type { DaemonClient } from './daemon-client.js';

/** The fleet as the daemon sees it; the round trips to other machines take up to a few seconds. */
const FLEET_STATUS_TIMEOUT_MS = 15_000;

export function fleetStatus(c: DaemonClient, opts: { rtt?: boolean } = {}): Promise<FleetStatus> {
  return c.call(fleetStatusOp, { timeoutMs: FLEET_STATUS_TIMEOUT_MS, query: { rtt: opts.rtt !== false } });
}
