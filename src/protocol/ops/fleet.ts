import type { FleetStatus, MachineListing } from '../fleet.js';
import { arrayOf, isArray, isBoolean, isString, nullable, isNumber, oneOf, optional, shape, type Guard } from '../guard.js';
import { operation } from './contract.js';

const isListing: Guard<MachineListing & { rtt_ms: number | null }> = shape<MachineListing & { rtt_ms: number | null }>({
  machine: isString,
  reachable: isBoolean,
  last_seen: nullable(isNumber),
  sessions: isArray,
  rtt_ms: nullable(isNumber),
});

/** `GET /api/fleet[?rtt=0]`: the fleet as this daemon sees it (state `off` when it has none); `rtt=0` skips the pings (`list --all`). */
export const fleetStatusOp = operation({
  name: 'fleet.status',
  method: 'GET',
  path: '/api/fleet',
  parse: ({ query }): { rtt: boolean } => ({ rtt: query.get('rtt') !== '0' }),
  query: (q: { rtt?: boolean }) => new URLSearchParams(q.rtt === false ? { rtt: '0' } : {}),
  isAnswer: shape<FleetStatus>({
    machine: isString,
    state: oneOf('off', 'error', 'connecting', 'connected', 'reconnecting', 'closed'),
    server: nullable(isString),
    hub_rtt_ms: nullable(isNumber),
    machines: arrayOf(isListing),
    error: optional(isString),
  }),
});

export const FLEET_OPERATIONS = [fleetStatusOp] as const;
