import { promises as fs } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { Kvm } from '@nats-io/kv';
import type { NatsConnection } from '@nats-io/transport-node';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { connectFleet, ensureFleetStorage } from '../../src/fleet/connect.js';
import { planHub } from '../../src/fleet/hub-config.js';
import { FLEET_DIRECTORY_BUCKET, busSubject, parseRpcSubject, presenceKey, rpcInbox, rpcSubject, sessionKey } from '../../src/protocol/fleet.js';
import { natsServerPath, startNats, type NatsServer } from '../helpers/nats.js';

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
  let dir: string;
  let server: NatsServer;
  const conns: NatsConnection[] = [];
  let desk: NatsConnection;
  let laptop: NatsConnection;

  beforeAll(async () => {
    dir = await fs.mkdtemp(path.join(os.tmpdir(), 'telepty-hub-'));
    const files = planHub({ machines: ['desk', 'laptop'], servers: ['nats://127.0.0.1:4222'], listen: '127.0.0.1:4222', storeDir: path.join(dir, 'js') });
    server = await startNats(dir, files.config);
    const open = async (c: (typeof files.credentials)[number]) => {
      const nc = await connectFleet({ credentials: c, servers: [server.url] });
      conns.push(nc);
      return nc;
    };
    const admin = await open(files.admin);
    await ensureFleetStorage(admin);
    await ensureFleetStorage(admin); // idempotent: a hub restart keeps what it has
    desk = await open(files.credentials[0]!);
    laptop = await open(files.credentials[1]!);
  }, 30_000);

  afterAll(async () => {
    await Promise.all(conns.map((c) => c.close().catch(() => undefined)));
    await server?.stop();
    await fs.rm(dir, { recursive: true, force: true });
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
