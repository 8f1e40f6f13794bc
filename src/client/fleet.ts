import type { FleetStatus } from '../protocol/fleet.js';
import { fleetStatusOp, spawnSessionOp } from '../protocol/operations.js';
import type { SpawnRequestBody, SpawnResponse } from '../protocol/session.js';
import { newRequestId } from '../util/request-id.js';
import type { DaemonClient } from './daemon-client.js';

/** The fleet as the daemon sees it; the round trips to other machines take up to a few seconds. */
const FLEET_STATUS_TIMEOUT_MS = 15_000;

export function fleetStatus(c: DaemonClient, opts: { rtt?: boolean } = {}): Promise<FleetStatus> {
  return c.call(fleetStatusOp, { timeoutMs: FLEET_STATUS_TIMEOUT_MS, query: { rtt: opts.rtt !== false } });
}

/** A spawn on another machine goes through the hub to its daemon, which starts a host: allow for both. */
const REMOTE_SPAWN_TIMEOUT_MS = 40_000;

/**
 * `spawn --machine M`: the spawn operation with `machine`, forwarded by the local daemon to M's, which applies its
 * policy (remote spawn is off by default). Only what is given travels: no cwd (M's daemon's home) and no
 * environment of this shell, only `--env`.
 */
export function spawnOnMachine(c: DaemonClient, machine: string, body: SpawnRequestBody): Promise<SpawnResponse> {
  const withMachine = { ...body, request_id: body.request_id ?? newRequestId(), machine };
  return c.call(spawnSessionOp, { body: withMachine, timeoutMs: REMOTE_SPAWN_TIMEOUT_MS, idempotent: true });
}
