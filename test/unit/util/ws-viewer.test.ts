import type { AddressInfo } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import WebSocket, { WebSocketServer } from 'ws';
import { VIEWER_CLOSE } from '../../../src/protocol/viewer.js';
import { VIEWER_WINDOW_BYTES, WsViewer } from '../../../src/util/viewer-flow.js';
import { waitFor } from '../../helpers/env.js';

type Paused = { _socket: { pause(): void; resume(): void } };

const open: { close(): void }[] = [];
afterEach(() => {
  for (const o of open.splice(0)) o.close();
});

/** A real viewer socket pair on loopback: the server side wrapped in a WsViewer, the client as a viewer would be. */
async function pair(catchUpMs: number) {
  const wss = new WebSocketServer({ host: '127.0.0.1', port: 0 });
  open.push(wss);
  await new Promise((r) => wss.once('listening', r));
  const events: string[] = [];
  const server = new Promise<WsViewer>((resolve) =>
    wss.once('connection', (ws) => {
      const v: WsViewer = new WsViewer(ws, catchUpMs, { fellBehind: () => events.push('behind'), caughtUp: () => events.push('caught up') });
      resolve(v);
    }),
  );
  const client = new WebSocket(`ws://127.0.0.1:${(wss.address() as AddressInfo).port}`);
  open.push({ close: () => client.terminate() });
  let received = 0;
  client.on('message', (d: Buffer) => (received += d.length));
  await new Promise((r) => client.once('open', r));
  const viewer = await server;
  viewer.ready = true;
  return { viewer, client, events, received: () => received };
}

/** Send output until the viewer stops taking it (or `max` bytes went). */
function flood(viewer: WsViewer, max: number): number {
  const chunk = Buffer.alloc(64 * 1024, 'x');
  let sent = 0;
  while (sent < max && viewer.ready && viewer.send(chunk)) sent += chunk.length;
  return sent;
}

describe('a viewer socket with flow control', () => {
  it('is paused once a window of output is unconfirmed, and caught up when its reader reads it all', async () => {
    const { viewer, client, events, received } = await pair(60_000);
    (client as unknown as Paused)._socket.pause();
    const sent = flood(viewer, 8 * VIEWER_WINDOW_BYTES);
    // It stopped about one window in: not the 8 it was offered.
    expect(sent).toBeGreaterThan(VIEWER_WINDOW_BYTES);
    expect(sent).toBeLessThan(2 * VIEWER_WINDOW_BYTES);
    expect(viewer.behind).toBe(true);
    expect(events).toEqual(['behind']);
    (client as unknown as Paused)._socket.resume();
    await waitFor('the caught-up event', () => events.includes('caught up'));
    expect(viewer.behind).toBe(false);
    expect(received()).toBe(sent);
  });

  it('is not confirmed by a pong it did not ask for', async () => {
    const { viewer, client, events } = await pair(60_000);
    (client as unknown as Paused)._socket.pause();
    flood(viewer, 4 * VIEWER_WINDOW_BYTES);
    expect(viewer.behind).toBe(true);
    // Unasked pongs, one with a count beyond what was sent: neither confirms anything.
    client.pong(String(10 * VIEWER_WINDOW_BYTES));
    client.pong('not a number');
    await new Promise((r) => setTimeout(r, 200));
    expect(viewer.behind).toBe(true);
    expect(events).toEqual(['behind']);
  });

  it('is dropped with 4101 when it has not caught up in time', async () => {
    const { viewer, client, events } = await pair(300);
    const closed = new Promise<number>((r) => client.once('close', (code) => r(code)));
    (client as unknown as Paused)._socket.pause();
    flood(viewer, 4 * VIEWER_WINDOW_BYTES);
    expect(events).toEqual(['behind']);
    // The close frame waits behind the unread output: reading again lets it through.
    await new Promise((r) => setTimeout(r, 500));
    (client as unknown as Paused)._socket.resume();
    expect(await closed).toBe(VIEWER_CLOSE.TOO_SLOW);
    expect(viewer.send('more')).toBe(false);
  });
});
