import { promises as fs } from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseJson, runCli } from '../helpers/cli.js';
import { useHomes } from '../helpers/daemon.js';
import { BIN, testEnv, waitFor } from '../helpers/env.js';
import { FIXTURES, readSubmissions } from '../helpers/fixtures.js';
import { joinDaemon, natsServerPath, startHub, type TestHub } from '../helpers/nats.js';
import { createNetns, type Netns } from '../helpers/netns.js';

/**
 * A machine that is really elsewhere on the network: its daemon runs in a network namespace (its own loopback, where
 * it listens), joined to the hub through a private veth pair (the hub listens on this machine's end of it, nowhere
 * else). From the host, its session is reachable as id@machine like any other (issue 18).
 */
describe.skipIf(natsServerPath() === null)('a machine in another network namespace', () => {
  const homes = useHomes();
  let ns: Netns | null = null;
  let why = '';
  let hub: TestHub | null = null;
  let desk = '';
  let cloud = '';
  let deskEnv: Record<string, string> = {};
  let cloudEnv: Record<string, string> = {};

  /** The CLI inside the namespace, as machine cloud (never throws on a non-zero exit). */
  function inCloud(args: string[], timeoutMs = 30_000): Promise<{ stdout: string; stderr: string; exitCode: number }> {
    const env = testEnv(cloud, cloudEnv);
    const pairs = Object.entries(env).flatMap(([k, v]) => (v === undefined || k.includes('=') ? [] : [`${k}=${v}`]));
    return (ns as Netns).exec(['env', '-i', ...pairs, process.execPath, BIN, ...args], timeoutMs);
  }

  beforeAll(async () => {
    const made = await createNetns(`10.234.${10 + Math.floor(Math.random() * 240)}`);
    if ('skip' in made) {
      why = made.skip;
      return;
    }
    ns = made;
    hub = await startHub(['desk', 'cloud'], ns.hostIp);
    desk = homes.newHome();
    cloud = homes.newHome();
    deskEnv = await joinDaemon(hub, desk, 'desk');
    const creds = path.join(cloud, 'cloud.creds.json');
    await fs.writeFile(creds, JSON.stringify(hub.credentials.cloud), { mode: 0o600 });
    cloudEnv = { TELEPTY_MACHINE_ID: 'cloud', TELEPTY_NATS_CREDS: creds };
    const started = await inCloud(['daemon', 'start', '--json']);
    expect(started.exitCode, started.stderr).toBe(0);
    const log = path.join(cloud, 'dev.submissions');
    const spawned = await inCloud(['spawn', '--id', 'dev', '--env', `FIXTURE_LOG=${log}`, '--', process.execPath, path.join(FIXTURES, 'line-reader.mjs')]);
    expect(spawned.exitCode, spawned.stderr).toBe(0);
  }, 60_000);

  afterAll(async () => {
    if (ns) {
      await inCloud(['kill', 'dev']);
      await inCloud(['daemon', 'stop']);
    }
    await hub?.stop();
    await ns?.cleanup();
  }, 60_000);

  it('joins the hub over the veth pair, listening only on its own loopback, and is reached as id@machine', async (ctx) => {
    if (!ns) {
      console.warn(`skipping: ${why}`);
      return ctx.skip();
    }
    // Its daemon is on the namespace's loopback: nothing on this machine's loopback answers for it.
    const status = await inCloud(['daemon', 'status', '--json']);
    expect(status.exitCode, status.stderr).toBe(0);
    expect(status.stdout).toMatch(/127\.0\.0\.1/);
    await waitFor('desk sees cloud', async () => {
      const st = parseJson<{ state: string; machines: { machine: string; reachable: boolean }[] }>(await runCli(desk, ['fleet', 'status', '--json'], { env: deskEnv }));
      return st.state === 'connected' && st.machines.some((m) => m.machine === 'cloud' && m.reachable);
    }, 20_000);
    const r = await runCli(desk, ['inject', 'dev@cloud', 'across the veth', '--wait', '--json'], { env: deskEnv });
    expect(r.exitCode, r.stderr).toBe(0);
    expect(parseJson(r)).toMatchObject({ status: 'submitted', session_id: 'dev' });
    expect((await readSubmissions(path.join(cloud, 'dev.submissions'))).map((s) => s.text)).toEqual(['across the veth']);
    expect((await runCli(desk, ['read', 'dev@cloud'], { env: deskEnv })).stdout).toMatch(/submitted #1/);
    const rows = parseJson<{ address: string; reachable: boolean }[]>(await runCli(desk, ['list', '--all', '--json'], { env: deskEnv }));
    expect(rows).toContainEqual(expect.objectContaining({ address: 'dev@cloud', reachable: true }));
  });
});
