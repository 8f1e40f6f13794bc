import { Kvm } from '@nats-io/kv';
import type { NatsConnection } from '@nats-io/transport-node';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { jetstreamManager } from '@nats-io/jetstream';
import { FLEET_DIRECTORY_BUCKET, FLEET_EVENTS_STREAM, busSubject, parseRpcSubject, presenceKey, rpcInbox, rpcSubject, sessionKey } from '../../src/protocol/fleet.js';
import { natsServerPath, startHub, type TestHub } from '../helpers/nats.js';

const enc = new TextEncoder();
const dec = new TextDecoder();

/** A permissions violation reaches the client asynchronously, as a connection status or a rejected request. */
async function refused(nc: NatsConnection, act: () => Promise<unknown> | unknown): Promise<string> {
  const seen: string[] = [];
  const watching = (async () => {
    for await (const s of nc.status()) if (s.type === 'error' || s.type === 'update') seen.push(JSON.stringify(s));
  })();
  let rejected = '';
  try {
    await act();
    await nc.flush();
  } catch (err) {
    rejected = err instanceof Error ? err.message : String(err);
  }
  const deadline = Date.now() + 2_000;
  while (!rejected && !seen.some((s) => /permission/i.test(s)) && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20));
  void watching;
  return rejected || seen.join('\n');
}

describe.skipIf(natsServerPath() === null)('a fleet hub from telepty fleet init, on a real nats-server', () => {
  let hub: TestHub;
  let desk: NatsConnection;
  let laptop: NatsConnection;

  beforeAll(async () => {
    hub = await startHub(['desk', 'laptop']);
    desk = hub.conns.desk!;
    laptop = hub.conns.laptop!;
  }, 30_000);

  afterAll(async () => {
    await hub?.stop();
  });

  it('carries a request from one machine to another, the caller proven by the subject', async () => {
    const sub = laptop.subscribe(rpcInbox('laptop'));
    (async () => {
      for await (const m of sub) m.respond(enc.encode(JSON.stringify({ route: parseRpcSubject(m.subject), body: dec.decode(m.data) })));
    })().catch(() => undefined);
    await laptop.flush();
    const answer = await desk.request(rpcSubject('laptop', 'list', 'desk'), enc.encode('hi'), { timeout: 2_000 });
    expect(JSON.parse(dec.decode(answer.data))).toEqual({ route: { target: 'laptop', op: 'list', caller: 'desk' }, body: 'hi' });
    sub.unsubscribe();
  });

  it('answers at once when nobody serves the target (no responders)', async () => {
    const t0 = Date.now();
    await expect(desk.request(rpcSubject('cloud1', 'list', 'desk'), enc.encode('{}'), { timeout: 5_000 })).rejects.toThrow(/no responders|503/i);
    expect(Date.now() - t0).toBeLessThan(1_000);
  });

  it('refuses a machine that calls as another one, or listens to requests for another', async () => {
    expect(await refused(desk, () => desk.publish(rpcSubject('laptop', 'inject', 'laptop'), enc.encode('{}')))).toMatch(/permission/i);
    expect(await refused(desk, () => desk.subscribe(rpcInbox('laptop')))).toMatch(/permission/i);
    expect(await refused(desk, () => desk.publish(busSubject('laptop', 'turn_request'), enc.encode('{}')))).toMatch(/permission/i);
  });

  it('lets no machine delete or purge the fleet\'s event stream', async () => {
    const jsm = await jetstreamManager(desk, { timeout: 1_000 });
    await expect(jsm.streams.delete(FLEET_EVENTS_STREAM)).rejects.toThrow(/permission|timeout/i);
    await expect(jsm.streams.purge(FLEET_EVENTS_STREAM)).rejects.toThrow(/permission|timeout/i);
    expect((await jsm.streams.info(FLEET_EVENTS_STREAM)).config.name).toBe(FLEET_EVENTS_STREAM);
  });

  it('lets each machine write only its own directory keys, and read everyone\'s', async () => {
    const kvDesk = await new Kvm(desk).open(FLEET_DIRECTORY_BUCKET);
    const kvLaptop = await new Kvm(laptop).open(FLEET_DIRECTORY_BUCKET);
    await kvDesk.put(sessionKey('desk', 'dev-001'), enc.encode('{"id":"dev-001"}'));
    await kvDesk.put(presenceKey('desk'), enc.encode(String(Date.now())));
    const e = await kvLaptop.get(sessionKey('desk', 'dev-001'));
    expect(e && dec.decode(e.value)).toBe('{"id":"dev-001"}');
    const forged = await kvLaptop.put(sessionKey('desk', 'dev-002'), enc.encode('forged')).then(() => 'written', (err: unknown) => String(err));
    expect(forged).toMatch(/permission/i);
    expect(await kvDesk.get(sessionKey('desk', 'dev-002'))).toBeNull();
  });
});
