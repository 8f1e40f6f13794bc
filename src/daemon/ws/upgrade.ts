import type { IncomingMessage } from 'node:http';
import type { Duplex } from 'node:stream';
import { WebSocketServer, type WebSocket } from 'ws';
import { TeleptyError } from '../../protocol/errors.js';
import type { UpgradeHandler } from '../http/server.js';
import { RouteTable } from '../http/router.js';

/** Largest WS message accepted unless a route says otherwise (same bound as an HTTP body). */
export const DEFAULT_WS_MAX_PAYLOAD = 4 * 1024 * 1024;

export interface WsRoute {
  method: 'GET';
  path: string;
  maxPayload?: number;
  /** Awaited before admit (e.g. the hosts a restart expects back); the socket waits meanwhile. */
  before?(): Promise<void>;
  /** Runs before the handshake completes: throw a TeleptyError to refuse (unknown session, bad version...). */
  admit?(req: IncomingMessage, params: Record<string, string>, url: URL): void;
  /** After admit: true when the route gave the connection to another process (it completes the handshake). */
  handOff?(req: IncomingMessage, socket: Duplex, head: Buffer, params: Record<string, string>): boolean;
  accept(ws: WebSocket, req: IncomingMessage, params: Record<string, string>, url: URL): void;
}

/** Route WS upgrades by path; unknown paths are refused, never accepted as a side effect. */
export function createUpgradeRouter(routes: WsRoute[]): { handler: UpgradeHandler; servers: WebSocketServer[] } {
  const table = new RouteTable<WsRoute>();
  const servers = new Map<WsRoute, WebSocketServer>();
  for (const route of routes) {
    table.add(route);
    servers.set(route, new WebSocketServer({ noServer: true, maxPayload: route.maxPayload ?? DEFAULT_WS_MAX_PAYLOAD }));
  }
  const handler: UpgradeHandler = (req: IncomingMessage, socket: Duplex, head: Buffer, url: URL) => {
    const match = table.match(req.method ?? 'GET', url.pathname);
    if (match.kind === 'bad-path') throw new TeleptyError('BAD_REQUEST', 'the path is not valid percent-encoding');
    if (match.kind !== 'found') throw new TeleptyError('NOT_FOUND', `no WebSocket route ${url.pathname.slice(0, 100)}`);
    const { route, params } = match;
    const upgrade = (): void => {
      route.admit?.(req, params, url);
      if (route.handOff?.(req, socket, head, params)) return;
      const wss = servers.get(route) as WebSocketServer;
      wss.handleUpgrade(req, socket, head, (ws) => route.accept(ws, req, params, url));
    };
    if (!route.before) return upgrade();
    return route.before().then(() => {
      if (!socket.destroyed) upgrade();
    });
  };
  return { handler, servers: [...servers.values()] };
}
