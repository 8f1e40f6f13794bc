import type { IncomingMessage } from 'node:http';
import type { Duplex } from 'node:stream';
import type WebSocket from 'ws';
import { VIEWER_CLOSE } from '../../protocol/viewer.js';
import type { Logger } from '../../util/log.js';
import { VIEWER_MAX_PAYLOAD, WsViewer, onViewerMessages } from '../../util/viewer-flow.js';
import type { SessionRegistry } from '../sessions/registry.js';
import type { ViewerHub, ViewerTimings } from '../sessions/viewer-hub.js';
import type { SessionEntry } from '../target.js';
import type { WsRoute } from './upgrade.js';

export interface ViewerRouteDeps {
  registry: SessionRegistry;
  viewers: ViewerHub;
  log: Logger;
  timings: ViewerTimings;
  /** Gives a viewer to a host that serves it itself (host-channels.ts); false: the hub serves it. */
  handOff?: (entry: SessionEntry, req: IncomingMessage, socket: Duplex, head: Buffer) => boolean;
}

/** `/api/sessions/:id` viewers over WebSocket: each socket becomes a viewer of the hub (sessions/viewer-hub.ts). */
export function viewerRoute(deps: ViewerRouteDeps): WsRoute {
  const { registry, viewers, log } = deps;
  const accept = (ws: WebSocket, id: string): void => {
    const entry = registry.get(id);
    if (!entry?.link) {
      ws.close(VIEWER_CLOSE.HOST_GONE, 'the session is not connected');
      return;
    }
    const viewer = new WsViewer(ws, deps.timings.viewerCatchUpMs, viewers.flowOf(entry));
    const detach = viewers.attach(entry, viewer);
    onViewerMessages(ws, (msg) => entry.link?.send(msg));
    ws.on('error', (err) => log.debug(`viewer error on ${entry.id}: ${err.message}`));
    ws.on('close', detach);
  };
  return {
    method: 'GET',
    path: '/api/sessions/:id',
    maxPayload: VIEWER_MAX_PAYLOAD,
    // After a restart, the session's host may be a moment from reconnecting: wait for it (bounded).
    before: () => registry.whenHostsBack(),
    // Refuse before the handshake: unknown ids are 404, and a WS never creates a session.
    admit: (_req, params) => void registry.requireConnected(params.id),
    handOff: (req, socket, head, params) => {
      const entry = registry.get(params.id as string);
      return entry !== undefined && deps.handOff !== undefined && deps.handOff(entry, req, socket, head);
    },
    accept: (ws, _req, params) => accept(ws, params.id as string),
  };
}
