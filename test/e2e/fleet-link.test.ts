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

  function link(machine: string): FleetLink {
    const l = new FleetLink({
      config: { servers: hub.credentials[machine]!.servers, credentials: hub.credentials[machine]! },
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
    hub = await startHub(['desk', 'laptop']);
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
