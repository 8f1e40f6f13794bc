import { promises as fs } from 'node:fs';
import path from 'node:path';
import { Kvm } from '@nats-io/kv';
import { afterEach, describe, expect, it } from 'vitest';
import { connectFleet } from '../../src/fleet/connect.js';
import { readCredentials } from '../../src/fleet/credentials.js';
import { FLEET_DIRECTORY_BUCKET } from '../../src/protocol/fleet.js';
import { parseJson, runCli, spawnCli } from '../helpers/cli.js';
import { freePort, makeHome, waitFor } from '../helpers/env.js';
import { natsServerPath } from '../helpers/nats.js';

describe('telepty fleet init and fleet hub, as a user runs them', () => {
  const cleanups: (() => Promise<void> | void)[] = [];
  afterEach(async () => {
    for (const c of cleanups.splice(0).reverse()) await c();
  });

  function home(): string {
    const h = makeHome();
    cleanups.push(h.cleanup);
    return h.home;
  }

  it('writes the hub config and one private credentials file per machine, and never overwrites them silently', async () => {
    const h = home();
    const out = path.join(h, 'fleet');
    const r = await runCli(h, ['fleet', 'init', '--machines', 'desk,laptop', '--url', 'nats://hub.example:4222', '--out', out, '--json']);
    expect(r.exitCode, r.stderr).toBe(0);
    const written = parseJson<{ config: string; machines: { machine: string; file: string }[] }>(r);
    expect(written.machines.map((m) => m.machine)).toEqual(['desk', 'laptop']);
    for (const m of written.machines) {
      expect((await fs.stat(m.file)).mode & 0o777).toBe(0o600);
      expect(await readCredentials(m.file)).toMatchObject({ machine: m.machine, servers: ['nats://hub.example:4222'] });
    }
    const again = await runCli(h, ['fleet', 'init', '--machines', 'desk', '--out', out]);
    expect(again.exitCode).toBe(1);
    expect(again.stderr).toMatch(/already exist.*--force/s);
    const forced = await runCli(h, ['fleet', 'init', '--machines', 'desk', '--out', out, '--force']);
    expect(forced.exitCode, forced.stderr).toBe(0);
  });

  it('refuses a bad machine list or URL with a usage-like error and writes nothing', async () => {
    const h = home();
    const out = path.join(h, 'fleet');
    const bad = await runCli(h, ['fleet', 'init', '--machines', 'desk,desk', '--out', out]);
    expect(bad.exitCode).not.toBe(0);
    expect(bad.stderr).toMatch(/named twice/);
    const url = await runCli(h, ['fleet', 'init', '--machines', 'desk', '--url', 'http://hub', '--out', out]);
    expect(url.stderr).toMatch(/not a nats:\/\/ or tls:\/\/ URL/);
    await expect(fs.access(out)).rejects.toThrow();
  });

  it('says how to install nats-server when there is none', async () => {
    const h = home();
    const out = path.join(h, 'fleet');
    expect((await runCli(h, ['fleet', 'init', '--machines', 'desk', '--out', out])).exitCode).toBe(0);
    const r = await runCli(h, ['fleet', 'hub', '--dir', out], { env: { NATS_SERVER: path.join(h, 'no-such-nats-server') } });
    expect(r.exitCode).toBe(3);
    expect(r.stderr).toMatch(/nats-server is not installed.*apt-get install nats-server/s);
  });

  it.skipIf(natsServerPath() === null)('runs the hub, which creates the directory machines then use', async () => {
    const h = home();
    const out = path.join(h, 'fleet');
    const port = await freePort();
    const init = await runCli(h, ['fleet', 'init', '--machines', 'desk', '--listen', `127.0.0.1:${port}`, '--url', `nats://127.0.0.1:${port}`, '--out', out]);
    expect(init.exitCode, init.stderr).toBe(0);
    const hub = spawnCli(h, ['fleet', 'hub', '--dir', out], { env: { NATS_SERVER: natsServerPath() ?? '' } });
    let said = '';
    hub.stdout?.on('data', (d: Buffer) => (said += d.toString()));
    cleanups.push(async () => {
      hub.kill('SIGINT');
      await hub;
    });
    await waitFor('the hub says it is ready', () => /ready on 127\.0\.0\.1:\d+ for desk/.test(said), 15_000);
    const nc = await connectFleet({ credentials: await readCredentials(path.join(out, 'desk.creds.json')) });
    cleanups.push(() => nc.close());
    const kv = await new Kvm(nc).open(FLEET_DIRECTORY_BUCKET);
    expect((await kv.status()).bucket).toBe(FLEET_DIRECTORY_BUCKET);
    // A second hub on the same address (and store) is refused before it starts: it said "ready" for the first one.
    const second = await runCli(h, ['fleet', 'hub', '--dir', out], { env: { NATS_SERVER: natsServerPath() ?? '' } });
    expect(second.exitCode).not.toBe(0);
    expect(second.stderr).toMatch(/127\.0\.0\.1:\d+ is in use \(another hub running/);
    expect(second.stdout).not.toMatch(/ready/);
    expect((await kv.status()).bucket).toBe(FLEET_DIRECTORY_BUCKET);
    hub.kill('SIGINT');
    const done = await hub;
    expect(done.exitCode).toBe(0);
  });
});
