/**
 * Every daemon HTTP operation, declared once (src/protocol/ops/<area>.ts): its name, method and path, the parser of
 * its request (the daemon's routes are built from it: daemon/http/router.ts routeFor) and the guard of its answer
 * (the client's DaemonClient.call checks every answer with it). WebSocket paths are constants beside them; their
 * message protocols live in protocol/viewer.ts, protocol/bus.ts and protocol/host-link.ts.
 */
import type { AnyOperation } from './ops/contract.js';
import { BUS_OPERATIONS } from './ops/bus.js';
import { DAEMON_OPERATIONS } from './ops/daemon.js';
import { FLEET_OPERATIONS } from './ops/fleet.js';
import { INJECT_OPERATIONS } from './ops/inject.js';
import { RECORD_OPERATIONS } from './ops/records.js';
import { RECORDING_OPERATIONS } from './ops/recording.js';
import { SESSION_OPERATIONS } from './ops/sessions.js';
import { STATE_OPERATIONS } from './ops/state.js';
import { UI_OPERATIONS } from './ops/ui.js';

export * from './ops/contract.js';
export * from './ops/bus.js';
export * from './ops/daemon.js';
export * from './ops/fleet.js';
export * from './ops/inject.js';
export * from './ops/records.js';
export * from './ops/recording.js';
export * from './ops/sessions.js';
export * from './ops/state.js';
export * from './ops/ui.js';
export { BUS_PATH } from './bus.js';

/** The viewer WebSocket: an upgrade on a session's own path (`GET /api/sessions/:id` with Upgrade: websocket). */
export const VIEWER_PATH = '/api/sessions/:id';

/** All of them, for the route table's check and for tools built from the contract. */
export const OPERATIONS: readonly AnyOperation[] = [...SESSION_OPERATIONS, ...INJECT_OPERATIONS, ...BUS_OPERATIONS, ...RECORD_OPERATIONS, ...RECORDING_OPERATIONS, ...DAEMON_OPERATIONS, ...FLEET_OPERATIONS, ...STATE_OPERATIONS, ...UI_OPERATIONS];
