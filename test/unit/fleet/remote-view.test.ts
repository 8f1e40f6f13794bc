import type { AddressInfo } from 'node:net';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import WebSocket, { WebSocketServer } from 'ws';
import { RemoteViews, type ViewLink } from '../../../src/daemon/fleet/remote-view.js';
import { SessionRegistry } from '../../../src/daemon/sessions/registry.js';
import { ViewerHub } from '../../../src/daemon/sessions/viewer-hub.js';
import type { SessionEntry } from '../../../src/daemon/target.js';
import { TeleptyError } from '../../../src/protocol/errors.js';
import type { FleetOp } from '../../../src/protocol/fleet.js';
import { waitFor } from '../../helpers/env.js';
import { ReplayingHost, hostHello, newHostInstance } from '../../helpers/host-link.js';
import { RecordingLogger, RecordingSink } from '../../helpers/recorders.js';

/**
 * The hub between desk (the viewer's machine) and laptop (the session's), carried in memory as NATS carries it:
 * each frame JSON, in order, at most once. Frames to desk can be held (a slow link) or lost.
 */
class MemoryHub {
  desk!: RemoteViews;
  laptop!: RemoteViews;
  holdToDesk = false;
  dropToDesk = false;
  readonly held: { viewer: string; text: string }[] = [];

  link(self: 'desk' | 'laptop'): ViewLink {
    return {
      connected: true,
      call: async (target: string, op: FleetOp, body: unknown) => {
        if (self !== 'desk' || target !== 'laptop' || op !== 'attach') throw new TeleptyError('BAD_REQUEST', `not carried here: ${op} to ${target}`);
        return this.laptop.open('desk', body);
      },
      sendView: (to: string, viewer: string, message: unknown) => {
        const text = typeof message === 'string' ? message : JSON.stringify(message);
        if (to === 'laptop') setImmediate(() => this.laptop.receive('desk', viewer, JSON.parse(text)));
        else if (this.dropToDesk) return true;
        else if (this.holdToDesk) this.held.push({ viewer, text });
        else setImmediate(() => this.desk.receive('laptop', viewer, JSON.parse(text)));
        return true;
      },
    };
  }

  /** The held frames reach desk one at a time, each once the one before has been taken and relayed. */
  async release(taken: () => number): Promise<void> {
    for (const f of this.held.splice(0)) {
      const before = taken();
      this.desk.receive('laptop', f.viewer, JSON.parse(f.text));
      // A frame of output reaches the viewer socket: wait for it there, and a turn for its pong to come back.
      if (JSON.parse(f.text).m !== undefined) await waitFor('the viewer took the frame', () => taken() > before);
      await new Promise((r) => setTimeout(r, 5));
    }
    this.holdToDesk = false;
  }
}

/**
 * Remote attach's flow control between two daemons: a viewer on laptop paused because its acknowledgements lag (a
 * loaded link) or because frames were lost is repainted once everything has arrived, never left paused for good.
 */
describe('a remote viewer paused on its session\'s machine', () => {
  let entry: SessionEntry;
  let viewers: ViewerHub;
  let hub: MemoryHub;
  let server: WebSocketServer;
  let client: WebSocket;
  const frames: { type: string; data?: string }[] = [];

  beforeEach(async () => {
    const registry = new SessionRegistry({ machineId: 'laptop', events: new RecordingSink(), now: Date.now, changed: () => undefined, isAlive: async () => false });
    entry = (await registry.attachHost(hostHello(newHostInstance(), 'flood', Date.now()), new ReplayingHost())).entry;
    viewers = new ViewerHub({ replayTimeoutMs: 5_000, viewerCatchUpMs: 60_000 });
    hub = new MemoryHub();
    const log = new RecordingLogger();
    hub.laptop = new RemoteViews({ machineId: 'laptop', link: () => hub.link('laptop'), log, registry, viewers, catchUpMs: 60_000 });
    hub.desk = new RemoteViews({ machineId: 'desk', link: () => hub.link('desk'), log, registry, viewers, catchUpMs: 60_000 });
    const route = hub.desk.wrapViewerRoute({ method: 'GET', path: '/api/sessions/:id', accept: () => expect.unreachable('the local viewer route') });
    server = new WebSocketServer({ port: 0, host: '127.0.0.1' });
    server.on('connection', (ws, req) => route.accept(ws, req, { id: 'flood@laptop' }, new URL(req.url ?? '/', 'http://127.0.0.1')));
    await new Promise((r) => server.once('listening', r));
    frames.length = 0;
    client = new WebSocket(`ws://127.0.0.1:${(server.address() as AddressInfo).port}/`, { perMessageDeflate: false });
    client.on('message', (d: Buffer) => frames.push(JSON.parse(d.toString('utf8')) as { type: string }));
    await waitFor('the first screen', () => frames.some((f) => f.type === 'replay'));
  });

  afterEach(async () => {
    client.close();
    hub.desk.stop();
    hub.laptop.stop();
    await new Promise((r) => server.close(r));
  });

  const replays = (): number => frames.filter((f) => f.type === 'replay').length;
  /** More than a window (1 MiB) of output, in the frames a host sends. */
  const flood = (): void => {
    for (let i = 0; i < 80; i++) viewers.forward(entry, Buffer.alloc(16_000, 'x'));
  };

  it('is acknowledged and repainted when its acks lagged a window behind, though everything arrived', async () => {
    hub.holdToDesk = true;
    flood();
    // Nothing acknowledged: laptop paused the viewer (off the session's viewers, the host stops sending).
    expect(entry.viewers.size).toBe(0);
    const sent = hub.held.filter((f) => JSON.parse(f.text).m?.type === 'output').length;
    expect(sent).toBeGreaterThan(64);
    // Everything arrives, to a viewer that reads it all: it never fell behind on desk, so only the acks were late.
    await hub.release(() => frames.length);
    expect(frames.filter((f) => f.type === 'output')).toHaveLength(sent);
    await waitFor('a fresh screen', () => replays() === 2, 6_000);
    expect(entry.viewers.size).toBe(1);
    viewers.forward(entry, Buffer.from('live again'));
    await waitFor('live output after it', () => frames.at(-1)?.data === 'live again');
  });

  it('is repainted when the frames on the way were lost', async () => {
    hub.dropToDesk = true;
    flood();
    expect(entry.viewers.size).toBe(0);
    hub.dropToDesk = false;
    await waitFor('a fresh screen', () => replays() === 2, 6_000);
    expect(entry.viewers.size).toBe(1);
    expect(frames.filter((f) => f.type === 'output')).toHaveLength(0);
  });
});
