import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { parseJson, runCli } from '../helpers/cli.js';
import { useHomes } from '../helpers/daemon.js';
import { BIN, testEnv, waitFor } from '../helpers/env.js';
import { joinDaemon, natsServerPath, startHub, type TestHub } from '../helpers/nats.js';
import { TerminalDriver } from '../helpers/terminal.js';

/** `attach id@machine`: live output and keys over the hub, resize, detach, the session's exit, a dropped link (issue 18). */
describe.skipIf(natsServerPath() === null)('attach across machines', () => {
  const homes = useHomes();
  let hub: TestHub;
  let desk: string;
  let laptop: string;
  const env: Record<string, Record<string, string>> = {};
  const drivers: TerminalDriver[] = [];

  function attachFrom(home: string, machineEnv: Record<string, string>, address: string): TerminalDriver {
    const d = new TerminalDriver(process.execPath, [BIN, 'attach', address], { env: testEnv(home, machineEnv), cols: 100, rows: 30 });
    drivers.push(d);
    return d;
  }

  beforeAll(async () => {
    hub = await startHub(['desk', 'laptop']);
    desk = homes.newHome();
    laptop = homes.newHome();
    // desk keeps the default policy (no remote attach); laptop allows it.
    env.desk = await joinDaemon(hub, desk, 'desk');
    env.laptop = await joinDaemon(hub, laptop, 'laptop', { TELEPTY_FLEET_ALLOW: 'inject,screen,list,attach' });
    for (const [home, e] of [[laptop, env.laptop], [desk, env.desk]] as const) {
      expect((await runCli(home, ['spawn', '--id', 'sh1', '--', 'bash', '--norc', '--noprofile'], { env: e })).exitCode).toBe(0);
    }
    await waitFor('desk sees laptop', async () => {
      const st = parseJson<{ state: string; machines: { machine: string; reachable: boolean }[] }>(await runCli(desk, ['fleet', 'status', '--json'], { env: env.desk }));
      return st.state === 'connected' && st.machines.some((m) => m.machine === 'laptop' && m.reachable);
    }, 20_000);
  }, 60_000);

  afterEach(() => {
    for (const d of drivers.splice(0)) d.proc.kill();
  });

  afterAll(async () => {
    await hub?.stop();
  });

  it('shows the remote screen live, types keys into it, resizes it, and detaches leaving it running', async () => {
    const d = attachFrom(desk, env.desk!, 'sh1@laptop');
    await waitFor('attached', () => d.raw.includes('attached to sh1@laptop'));
    d.write('echo fleet-$((40+2))\r');
    await d.waitForText('fleet-42');
    d.resize(120, 40);
    await waitFor('the remote session resized', async () => {
      d.write('stty size\r');
      return (await d.screenText()).includes('40 120');
    }, 10_000);
    d.write('\x1d');
    expect((await d.waitExit()).exitCode).toBe(0);
    expect(d.raw).toContain('[detached from sh1@laptop; it keeps running]');
    // It ran on laptop, and is still there.
    expect((await runCli(laptop, ['read', 'sh1'], { env: env.laptop })).stdout).toContain('fleet-42');
    expect((await runCli(laptop, ['list', '-q'], { env: env.laptop })).stdout).toContain('sh1');
  });

  it('is refused by a machine whose policy does not allow attach (FORBIDDEN)', async () => {
    const d = attachFrom(laptop, env.laptop!, 'sh1@desk');
    const { exitCode } = await d.waitExit(15_000);
    expect(exitCode).toBe(4);
    expect(d.raw).toMatch(/FORBIDDEN/);
    expect((await runCli(desk, ['read', 'sh1'], { env: env.desk })).stdout).not.toContain('fleet');
  });

  it('ends when the remote session exits', async () => {
    expect((await runCli(laptop, ['spawn', '--id', 'short', '--', 'bash', '--norc', '--noprofile'], { env: env.laptop })).exitCode).toBe(0);
    const d = attachFrom(desk, env.desk!, 'short@laptop');
    await waitFor('attached', () => d.raw.includes('attached to short@laptop'));
    await waitFor('its prompt', async () => /[$#] *$/m.test((await runCli(laptop, ['read', 'short'], { env: env.laptop })).stdout));
    d.write('exit 3\r');
    expect((await d.waitExit(15_000)).exitCode).toBe(0);
    expect(d.raw).toMatch(/session short@laptop exited/);
  });

  it('ends as disconnected (exit 4) when the link to the other machine drops', async () => {
    const d = attachFrom(desk, env.desk!, 'sh1@laptop');
    await waitFor('attached', () => d.raw.includes('attached to sh1@laptop'));
    d.write('echo still-$((1+1))\r');
    await d.waitForText('still-2');
    await hub.server.stop();
    expect((await d.waitExit(20_000)).exitCode).toBe(4);
    expect(d.raw).toContain('[session sh1@laptop disconnected]');
  });
});
