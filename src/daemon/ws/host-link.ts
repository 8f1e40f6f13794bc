import type WebSocket from 'ws';
import { HOST_LINK_MAX_PAYLOAD, HOST_LINK_PATH } from '../../protocol/host-link.js';
import { HostLinkConnection, type HostChannel, type HostHubDeps } from '../sessions/host-hub.js';
import { watchHeartbeat } from './heartbeat.js';
import type { WsRoute } from './upgrade.js';

/** A WebSocket as a host channel. */
function wsChannel(ws: WebSocket): HostChannel {
  return {
    get open() {
      return ws.readyState === ws.OPEN;
    },
    send: (text) => ws.send(text),
    close: (code, reason) => ws.close(code, reason),
  };
}

/** `/api/host`: the WebSocket every session host keeps open to the daemon (the link itself is host-hub.ts). */
export function hostLinkRoute(deps: HostHubDeps): WsRoute {
  return {
    method: 'GET',
    path: HOST_LINK_PATH,
    maxPayload: HOST_LINK_MAX_PAYLOAD,
    accept(ws) {
      const link = new HostLinkConnection(wsChannel(ws), deps);
      watchHeartbeat(ws, deps.timings.linkHeartbeatMs, () => {
        deps.log.warn(`host link of ${link.session?.id ?? '(unregistered)'} missed its heartbeat; closing`);
        ws.terminate();
      });
      ws.on('message', (data: Buffer, isBinary: boolean) => {
        if (isBinary) link.onBinary(data);
        else link.onText(data.toString('utf8'));
      });
      ws.on('error', (err) => deps.log.debug(`host link error: ${err.message}`));
      ws.on('close', () => link.onClosed());
    },
  };
}
