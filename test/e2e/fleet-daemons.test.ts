import { promises as fs } from 'node:fs';
import path from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { parseJson, runCli } from '../helpers/cli.js';
import { useHomes } from '../helpers/daemon.js';
import { isAlive, waitFor } from '../helpers/env.js';
import { fixtureSession } from '../helpers/fixtures.js';
import { natsServerPath, useTwoMachines } from '../helpers/nats.js';

/**
 * Two daemons on one machine, each its own TELEPTY_HOME and machine id, joined through a real nats-server: what a
 * user on desk does to a session on laptop.
 */
describe.skipIf(natsServerPath() === null)('two machines in a fleet', () => {
  const homes = useHomes();
  const fleet = useTwoMachines(() => homes.newHome());
  let submissions: () => Promise<{ text: string }[]>;

  beforeAll(async () => {
    ({ submissions } = await fixtureSession(fleet.laptop, 'dev-001', 'line-reader.mjs'));
  }, 60_000);

  it('injects into a session on another machine and says it was submitted, once', async () => {
    const r = await runCli(fleet.desk, ['inject', 'dev-001@laptop', 'hello from desk', '--wait', '--json'], { env: fleet.env.desk });
    expect(r.exitCode, r.stderr).toBe(0);
    expect(parseJson(r)).toMatchObject({ status: 'submitted', session_id: 'dev-001' });
    await waitFor('laptop took it', async () => (await submissions()).some((s) => s.text === 'hello from desk'));
    expect((await submissions()).filter((s) => s.text === 'hello from desk')).toHaveLength(1);
  });

  it('reads its screen from the other machine', async () => {
    const r = await runCli(fleet.desk, ['read', 'dev-001@laptop'], { env: fleet.env.desk });
    expect(r.exitCode, r.stderr).toBe(0);
    expect(r.stdout).toMatch(/submitted #1/);
    expect(r.stdout).toBe((await runCli(fleet.laptop, ['read', 'dev-001'])).stdout);
  });

  it('gives the same errors and exit codes as local ones, never a local session of the same name', async () => {
    const missing = await runCli(fleet.desk, ['inject', 'ghost@laptop', 'x', '--json'], { env: fleet.env.desk });
    expect(missing.exitCode).toBe(3);
    expect(parseJson(missing)).toMatchObject({ code: 'SESSION_NOT_FOUND' });
    // Killing is off for other machines unless laptop allows it.
    const kill = await runCli(fleet.desk, ['kill', 'dev-001@laptop', '--json'], { env: fleet.env.desk });
    expect(kill.exitCode).toBe(6);
    expect(kill.stdout + kill.stderr).toMatch(/FORBIDDEN/);
    expect((await runCli(fleet.laptop, ['list', '--json'])).stdout).toContain('dev-001');
  });

  it('carries state, wait, keys and read --since to the other machine', async () => {
    const state = await runCli(fleet.desk, ['state', 'dev-001@laptop', '--json'], { env: fleet.env.desk });
    expect(state.exitCode, state.stderr).toBe(0);
    expect(parseJson(state)).toMatchObject({ session_id: 'dev-001' });
    const wait = await runCli(fleet.desk, ['wait', 'dev-001@laptop', '--until', 'any-change', '--timeout', '1', '--json'], { env: fleet.env.desk });
    // No change comes in a second: the bound, answered by laptop (exit 5), not a local UNKNOWN_HOST or not-found.
    expect(wait.exitCode, wait.stderr).toBe(5);
    const keys = await runCli(fleet.desk, ['keys', 'dev-001@laptop', 'keyed from desk', 'Enter', '--json'], { env: fleet.env.desk });
    expect(keys.exitCode, keys.stderr).toBe(0);
    await waitFor('laptop took the keys', async () => (await submissions()).some((s) => s.text === 'keyed from desk'));
    const sent = await runCli(fleet.desk, ['inject', 'dev-001@laptop', 'answer me', '--inject-id', 'ask-1', '--wait', '--json'], { env: fleet.env.desk });
    expect(sent.exitCode, sent.stderr).toBe(0);
    const since = await runCli(fleet.desk, ['read', 'dev-001@laptop', '--since', 'ask-1'], { env: fleet.env.desk });
    expect(since.exitCode, since.stderr).toBe(0);
    expect(since.stdout).toBe((await runCli(fleet.laptop, ['read', 'dev-001', '--since', 'ask-1'])).stdout);
    // What showed after that prompt only: nothing from before it.
    expect(since.stdout).not.toContain('keyed from desk');
  });

  it('routes a turn_request published on one machine to its target on another, and brings the ack back', async () => {
    const payload = JSON.stringify({ prompt: 'turn from desk', turn_id: 't-77' });
    const r = await runCli(fleet.desk, ['publish', '--kind', 'turn_request', '--target', 'dev-001@laptop', '--payload', payload, '--wait', '--timeout', '20', '--json'], { env: fleet.env.desk });
    expect(r.exitCode, r.stderr).toBe(0);
    expect(r.stdout).toMatch(/inject_written/);
    expect(r.stdout).toMatch(/t-77/);
    await waitFor('laptop took the turn', async () => (await submissions()).some((s) => s.text === 'turn from desk'));
    expect((await submissions()).filter((s) => s.text === 'turn from desk')).toHaveLength(1);
  });

  it('delivers a bus event once on the other machine, with the origin machine as source_host', async () => {
    const tail = runCli(fleet.laptop, ['tail', '--kind', 'fleet.note', '--count', '1', '--timeout', '15', '--json'], { env: fleet.env.laptop });
    // The tail subscribes before the event exists: publish until it has seen it (each event is its own message).
    let out = '';
    const t = tail.then((res) => (out = res.stdout));
    await waitFor('laptop saw the note', async () => {
      await runCli(fleet.desk, ['publish', '--kind', 'fleet.note', '--payload', '{"n":1}'], { env: fleet.env.desk });
      return out !== '';
    }, 15_000);
    await t;
    const ev = JSON.parse(out.trim().split('\n')[0] as string) as { kind: string; source_host: string };
    expect(ev).toMatchObject({ kind: 'fleet.note', source_host: 'desk' });
  });

  it('lists every machine\'s sessions with list --all, and --machine one of them', async () => {
    const rows = await waitFor('the directory has laptop\'s session', async () => {
      const r = parseJson<{ address: string; machine: string; reachable: boolean }[]>(await runCli(fleet.desk, ['list', '--all', '--json'], { env: fleet.env.desk }));
      return r.some((x) => x.address === 'dev-001@laptop') ? r : null;
    }, 10_000);
    expect(rows.find((x) => x.address === 'dev-001@laptop')).toMatchObject({ machine: 'laptop', reachable: true });
    const table = await runCli(fleet.desk, ['list', '--all'], { env: fleet.env.desk });
    expect(table.stdout).toMatch(/^ID\s+MACHINE\s+TYPE/m);
    expect((await runCli(fleet.desk, ['list', '--machine', 'laptop', '-q'], { env: fleet.env.desk })).stdout.trim()).toBe('dev-001@laptop');
  });

  it('answers the first command after its daemon was killed with -9: read and list --all reach the other machine', async () => {
    // The next command starts a new daemon, whose join comes ~0.1 s after it answers: a request waits for it.
    const killDesk = async (): Promise<void> => {
      const { pid } = parseJson<{ pid: number }>(await runCli(fleet.desk, ['daemon', 'status', '--json'], { env: fleet.env.desk }));
      process.kill(pid, 'SIGKILL');
      await waitFor('the daemon gone', () => !isAlive(pid));
    };
    await killDesk();
    const read = await runCli(fleet.desk, ['read', 'dev-001@laptop'], { env: fleet.env.desk });
    expect(read.exitCode, read.stderr).toBe(0);
    expect(read.stdout).toBe((await runCli(fleet.laptop, ['read', 'dev-001'])).stdout);
    await killDesk();
    const rows = parseJson<{ address: string }[]>(await runCli(fleet.desk, ['list', '--all', '--json'], { env: fleet.env.desk }));
    expect(rows.map((r) => r.address)).toContain('dev-001@laptop');
  });

  it('says HOST_OFFLINE at once for a machine with no daemon on the hub (exit 4)', async () => {
    const t0 = Date.now();
    const r = await runCli(fleet.desk, ['inject', 'dev-001@cloud1', 'x', '--json'], { env: fleet.env.desk });
    expect(r.exitCode).toBe(4);
    expect(parseJson(r)).toMatchObject({ code: 'HOST_OFFLINE' });
    expect(Date.now() - t0).toBeLessThan(5_000);
  });

  it('shows a machine whose daemon stopped as unreachable, its rows kept, and answers HOST_OFFLINE for it', async () => {
    expect((await runCli(fleet.laptop, ['daemon', 'stop'], { env: fleet.env.laptop })).exitCode).toBe(0);
    const row = await waitFor('laptop unreachable', async () => {
      const r = parseJson<{ address: string; reachable: boolean; status: string }[]>(await runCli(fleet.desk, ['list', '--all', '--json'], { env: fleet.env.desk }));
      return r.find((x) => x.address === 'dev-001@laptop' && !x.reachable);
    }, 10_000);
    expect(row).toBeDefined();
    expect((await runCli(fleet.desk, ['list', '--all'], { env: fleet.env.desk })).stdout).toMatch(/dev-001\s+laptop\s+\S+\s+unreachable/);
    const r = await runCli(fleet.desk, ['inject', 'dev-001@laptop', 'x', '--json'], { env: fleet.env.desk });
    expect(r.exitCode).toBe(4);
    expect(parseJson(r)).toMatchObject({ code: 'HOST_OFFLINE' });
  });
});

describe('addresses without a fleet', () => {
  const homes = useHomes();

  it('takes id@<this machine> as id for every session route, and id@<another> as UNKNOWN_HOST (exit 3), never a local session', async () => {
    const home = homes.newHome();
    const env = { TELEPTY_MACHINE_ID: 'solo' };
    expect((await runCli(home, ['spawn', '--id', 'same', '--', 'sleep', '30'], { env })).exitCode).toBe(0);
    expect((await runCli(home, ['read', 'same@solo'], { env })).exitCode).toBe(0);
    const other = await runCli(home, ['read', 'same@elsewhere', '--json'], { env });
    expect(other.exitCode).toBe(3);
    expect(parseJson(other)).toMatchObject({ code: 'UNKNOWN_HOST' });
    const kill = await runCli(home, ['kill', 'same@elsewhere', '--json'], { env });
    expect(kill.exitCode).toBe(3);
    expect((await runCli(home, ['list', '-q'], { env })).stdout.trim()).toBe('same');
  });

  it('says why when the fleet is configured but not usable (credentials of another machine): daemon start warns, fleet status exits 4, id@machine names the problem', async () => {
    const home = homes.newHome();
    const out = path.join(home, 'fleet');
    expect((await runCli(home, ['fleet', 'init', '--machines', 'desk,laptop', '--out', out])).exitCode).toBe(0);
    const off = await runCli(home, ['fleet', 'status'], { env: { TELEPTY_MACHINE_ID: 'solo' } });
    expect(off.exitCode, off.stderr).toBe(0);
    expect((await runCli(home, ['daemon', 'stop'])).exitCode).toBe(0);
    // As the README's setup step runs it on a machine whose own name is not the one fleet init was given.
    const env = { TELEPTY_MACHINE_ID: 'solo', TELEPTY_NATS_CREDS: path.join(out, 'desk.creds.json') };
    const started = await runCli(home, ['daemon', 'start'], { env });
    expect(started.exitCode, started.stderr).toBe(0);
    expect(started.stderr).toMatch(/warning: the fleet configuration is not usable.*machine "desk"/);
    const st = await runCli(home, ['fleet', 'status'], { env });
    expect(st.exitCode).toBe(4);
    expect(st.stdout).toMatch(/not usable.*machine "desk".*TELEPTY_MACHINE_ID=desk/);
    // list --all cannot read the directory: it says so (exit 4) instead of passing this machine's rows off as all.
    const all = await runCli(home, ['list', '--all'], { env });
    expect([all.exitCode, all.stdout.trim()]).toEqual([4, 'no sessions on this machine']);
    expect(all.stderr).toMatch(/this machine is not connected to the fleet now \(error.*\), so other machines' sessions cannot be listed \[HOST_OFFLINE\]/);
    const inject = await runCli(home, ['inject', 'dev-001@laptop', 'x', '--json'], { env });
    expect(inject.exitCode).toBe(3);
    const err = parseJson<{ code: string; error: string }>(inject);
    expect(err.code).toBe('UNKNOWN_HOST');
    expect(err.error).toMatch(/fleet is not usable \(.*machine "desk".*\).*fleet status/);
    // doctor says it too (exit 1), and that a credentials file others can read should be made private.
    const doc = await runCli(home, ['doctor', '--json'], { env });
    expect(doc.exitCode).toBe(1);
    expect(parseJson<{ check: string; status: string; detail: string }[]>(doc).find((c) => c.check === 'fleet')).toMatchObject({ status: 'error', detail: expect.stringMatching(/machine "desk"/) });
    await fs.chmod(path.join(out, 'desk.creds.json'), 0o644);
    const loose = parseJson<{ check: string; status: string; fix?: string }[]>(await runCli(home, ['doctor', '--json'], { env: { ...env, TELEPTY_MACHINE_ID: 'desk' } }));
    expect(loose.find((c) => c.check === 'fleet credentials')).toMatchObject({ status: 'warning', fix: expect.stringMatching(/^chmod 600 /) });
    // The auto-router says the same of a turn_request for that machine.
    const turn = await runCli(home, ['publish', '--kind', 'turn_request', '--target', 'dev-001@laptop', '--payload', '{"prompt":"x"}', '--wait', '--json'], { env });
    expect(turn.exitCode).toBe(3);
    expect(parseJson<{ code: string; error: string }>(turn)).toMatchObject({ code: 'UNKNOWN_HOST', error: expect.stringMatching(/fleet is not usable/) });
  });
});
