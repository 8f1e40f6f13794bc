import { jetstreamManager } from '@nats-io/jetstream';
import { describe, expect, it } from 'vitest';
import { connectFleet } from '../../src/fleet/connect.js';
import { FLEET_EVENTS_STREAM } from '../../src/protocol/fleet.js';
import { parseJson, runCli } from '../helpers/cli.js';
import { useHomes } from '../helpers/daemon.js';
import { waitFor } from '../helpers/env.js';
import { joinDaemon, natsServerPath, startHub, useTwoMachines } from '../helpers/nats.js';

interface Ev {
  kind: string;
  seq: number;
  source_host: string;
  origin_seq?: number;
  payload?: { n?: number };
  from_seq?: number;
  to_seq?: number;
}

function events(stdout: string): Ev[] {
  return stdout
    .split('\n')
    .filter((l) => l.trim().length > 0)
    .map((l) => JSON.parse(l) as Ev);
}

/** `tail --all-machines`: the fleet's events from the hub's stream, resumable with `since`, gaps announced (issue 18). */
describe.skipIf(natsServerPath() === null)('tail --all-machines', () => {
  const homes = useHomes();
  const fleet = useTwoMachines(() => homes.newHome());

  it('replays every machine\'s events from the stream with stream seqs, and resumes after one of them', async () => {
    expect((await runCli(fleet.laptop, ['publish', '--kind', 'fleet.t1', '--payload', '{"n":1}'], { env: fleet.env.laptop })).exitCode).toBe(0);
    expect((await runCli(fleet.desk, ['publish', '--kind', 'fleet.t1', '--payload', '{"n":2}'], { env: fleet.env.desk })).exitCode).toBe(0);
    const got = await waitFor('both in the stream', async () => {
      const r = await runCli(fleet.desk, ['tail', '--all-machines', '--since', '0', '--kind', 'fleet.t1', '--count', '2', '--timeout', '3', '--json'], { env: fleet.env.desk });
      return r.exitCode === 0 ? events(r.stdout) : null;
    }, 15_000);
    expect(got.map((e) => [e.source_host, e.payload?.n])).toEqual([['laptop', 1], ['desk', 2]]);
    expect(got[1]!.seq).toBeGreaterThan(got[0]!.seq);
    expect(typeof got[0]!.origin_seq).toBe('number');
    // The same seqs on another machine: resume after the first, from laptop, gets the second.
    const resumed = await runCli(fleet.laptop, ['tail', '--all-machines', '--since', String(got[0]!.seq), '--kind', 'fleet.t1', '--count', '1', '--timeout', '10', '--json'], { env: fleet.env.laptop });
    expect(resumed.exitCode, resumed.stderr).toBe(0);
    expect(events(resumed.stdout)).toEqual([expect.objectContaining({ seq: got[1]!.seq, payload: { n: 2 }, source_host: 'desk' })]);
  });

  it('follows live events of other machines', async () => {
    const tail = runCli(fleet.desk, ['tail', '--all-machines', '--kind', 'fleet.live', '--count', '1', '--timeout', '15', '--json'], { env: fleet.env.desk });
    let out = '';
    const t = tail.then((r) => (out = r.stdout));
    await waitFor('desk saw laptop\'s live event', async () => {
      await runCli(fleet.laptop, ['publish', '--kind', 'fleet.live', '--payload', '{"n":3}'], { env: fleet.env.laptop });
      return out !== '';
    }, 15_000);
    await t;
    expect(events(out)[0]).toMatchObject({ kind: 'fleet.live', source_host: 'laptop' });
  });

  it('announces the part the stream no longer keeps as a gap with from/to, then goes on after it', async () => {
    const admin = await connectFleet({ credentials: fleet.hub.admin });
    try {
      const jsm = await jetstreamManager(admin);
      const info = await jsm.streams.info(FLEET_EVENTS_STREAM);
      // The hub bounds the stream by age and by size.
      expect(info.config.max_age).toBeGreaterThan(0);
      expect(info.config.max_bytes).toBeGreaterThan(0);
      // What the age limit does to old events: gone from the stream.
      await jsm.streams.purge(FLEET_EVENTS_STREAM, { seq: info.state.last_seq });
    } finally {
      await admin.close();
    }
    expect((await runCli(fleet.laptop, ['publish', '--kind', 'fleet.after', '--payload', '{"n":4}'], { env: fleet.env.laptop })).exitCode).toBe(0);
    const r = await waitFor('the event after the gap', async () => {
      const x = await runCli(fleet.desk, ['tail', '--all-machines', '--since', '1', '--kind', 'fleet.after', '--count', '1', '--timeout', '3', '--json'], { env: fleet.env.desk });
      return x.exitCode === 0 ? x : null;
    }, 15_000);
    const [gap, after] = events(r.stdout);
    expect(gap).toMatchObject({ kind: 'bus.gap', reason: 'stream_limit', from_seq: 2 });
    expect(after).toMatchObject({ kind: 'fleet.after', payload: { n: 4 } });
    expect(after!.seq).toBeGreaterThan(gap!.to_seq!);
    expect(r.stderr).toMatch(/gap in the bus/);
  });

  it('without --all-machines, follows this daemon\'s bus as before (its own seqs)', async () => {
    const tail = runCli(fleet.laptop, ['tail', '--kind', 'fleet.local', '--count', '1', '--timeout', '15', '--json'], { env: fleet.env.laptop });
    let out = '';
    const t = tail.then((r) => (out = r.stdout));
    await waitFor('laptop saw its own event', async () => {
      await runCli(fleet.laptop, ['publish', '--kind', 'fleet.local'], { env: fleet.env.laptop });
      return out !== '';
    }, 15_000);
    await t;
    expect(events(out)[0]).not.toHaveProperty('origin_seq');
  });
});

describe.skipIf(natsServerPath() === null)('tail --all-machines when the hub has no event stream', () => {
  const homes = useHomes();
  it('says why and exits 4 instead of waiting for events that cannot come', async () => {
    const hub = await startHub(['desk']);
    try {
      const admin = await connectFleet({ credentials: hub.admin });
      await (await jetstreamManager(admin)).streams.delete(FLEET_EVENTS_STREAM);
      await admin.close();
      const home = homes.newHome();
      const env = await joinDaemon(hub, home, 'desk');
      await waitFor('desk joined', async () => parseJson<{ state: string }>(await runCli(home, ['fleet', 'status', '--json'], { env })).state === 'connected', 20_000);
      const r = await runCli(home, ['tail', '--all-machines', '--since', '0', '--count', '1', '--timeout', '20', '--json'], { env });
      expect(r.exitCode).toBe(4);
      expect(r.stderr).toMatch(/event stream.*\[HOST_OFFLINE\]/);
    } finally {
      await hub.stop();
    }
  });
});

describe('tail --all-machines without a fleet', () => {
  const homes = useHomes();
  it('says the daemon is in no fleet (exit 2), nothing followed', async () => {
    const home = homes.newHome();
    const r = await runCli(home, ['tail', '--all-machines', '--count', '1', '--timeout', '3', '--json']);
    expect(r.exitCode).toBe(2);
    expect(r.stdout + r.stderr).toMatch(/no fleet/);
  });
});
