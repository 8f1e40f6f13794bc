import { beforeEach, describe, expect, it } from 'vitest';
import { SessionRegistry } from '../../../../src/daemon/sessions/registry.js';
import { ViewerHub } from '../../../../src/daemon/sessions/viewer-hub.js';
import type { SessionEntry, ViewerHandle } from '../../../../src/daemon/target.js';
import { TeleptyError } from '../../../../src/protocol/errors.js';
import { VIEWER_CLOSE } from '../../../../src/protocol/viewer.js';
import { ReplayingHost, hostHello, newHostInstance } from '../../../helpers/host-link.js';
import { RecordingSink } from '../../../helpers/recorders.js';
import { turns } from '../fake-link.js';

class Viewer implements ViewerHandle {
  ready = false;
  behind = false;
  accept = true;
  readonly sent: Record<string, unknown>[] = [];
  closed: number | null = null;
  send(text: string | Buffer): boolean {
    if (!this.accept) return false;
    this.sent.push(JSON.parse(text.toString()) as Record<string, unknown>);
    return true;
  }
  close(code: number): void {
    this.closed = code;
  }
}

describe('viewer hub (viewers of a session, without their transport)', () => {
  let hub: ViewerHub;
  let entry: SessionEntry;
  let host: ReplayingHost;

  beforeEach(async () => {
    const registry = new SessionRegistry({ machineId: 'box-1', events: new RecordingSink(), now: Date.now, changed: () => undefined, isAlive: async () => false });
    host = new ReplayingHost();
    entry = (await registry.attachHost(hostHello(newHostInstance(), 'alpha', Date.now()), host)).entry;
    hub = new ViewerHub({ replayTimeoutMs: 1_000, viewerCatchUpMs: 1_000 });
  });

  it('asks the host for output when the first viewer attaches, replays the screen to it, and stops when it leaves', async () => {
    const v = new Viewer();
    const detach = hub.attach(entry, v);
    expect(host.sent).toEqual([{ type: 'subscribe', on: true }]);
    await turns();
    expect(v.sent).toEqual([{ type: 'replay', data: 'SCREEN' }]);
    expect(v.ready).toBe(true);
    detach();
    expect(host.sent.at(-1)).toEqual({ type: 'subscribe', on: false });
    expect(entry.viewers.size).toBe(0);
  });

  it('forwards output to viewers that have their replay, decoding UTF-8 split across frames', async () => {
    const ready = new Viewer();
    hub.attach(entry, ready);
    await turns();
    const waiting = new Viewer();
    entry.viewers.add(waiting); // attached, replay not yet sent
    const bytes = Buffer.from('é!', 'utf8');
    hub.forward(entry, bytes.subarray(0, 1));
    hub.forward(entry, bytes.subarray(1));
    expect(ready.sent.slice(1)).toEqual([{ type: 'output', data: 'é!' }]);
    expect(waiting.sent).toEqual([]);
  });

  it('drops a viewer that cannot take more, and unsubscribes when none keeps up', async () => {
    const v = new Viewer();
    hub.attach(entry, v);
    await turns();
    v.accept = false;
    hub.forward(entry, Buffer.from('x'));
    expect(entry.viewers.size).toBe(0);
    expect(host.sent.at(-1)).toEqual({ type: 'subscribe', on: false });
  });

  it('closes a viewer whose replay failed, saying why', async () => {
    host.replayWith = new TeleptyError('TIMEOUT', 'slow');
    const v = new Viewer();
    hub.attach(entry, v);
    await turns();
    expect(v.sent).toEqual([{ type: 'error', code: 'TIMEOUT', error: 'could not get the screen to replay' }]);
    expect(v.closed).toBe(VIEWER_CLOSE.HOST_GONE);
  });

  it('replays again to every viewer that keeps up after a gap, and ends them all with the last message', async () => {
    const a = new Viewer();
    const b = new Viewer();
    hub.attach(entry, a);
    hub.attach(entry, b);
    await turns();
    host.replayWith = 'AFTER GAP';
    hub.resync(entry);
    await turns();
    expect(a.sent.at(-1)).toEqual({ type: 'replay', data: 'AFTER GAP' });
    hub.endAll(entry, { type: 'exit', code: 0 });
    expect([a.closed, b.closed]).toEqual([VIEWER_CLOSE.SESSION_ENDED, VIEWER_CLOSE.SESSION_ENDED]);
    expect(b.sent.at(-1)).toEqual({ type: 'exit', code: 0 });
    expect(entry.viewers.size).toBe(0);
  });
});
