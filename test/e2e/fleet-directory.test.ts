import { Kvm } from '@nats-io/kv';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { FleetDirectory, type DirectoryTimings } from '../../src/fleet/directory.js';
import { FLEET_DIRECTORY_BUCKET } from '../../src/protocol/fleet.js';
import { waitFor } from '../helpers/env.js';
import { natsServerPath, startHub, type TestHub } from '../helpers/nats.js';
import { RecordingLogger } from '../helpers/recorders.js';

/** Beats short enough for a test to see a machine lapse in under a second. */
const FAST: DirectoryTimings = { presenceEveryMs: 100, presenceLapseMs: 400, sessionRefreshMs: 60_000 };

describe.skipIf(natsServerPath() === null)('the fleet directory on a real hub', () => {
  let hub: TestHub;
  const dirs: FleetDirectory[] = [];

  async function directory(machine: string): Promise<FleetDirectory> {
    const kv = await new Kvm(hub.conns[machine]!).open(FLEET_DIRECTORY_BUCKET);
    const d = new FleetDirectory(kv, machine, { now: Date.now, log: new RecordingLogger(), timings: FAST });
    dirs.push(d);
    return d;
  }

  beforeAll(async () => {
    hub = await startHub(['desk', 'laptop', 'cloud.1']);
  }, 30_000);

  afterAll(async () => {
    for (const d of dirs) await d.stop(false);
    await hub?.stop();
  });

  it('lists every machine and its sessions from one read, this machine first', async () => {
    const desk = await directory('desk');
    const laptop = await directory('laptop');
    const cloud = await directory('cloud.1');
    await Promise.all([desk.start(), laptop.start(), cloud.start()]);
    await desk.putSession('dev-001', { id: 'dev-001', command: 'claude' });
    await desk.putSession('dev-002', { id: 'dev-002', command: 'codex' });
    await cloud.putSession('gpu.run', { id: 'gpu.run', command: 'gemini' });
    await desk.removeSession('dev-002');
    const all = await laptop.listAll();
    expect(all.map((m) => [m.machine, m.reachable, m.sessions.map((s) => s.id)])).toEqual([
      ['laptop', true, []],
      ['cloud.1', true, ['gpu.run']],
      ['desk', true, ['dev-001']],
    ]);
  });

  it('shows a machine that stopped beating as unreachable with its last-seen time, its rows kept', async () => {
    const [desk] = dirs;
    await desk!.stop(false); // as if killed: no goodbye
    const laptop = dirs[1]!;
    const seen = await waitFor('desk lapses', async () => (await laptop.listAll()).find((m) => m.machine === 'desk' && !m.reachable), 5_000);
    expect(seen.sessions.map((s) => s.id)).toEqual(['dev-001']);
    expect(Date.now() - (seen.last_seen ?? 0)).toBeGreaterThanOrEqual(FAST.presenceLapseMs);
  });

  it('shows a machine that left gracefully as unreachable at once', async () => {
    const cloud = dirs[2]!;
    await cloud.stop(true);
    const m = (await dirs[1]!.listAll()).find((x) => x.machine === 'cloud.1');
    expect(m).toMatchObject({ reachable: false, sessions: [{ id: 'gpu.run' }] });
  });
});
