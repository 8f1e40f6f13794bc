import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { BusBridge } from '../../src/fleet/bus-bridge.js';
import type { BusEvent } from '../../src/protocol/bus.js';
import { busSubject } from '../../src/protocol/fleet.js';
import { waitFor } from '../helpers/env.js';
import { natsServerPath, startHub, type TestHub } from '../helpers/nats.js';
import { RecordingLogger } from '../helpers/recorders.js';

function event(id: string, kind: string, extra: Record<string, unknown> = {}): BusEvent {
  return { version: 1, message_id: id, kind, type: kind, source: 'dev-001', source_host: 'desk', target: null, ts: new Date().toISOString(), seq: 1, ...extra };
}

describe.skipIf(natsServerPath() === null)('the bus across machines on a real hub', () => {
  let hub: TestHub;
  const got: Record<string, BusEvent[]> = { desk: [], laptop: [], cloud1: [] };
  const bridges: Record<string, BusBridge> = {};
  const log = new RecordingLogger();

  beforeAll(async () => {
    hub = await startHub(['desk', 'laptop', 'cloud1']);
    for (const m of Object.keys(got)) {
      bridges[m] = new BusBridge({ nc: hub.conns[m]!, self: m, log, deliver: (ev) => got[m]!.push(ev) });
      bridges[m]!.start();
      await hub.conns[m]!.flush();
    }
  }, 30_000);

  afterAll(async () => {
    for (const b of Object.values(bridges)) b.stop();
    await hub?.stop();
  });

  it('delivers an event once on every other machine, never back to its origin', async () => {
    const ev = event('m-1', 'turn_request', { target: 'dev-9@laptop' });
    bridges.desk!.publish(ev);
    bridges.desk!.publish(ev); // a retry of the same message
    await waitFor('both machines got it', () => got.laptop!.length >= 1 && got.cloud1!.length >= 1);
    await hub.conns.desk!.flush();
    await hub.conns.laptop!.flush();
    expect(got.laptop!.map((e) => e.message_id)).toEqual(['m-1']);
    expect(got.cloud1!.map((e) => e.message_id)).toEqual(['m-1']);
    expect(got.desk).toEqual([]);
  });

  it('sets source_host from the subject the hub proved, not from the payload', async () => {
    bridges.laptop!.publish(event('m-2', 'note', { source_host: 'desk' })); // a payload lying about its origin
    const seen = await waitFor('desk got it', () => got.desk!.find((e) => e.message_id === 'm-2'));
    expect(seen.source_host).toBe('laptop');
  });

  it('drops what is not a bus event, with a warning, and keeps going', async () => {
    hub.conns.cloud1!.publish(busSubject('cloud1', 'junk'), new TextEncoder().encode('{not json'));
    hub.conns.cloud1!.publish(busSubject('cloud1', 'junk'), new TextEncoder().encode('{"kind":"x"}'));
    bridges.cloud1!.publish(event('m-3', 'after-junk'));
    await waitFor('desk got m-3', () => got.desk!.some((e) => e.message_id === 'm-3'));
    expect(log.lines.filter((l) => l.level === 'warn' && /from cloud1/.test(l.message)).length).toBeGreaterThanOrEqual(2);
  });
});
