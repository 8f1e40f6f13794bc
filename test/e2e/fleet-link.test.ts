import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { FleetLink } from '../../src/fleet/link.js';
import { TeleptyError } from '../../src/protocol/errors.js';
import { waitFor } from '../helpers/env.js';
import { natsServerPath, startHub, type TestHub } from '../helpers/nats.js';
import { RecordingLogger } from '../helpers/recorders.js';

const FAST = { presenceEveryMs: 100, presenceLapseMs: 400, sessionRefreshMs: 60_000 };

describe.skipIf(natsServerPath() === null)('a daemon\'s fleet link: joins, answers, survives the hub going away', () => {
  let hub: TestHub;
  const links: FleetLink[] = [];
  const log = new RecordingLogger();

  function link(machine: string, opts: { servers?: string[]; firstJoinWaitMs?: number } = {}): FleetLink {
    const l = new FleetLink({
      config: { servers: opts.servers ?? hub.credentials[machine]!.servers, credentials: hub.credentials[machine]! },
      ...(opts.firstJoinWaitMs !== undefined ? { firstJoinWaitMs: opts.firstJoinWaitMs } : {}),
      machineId: machine,
      log,
      now: Date.now,
      serve: async (route) => {
        if (route.op === 'list') return { machine, sessions: [`${machine}-1`] };
        throw new TeleptyError('FORBIDDEN', `${route.op} from other machines is off on ${machine}`);
      },
      deliverEvent: () => undefined,
      directoryTimings: FAST,
    });
    links.push(l);
    return l;
  }

  beforeAll(async () => {
    hub = await startHub(['desk', 'laptop', 'cloud', 'nohub']);
  }, 30_000);

  afterAll(async () => {
    for (const l of links) await l.stop();
    await hub?.stop();
  });

  it('joins, serves its own requests and reports the fleet with round trips', async () => {
    const desk = link('desk');
    const laptop = link('laptop');
    await Promise.all([desk.start(), laptop.start()]);
    expect(await desk.call('laptop', 'list', {})).toEqual({ machine: 'laptop', sessions: ['laptop-1'] });
    await expect(desk.call('laptop', 'kill', {})).rejects.toMatchObject({ code: 'FORBIDDEN' });
    const st = await desk.status();
    expect(st).toMatchObject({ machine: 'desk', state: 'connected' });
    expect(st.hub_rtt_ms).toBeGreaterThanOrEqual(0);
    expect(st.machines.map((m) => [m.machine, m.reachable])).toEqual([
      ['desk', true],
      ['laptop', true],
    ]);
    expect(st.machines[1]!.rtt_ms).toBeGreaterThan(0);
  });

  it('holds a request made before its first join until it joined (the first command after a daemon starts)', async () => {
    const cloud = link('cloud');
    const joining = cloud.start();
    // Asked at once, as the first command after a start (or a crash) asks: answered as by a joined daemon.
    const [st, answer] = await Promise.all([cloud.status({ rtt: false }), cloud.call('laptop', 'list', {})]);
    expect(st.state).toBe('connected');
    expect(st.machines.map((m) => m.machine)).toEqual(expect.arrayContaining(['desk', 'laptop', 'cloud']));
    expect(answer).toEqual({ machine: 'laptop', sessions: ['laptop-1'] });
    await joining;
  });

  it('waits for a first join only so long after its start: with its hub down a request is HOST_OFFLINE (connecting) after the bound, and at once later', async () => {
    const lone = link('nohub', { servers: ['nats://127.0.0.1:1'], firstJoinWaitMs: 300 });
    void lone.start();
    const t0 = Date.now();
    await expect(lone.call('desk', 'list', {})).rejects.toMatchObject({ code: 'HOST_OFFLINE', message: expect.stringMatching(/connecting/) });
    expect(Date.now() - t0).toBeGreaterThanOrEqual(290);
    expect(Date.now() - t0).toBeLessThan(2_000);
    // Past the bound (counted from the start), a request to a hub that has been down since fails at once.
    const t1 = Date.now();
    await expect(lone.call('desk', 'list', {})).rejects.toMatchObject({ code: 'HOST_OFFLINE' });
    expect(Date.now() - t1).toBeLessThan(100);
  });

  it('answers HOST_OFFLINE at once while the hub is down, and comes back by itself when it returns', async () => {
    const [desk] = links;
    await hub.server.stop();
    await waitFor('desk notices', () => !desk!.connected, 5_000);
    const t0 = Date.now();
    await expect(desk!.call('laptop', 'list', {})).rejects.toMatchObject({ code: 'HOST_OFFLINE' });
    expect(Date.now() - t0).toBeLessThan(100);
    await hub.server.restart();
    await waitFor('desk reconnects', () => desk!.connected, 15_000);
    await waitFor('laptop answers again', () => desk!.call('laptop', 'list', {}).then(() => true, () => false), 15_000);
    expect(log.lines.some((l) => /lost the hub; local sessions go on/.test(l.message))).toBe(true);
  }, 40_000);
});
