import { randomUUID } from 'node:crypto';
import type WebSocket from 'ws';
import type { FleetLink } from '../../fleet/link.js';
import type { HistoryGap } from '../../fleet/event-history.js';
import { BUS_ENVELOPE_VERSION, GAP_KIND, matchesFilter, parseSubscribeQuery, type BusEvent } from '../../protocol/bus.js';
import { TeleptyError, isTeleptyError } from '../../protocol/errors.js';
import { FLEET_BUS_PATH } from '../../protocol/fleet.js';
import { describeError, type Logger } from '../../util/log.js';
import { isLocalConnection } from '../auth.js';
import { redactErrorText, redactForRemote } from '../http/respond.js';
import type { WsRoute } from '../ws/upgrade.js';

/**
 * `WS /api/fleet/bus` (`tail --all-machines`): the fleet's events from the hub's stream, filtered here as `/api/bus`
 * filters, `since` a stream sequence (the same on every machine, kept across daemon restarts). A follower that
 * falls behind is paced by its socket: the stream is read no faster than the socket takes it.
 */

/** Past this many unsent bytes, the next event waits until the socket has taken what is queued. */
const FOLLOW_MAX_BUFFERED_BYTES = 1024 * 1024;

function gapEvent(g: HistoryGap, machineId: string): BusEvent {
  return { version: BUS_ENVELOPE_VERSION, message_id: randomUUID(), kind: GAP_KIND, type: GAP_KIND, source: 'daemon', source_host: machineId, target: null, ts: new Date().toISOString(), seq: Math.max(0, g.to_seq), ...g };
}

function send(ws: WebSocket, text: string): Promise<void> {
  if (ws.readyState !== ws.OPEN) return Promise.resolve();
  if (ws.bufferedAmount < FOLLOW_MAX_BUFFERED_BYTES) {
    ws.send(text);
    return Promise.resolve();
  }
  return new Promise((resolve) => ws.send(text, () => resolve()));
}

export function fleetBusRoute(deps: { link: () => FleetLink | null; machineId: string; log: Logger }): WsRoute {
  const joined = (): FleetLink => {
    const link = deps.link();
    if (link === null) throw new TeleptyError('INVALID_FIELD', 'this daemon is in no fleet: --all-machines follows the fleet\'s stream (set TELEPTY_NATS_CREDS)');
    if (!link.connected) throw new TeleptyError('HOST_OFFLINE', 'this daemon is not connected to the fleet now; tail without --all-machines follows this machine');
    return link;
  };
  return {
    method: 'GET',
    path: FLEET_BUS_PATH,
    maxPayload: 4096,
    admit: (_req, _params, url) => {
      parseSubscribeQuery(url.searchParams);
      joined();
    },
    accept(ws, req, _params, url) {
      const opts = parseSubscribeQuery(url.searchParams);
      const remote = !isLocalConnection(req.socket);
      let follow: { stop(): void } | null = null;
      let closed = false;
      ws.on('close', () => {
        closed = true;
        follow?.stop();
      });
      ws.on('error', (err) => deps.log.debug(`fleet tail client error: ${err.message}`));
      ws.on('message', () => ws.close(1008, 'this socket only follows'));
      void (async () => {
        follow = await joined().followEvents(opts.since, {
          event: async (ev) => {
            if (closed || !matchesFilter(opts, ev)) return;
            const out = remote && typeof ev.error === 'string' ? { ...ev, error: redactErrorText(ev.error) } : ev;
            await send(ws, JSON.stringify(out));
          },
          gap: (g) => void send(ws, JSON.stringify(gapEvent(g, deps.machineId))),
        });
        if (closed) follow.stop();
      })().catch((err: unknown) => {
        if (!isTeleptyError(err)) deps.log.warn(`fleet: a tail of the fleet's stream failed: ${describeError(err)}`);
        const e = isTeleptyError(err) ? err : new TeleptyError('HOST_OFFLINE', `the fleet's event stream cannot be followed now (${err instanceof Error ? err.message.split('\n')[0] : String(err)})`);
        if (ws.readyState === ws.OPEN) ws.send(JSON.stringify({ kind: 'bus.error', ...(remote ? redactForRemote(e.toBody()) : e.toBody()) }));
        ws.close(1011, 'cannot follow the fleet stream');
      });
    },
  };
}
