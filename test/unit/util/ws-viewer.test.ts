import type { AddressInfo } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import WebSocket, { WebSocketServer } from 'ws';
import { VIEWER_CLOSE } from '../../../src/protocol/viewer.js';
import { VIEWER_WINDOW_BYTES, WsViewer } from '../../../src/util/viewer-flow.js';
import { textFrame } from '../../../src/util/ws-frame.js';
import { waitFor } from '../../helpers/env.js';

type Paused = { _socket: { pause(): void; resume(): void } };

const open: { close(): void }[] = [];
afterEach(() => {
  for (const o of open.splice(0)) o.close();
});

/** A WebSocket server listening on a free loopback port, closed after the test. */
async function loopbackServer(): Promise<WebSocketServer> {
  const wss = new WebSocketServer({ host: '127.0.0.1', port: 0 });
  open.push(wss);
  await new Promise((r) => wss.once('listening', r));
  return wss;
}

/** A real viewer socket pair on loopback: the server side wrapped in a WsViewer, the client as a viewer would be. */
async function pair(catchUpMs: number, rawSocket = false) {
  const wss = await loopbackServer();
  const events: string[] = [];
  const server = new Promise<WsViewer>((resolve) =>
    wss.once('connection', (ws, req) => {
      const v: WsViewer = new WsViewer(
        ws,
        catchUpMs,
        { fellBehind: () => events.push('behind'), caughtUp: () => events.push('caught up') },
        rawSocket ? req.socket : undefined,
      );
      resolve(v);
    }),
  );
  const client = new WebSocket(`ws://127.0.0.1:${(wss.address() as AddressInfo).port}`);
  open.push({ close: () => client.terminate() });
  let received = 0;
  const messages: { text: string; binary: boolean }[] = [];
  client.on('message', (d: Buffer, binary: boolean) => {
    received += d.length;
    messages.push({ text: d.toString('utf8'), binary });
  });
  await new Promise((r) => client.once('open', r));
  const viewer = await server;
  viewer.ready = true;
  return { viewer, client, events, received: () => received, messages };
}

/** Send output until the viewer stops taking it (or `max` bytes went), as ws frames or as whole frames of ours. */
function flood(viewer: WsViewer, max: number, frames = false): number {
  const chunk = Buffer.alloc(64 * 1024, 'x');
  const frame = textFrame(chunk.toString('latin1'));
  let sent = 0;
  while (sent < max && viewer.ready && (frames ? viewer.sendFrame(frame) : viewer.send(chunk))) sent += chunk.length;
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

  it('writes whole frames of its own to the socket, read by a ws client as the same text messages, in order with what ws sends', async () => {
    for (const raw of [true, false]) {
      const { viewer, messages } = await pair(60_000, raw);
      // Every header form (7-bit, 16-bit and 64-bit lengths, at their edges), multi-byte text, the empty message.
      const texts = ['', 'a', 'x'.repeat(125), 'x'.repeat(126), 'é'.repeat(40_000), 'y'.repeat(0xffff), 'z'.repeat(0x10000), '→'.repeat(100_000)];
      const sent: string[] = [];
      for (const [i, t] of texts.entries()) {
        expect(viewer.sendFrame(textFrame(t))).toBe(true);
        sent.push(t);
        // ws's own sends between them keep their place.
        viewer.send(`ws ${i}`);
        sent.push(`ws ${i}`);
      }
      await waitFor('every message', () => messages.length === sent.length);
      expect(messages.map((m) => m.text)).toEqual(sent);
      expect(messages.every((m) => !m.binary)).toBe(true);
    }
  });

  it('writes each frame of its own with one socket write (header and payload in one buffer)', async () => {
    const wss = await loopbackServer();
    const writes: Buffer[] = [];
    const server = new Promise<WsViewer>((resolve) =>
      wss.once('connection', (ws, req) => {
        const socket = req.socket;
        const write = socket.write.bind(socket) as (chunk: Buffer) => boolean;
        socket.write = ((chunk: Buffer) => {
          writes.push(Buffer.from(chunk));
          return write(chunk);
        }) as typeof socket.write;
        resolve(new WsViewer(ws, 60_000, { fellBehind: () => undefined, caughtUp: () => undefined }, socket));
      }),
    );
    const client = new WebSocket(`ws://127.0.0.1:${(wss.address() as AddressInfo).port}`);
    open.push({ close: () => client.terminate() });
    const got = new Promise<string>((r) => client.once('message', (d: Buffer) => r(d.toString())));
    await new Promise((r) => client.once('open', r));
    const viewer = await server;
    const frame = textFrame('{"type":"output","data":"a"}');
    expect(viewer.sendFrame(frame)).toBe(true);
    expect(writes).toEqual([frame]);
    expect(await got).toBe('{"type":"output","data":"a"}');
  });

  it('counts whole frames of its own against the window: paused, then caught up', async () => {
    const { viewer, client, events, received } = await pair(60_000, true);
    (client as unknown as Paused)._socket.pause();
    const sent = flood(viewer, 8 * VIEWER_WINDOW_BYTES, true);
    expect(sent).toBeGreaterThan(VIEWER_WINDOW_BYTES);
    expect(sent).toBeLessThan(2 * VIEWER_WINDOW_BYTES);
    expect(events).toEqual(['behind']);
    (client as unknown as Paused)._socket.resume();
    await waitFor('the caught-up event', () => events.includes('caught up'));
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
