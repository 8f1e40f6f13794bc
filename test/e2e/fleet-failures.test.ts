import { describe, expect, it } from 'vitest';
import { parseJson, runCli, spawnCli } from '../helpers/cli.js';
import { liveDaemon, useHomes } from '../helpers/daemon.js';
import { BIN, testEnv, waitFor } from '../helpers/env.js';
import { natsServerPath, useTwoMachines } from '../helpers/nats.js';
import { TerminalDriver } from '../helpers/terminal.js';

/** laptop's daemon policy: what these tests ask of it (attach is off by default). */
const LAPTOP_ENV = { TELEPTY_FLEET_ALLOW: 'inject,enter,screen,list,attach' };
/** Time for a request sent by desk to reach laptop's daemon (its CLI start, desk's daemon, the hub) on a loaded machine. */
const REQUEST_IN_FLIGHT_MS = 2_500;

/**
 * The fleet as users meet its failures (issue 18): the hub killed -9, or the other machine's daemon killed -9, while
 * a request or an attach is under way. The answer says what happened, soon (not after the request's whole bound, as
 * if the other machine were connected but silent), and a prompt is typed once: a repeat with the same inject id says
 * what happened to it.
 */
describe.skipIf(natsServerPath() === null)('fleet failures mid-operation', () => {
  const homes = useHomes();
  const fleet = useTwoMachines(() => homes.newHome(), { laptop: () => LAPTOP_ENV });

  async function laptopDaemonPid(): Promise<number> {
    const pid = (await liveDaemon(fleet.laptop))?.record.pid;
    if (pid === undefined) throw new Error('no daemon serves laptop');
    return pid;
  }

  /** laptop's daemon started again (as after a crash), once desk reaches it. */
  async function restartLaptop(): Promise<void> {
    const r = await runCli(fleet.laptop, ['daemon', 'start'], { env: { ...fleet.env.laptop, ...LAPTOP_ENV } });
    expect(r.exitCode, r.stderr).toBe(0);
    await waitFor('desk reaches laptop', async () => {
      const st = parseJson<{ state: string; machines: { machine: string; reachable: boolean; rtt_ms: number | null }[] }>(await runCli(fleet.desk, ['fleet', 'status', '--json'], { env: fleet.env.desk }));
      return st.state === 'connected' && st.machines.some((m) => m.machine === 'laptop' && m.rtt_ms !== null);
    }, 20_000);
  }

  async function spawnShell(id: string): Promise<void> {
    expect((await runCli(fleet.laptop, ['spawn', '--id', id, '--', 'bash', '--norc', '--noprofile'], { env: fleet.env.laptop })).exitCode).toBe(0);
    await waitFor('its prompt', async () => /[$#] *$/m.test((await runCli(fleet.laptop, ['read', id], { env: fleet.env.laptop })).stdout));
  }

  /** How often `text` is a line of the session's screen (on laptop, local). */
  async function linesOf(id: string, text: string): Promise<number> {
    const screen = (await runCli(fleet.laptop, ['read', id, '--lines', '200'], { env: fleet.env.laptop })).stdout;
    return screen.split('\n').filter((l) => l.trim() === text).length;
  }

  it("ends a remote attach soon after the other machine's daemon is killed, saying so (exit 4)", async () => {
    await spawnShell('viewed');
    const d = new TerminalDriver(process.execPath, [BIN, 'attach', 'viewed@laptop'], { env: testEnv(fleet.desk, fleet.env.desk), cols: 100, rows: 30 });
    try {
      await waitFor('attached', () => d.raw.includes('attached to viewed@laptop'), 15_000);
      process.kill(await laptopDaemonPid(), 'SIGKILL');
      const t0 = Date.now();
      expect((await d.waitExit(15_000)).exitCode).toBe(4);
      // Within the attach's lapse (7 s of silence, and a beat).
      expect(Date.now() - t0).toBeLessThan(10_000);
      expect(d.raw).toContain("[telepty: the connection to viewed@laptop was lost: laptop's daemon stopped answering");
      // fleet status says so too, before laptop's presence lapses (15 s): no daemon of laptop's answers.
      const st = parseJson<{ machines: { machine: string; reachable: boolean }[] }>(await runCli(fleet.desk, ['fleet', 'status', '--json'], { env: fleet.env.desk }));
      expect(st.machines.find((m) => m.machine === 'laptop')?.reachable).toBe(false);
      expect(Date.now() - t0).toBeLessThan(14_000);
    } finally {
      d.proc.kill();
    }
    await restartLaptop();
  }, 60_000);

  it("answers an inject whose target daemon was killed after taking it within seconds, with its id: a repeat types it once", async () => {
    await spawnShell('taker');
    const pid = await laptopDaemonPid();
    // laptop's daemon holds the request unread (stopped), then dies: the answer never comes.
    process.kill(pid, 'SIGSTOP');
    const t0 = Date.now();
    const inject = spawnCli(fleet.desk, ['inject', 'taker@laptop', 'echo taken-$((6*7))'], { env: fleet.env.desk });
    await new Promise((r) => setTimeout(r, REQUEST_IN_FLIGHT_MS));
    process.kill(pid, 'SIGKILL');
    const r = await inject;
    // Not the inject's 35 s bound, nor "it is connected": its daemon's going was noticed (a ping) and waited for briefly.
    expect(Date.now() - t0).toBeLessThan(15_000);
    expect(r.exitCode, String(r.stderr)).toBe(7);
    expect(String(r.stderr)).toMatch(/laptop's daemon stopped answering .* while inject (\S+) to taker@laptop was under way: the prompt may have been typed there or not/);
    const injectId = /--inject-id (\S+)/.exec(String(r.stderr))?.[1];
    expect(injectId).toBeDefined();
    await restartLaptop();
    const again = await runCli(fleet.desk, ['inject', 'taker@laptop', '--inject-id', injectId as string, 'echo taken-$((6*7))'], { env: fleet.env.desk });
    expect(again.exitCode, again.stderr).toBe(0);
    await waitFor('typed', async () => (await linesOf('taker', 'taken-42')) >= 1);
    // And once only (a second repeat changes nothing).
    expect((await runCli(fleet.desk, ['inject', 'taker@laptop', '--inject-id', injectId as string, 'echo taken-$((6*7))'], { env: fleet.env.desk })).exitCode).toBe(0);
    await new Promise((r) => setTimeout(r, 500));
    expect(await linesOf('taker', 'taken-42')).toBe(1);
  }, 90_000);

  it('tail --all-machines goes on across a hub killed -9 and restarted, with the events published while it was away, each once', async () => {
    const tail = spawnCli(fleet.desk, ['tail', '--all-machines', '--kind', 'fleet.outage', '--timeout', '60', '--json'], { env: fleet.env.desk });
    let out = '';
    tail.stdout?.on('data', (d: Buffer) => (out += d.toString('utf8')));
    const seen = (): { seq: number; message_id: string; payload: { at: string } }[] =>
      out
        .split('\n')
        .filter((l) => l.trim().length > 0)
        .map((l) => JSON.parse(l) as { seq: number; message_id: string; payload: { at: string } });
    const publish = async (at: string): Promise<void> => {
      expect((await runCli(fleet.laptop, ['publish', '--kind', 'fleet.outage', '--payload', JSON.stringify({ at })], { env: fleet.env.laptop })).exitCode).toBe(0);
    };
    try {
      await waitFor('the tail follows', async () => {
        await publish('before');
        return seen().length > 0;
      }, 15_000);
      fleet.hub.server.proc.kill('SIGKILL');
      await waitFor('desk knows the hub is gone', async () => (await runCli(fleet.desk, ['fleet', 'status'], { env: fleet.env.desk })).exitCode === 4);
      // What a user asking now is told: at once, that the hub is away, each with its exit code.
      const t0 = Date.now();
      const status = await runCli(fleet.desk, ['fleet', 'status'], { env: fleet.env.desk });
      expect(status.stdout).toMatch(/^desk: reconnecting to \S+: the hub does not answer now; this machine's sessions go on/);
      const all = await runCli(fleet.desk, ['list', '--all'], { env: fleet.env.desk });
      expect(all.exitCode).toBe(4);
      expect(all.stderr).toMatch(/not connected to the fleet now \(reconnecting to \S+\).*\[HOST_OFFLINE\]/);
      const doctor = await runCli(fleet.desk, ['doctor'], { env: fleet.env.desk });
      expect(doctor.stdout).toMatch(/warning +fleet: the daemon is not connected to the hub now/);
      expect(Date.now() - t0).toBeLessThan(5_000);
      await publish('during');
      await fleet.hub.server.restart();
      await waitFor('desk is back', async () => (await runCli(fleet.desk, ['fleet', 'status'], { env: fleet.env.desk })).exitCode === 0, 15_000);
      await publish('after');
      await waitFor('the events of the outage and after it', () => seen().some((e) => e.payload.at === 'during') && seen().some((e) => e.payload.at === 'after'), 15_000);
      await publish('later');
      await waitFor('and later ones', () => seen().some((e) => e.payload.at === 'later'), 15_000);
      const seqs = seen().map((e) => e.seq);
      // Each once, in the stream's order.
      expect([...seqs].sort((a, b) => a - b)).toEqual(seqs);
      expect(new Set(seqs).size).toBe(seqs.length);
      expect(new Set(seen().map((e) => e.message_id)).size).toBe(seqs.length);
    } finally {
      tail.kill();
    }
  }, 90_000);

  it('keeps a remote attach through a hub killed -9 and restarted at once, with the keys typed meanwhile typed once', async () => {
    await spawnShell('blip');
    const d = new TerminalDriver(process.execPath, [BIN, 'attach', 'blip@laptop'], { env: testEnv(fleet.desk, fleet.env.desk), cols: 100, rows: 30 });
    try {
      await waitFor('attached', () => d.raw.includes('attached to blip@laptop'), 15_000);
      d.write('echo before-$((1+1))\r');
      await d.waitForText('before-2');
      fleet.hub.server.proc.kill('SIGKILL');
      await waitFor('desk knows the hub is gone', async () => (await runCli(fleet.desk, ['fleet', 'status'], { env: fleet.env.desk })).exitCode === 4);
      d.write('echo held-$((2+3))\r');
      await fleet.hub.server.restart();
      await d.waitForText('held-5', 15_000);
      expect(d.raw).not.toContain('was lost');
      expect(await linesOf('blip', 'held-5')).toBe(1);
      d.write('\x1d');
      expect((await d.waitExit()).exitCode).toBe(0);
    } finally {
      d.proc.kill();
    }
  }, 60_000);

  it('lists a machine reachable again as soon as it is back through a hub that was down longer than its presence lasts', async () => {
    fleet.hub.server.proc.kill('SIGKILL');
    // Down for longer than a presence lasts (15 s): laptop's has lapsed when the hub is back.
    await new Promise((r) => setTimeout(r, 16_000));
    await fleet.hub.server.restart();
    await waitFor('laptop is back through the hub', async () => (await runCli(fleet.laptop, ['fleet', 'status', '--json'], { env: fleet.env.laptop })).exitCode === 0, 15_000, 10);
    await waitFor('desk is back', async () => (await runCli(fleet.desk, ['fleet', 'status', '--json'], { env: fleet.env.desk })).exitCode === 0, 15_000, 10);
    const st = parseJson<{ machines: { machine: string; reachable: boolean }[] }>(await runCli(fleet.desk, ['fleet', 'status', '--json'], { env: fleet.env.desk }));
    expect(st.machines.find((m) => m.machine === 'laptop')?.reachable).toBe(true);
  }, 60_000);

  it('answers an inject under way when the hub is killed within seconds, with its id: a repeat once the hub is back types it once', async () => {
    await spawnShell('hubless');
    const pid = await laptopDaemonPid();
    process.kill(pid, 'SIGSTOP');
    let stopped = true;
    try {
      const t0 = Date.now();
      const inject = spawnCli(fleet.desk, ['inject', 'hubless@laptop', 'echo hubless-$((6*7))'], { env: fleet.env.desk });
      // A read under way at the same time: nothing it could have changed, so it is told to ask again (exit 4).
      const read = spawnCli(fleet.desk, ['read', 'hubless@laptop'], { env: fleet.env.desk });
      await new Promise((r) => setTimeout(r, REQUEST_IN_FLIGHT_MS));
      fleet.hub.server.proc.kill('SIGKILL');
      const r = await inject;
      const rr = await read;
      expect(rr.exitCode, String(rr.stderr)).toBe(4);
      expect(String(rr.stderr)).toMatch(/this machine lost the fleet's hub while reading hubless@laptop \(screen\): nothing was changed there; ask again once it answers \[HOST_OFFLINE\]/);
      expect(Date.now() - t0).toBeLessThan(15_000);
      expect(r.exitCode, String(r.stderr)).toBe(7);
      expect(String(r.stderr)).toMatch(/this machine lost the fleet's hub while inject (\S+) to hubless@laptop was under way: the prompt may have been typed there or not\. Once laptop answers again, repeat it with --inject-id/);
      const injectId = /--inject-id (\S+)/.exec(String(r.stderr))?.[1] as string;
      await fleet.hub.server.restart();
      process.kill(pid, 'SIGCONT');
      stopped = false;
      await waitFor('desk reaches laptop again', async () => {
        const st = parseJson<{ state: string; machines: { machine: string; rtt_ms: number | null }[] }>(await runCli(fleet.desk, ['fleet', 'status', '--json'], { env: fleet.env.desk }));
        return st.state === 'connected' && st.machines.some((m) => m.machine === 'laptop' && m.rtt_ms !== null);
      }, 20_000);
      const again = await runCli(fleet.desk, ['inject', 'hubless@laptop', '--inject-id', injectId, 'echo hubless-$((6*7))'], { env: fleet.env.desk });
      expect(again.exitCode, again.stderr).toBe(0);
      await waitFor('typed', async () => (await linesOf('hubless', 'hubless-42')) >= 1);
      await new Promise((r) => setTimeout(r, 500));
      expect(await linesOf('hubless', 'hubless-42')).toBe(1);
    } finally {
      if (stopped) process.kill(pid, 'SIGCONT');
    }
  }, 90_000);
});
