import { existsSync } from 'node:fs';
import path from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import type { MulticastResult } from '../../src/protocol/inject.js';
import { daemonPort, postApi } from '../helpers/api.js';
import { parseJson, runCli } from '../helpers/cli.js';
import { useHomes } from '../helpers/daemon.js';
import { waitFor } from '../helpers/env.js';
import { fixtureSession } from '../helpers/fixtures.js';
import { natsServerPath, useTwoMachines } from '../helpers/nats.js';

/**
 * What names more than one machine at once, or a machine that is not in the id: comma lists mixing machines, spawn
 * on another machine, and a reply to a sender on another machine (issue 18).
 */
describe.skipIf(natsServerPath() === null)('several machines in one request', () => {
  const homes = useHomes();
  const fleet = useTwoMachines(() => homes.newHome(), { laptop: (home) => ({ TELEPTY_FLEET_ALLOW: 'all', HOME: home }) });
  let onDesk: { submissions: () => Promise<{ text: string }[]> };
  let onLaptop: { submissions: () => Promise<{ text: string }[]> };

  beforeAll(async () => {
    // laptop lets other machines spawn there; its daemon's home (default cwd of a spawn) is its own folder.
    onDesk = await fixtureSession(fleet.desk, 'asker', 'line-reader.mjs');
    onLaptop = await fixtureSession(fleet.laptop, 'dev', 'line-reader.mjs');
  }, 60_000);

  it('injects into a comma list mixing machines: one answer per target as given, each typed once, the worst exit', async () => {
    const r = await runCli(fleet.desk, ['inject', 'dev@laptop,asker,ghost@laptop', 'to both machines', '--wait', '--json'], { env: fleet.env.desk });
    expect(r.exitCode, r.stderr).toBe(3);
    const m = parseJson<MulticastResult>(r);
    expect(m.success).toBe(true);
    expect(m.results.successful.map((s) => [s.id, s.status]).sort()).toEqual([['asker', 'submitted'], ['dev@laptop', 'submitted']]);
    expect(m.results.failed).toEqual([expect.objectContaining({ id: 'ghost@laptop', code: 'SESSION_NOT_FOUND' })]);
    await waitFor('both took it', async () => (await onDesk.submissions()).some((s) => s.text === 'to both machines') && (await onLaptop.submissions()).some((s) => s.text === 'to both machines'));
    // A retry of the whole list with the same inject id types nothing again anywhere.
    const again = await runCli(fleet.desk, ['inject', 'dev@laptop,asker', 'once only', '--inject-id', 'mix-1', '--json'], { env: fleet.env.desk });
    expect(again.exitCode, again.stderr).toBe(0);
    const repeat = await runCli(fleet.desk, ['inject', 'dev@laptop,asker', 'once only', '--inject-id', 'mix-1', '--json'], { env: fleet.env.desk });
    expect(repeat.exitCode, repeat.stderr).toBe(0);
    await waitFor('both took the once-only one', async () => (await onDesk.submissions()).some((s) => s.text === 'once only') && (await onLaptop.submissions()).some((s) => s.text === 'once only'));
    expect((await onLaptop.submissions()).filter((s) => s.text === 'once only')).toHaveLength(1);
    expect((await onDesk.submissions()).filter((s) => s.text === 'once only')).toHaveLength(1);
  });

  it('takes mixed machines on the HTTP multicast route too, and a machine nobody serves is a per-target HOST_OFFLINE', async () => {
    const r = await postApi(await daemonPort(fleet.desk), '/api/sessions/multicast/inject', { session_ids: ['dev@laptop', 'x@cloud9'], prompt: 'over http', wait: true, timeout_ms: 15_000 });
    expect(r.status, JSON.stringify(r.json)).toBe(200);
    const m = r.json as unknown as MulticastResult;
    expect(m.results.successful).toEqual([expect.objectContaining({ id: 'dev@laptop', status: 'submitted' })]);
    expect(m.results.failed).toEqual([expect.objectContaining({ id: 'x@cloud9', code: 'HOST_OFFLINE' })]);
    // On the command line the unreachable machine gives its own exit code (4), as a single target would.
    const cli = await runCli(fleet.desk, ['inject', 'dev@laptop,x@cloud9', 'over the cli', '--wait', '--json'], { env: fleet.env.desk });
    expect(cli.exitCode, cli.stderr).toBe(4);
    // A bad prompt is refused before anything is typed anywhere.
    const bad = await postApi(await daemonPort(fleet.desk), '/api/sessions/multicast/inject', { session_ids: ['dev@laptop', 'asker'], prompt: 'x', wait: 'yes' });
    expect(bad).toMatchObject({ status: 400, json: { code: 'INVALID_FIELD' } });
  });

  it('spawns on another machine with only what was given: its daemon\'s home as cwd, none of the caller\'s environment', async () => {
    const r = await runCli(fleet.desk, ['spawn', '--machine', 'laptop', '--id', 'far', '--env', 'GIVEN=yes', '--', 'sh', '-c', 'echo "given=$GIVEN leak=$LEAK_ME cwd=$(pwd)"; sleep 60'], { env: { ...fleet.env.desk, LEAK_ME: 'oops' } });
    expect(r.exitCode, r.stderr).toBe(0);
    expect(r.stdout.trim()).toBe('far@laptop');
    const screen = await waitFor('its output', async () => {
      const s = (await runCli(fleet.desk, ['read', 'far@laptop'], { env: fleet.env.desk })).stdout;
      return s.includes('given=') ? s : null;
    });
    expect(screen).toContain(`given=yes leak= cwd=${fleet.laptop}`);
    expect((await runCli(fleet.laptop, ['list', '-q'], { env: fleet.env.laptop })).stdout.split('\n')).toContain('far');
    // desk keeps the default policy: laptop may not spawn there (FORBIDDEN, exit 6), and nothing starts.
    const refused = await runCli(fleet.laptop, ['spawn', '--machine', 'desk', '--id', 'nope', '--json', '--', 'sleep', '5'], { env: fleet.env.laptop });
    expect(refused.exitCode).toBe(6);
    expect(parseJson(refused)).toMatchObject({ code: 'FORBIDDEN' });
    expect((await runCli(fleet.desk, ['list', '-q'], { env: fleet.env.desk })).stdout).not.toContain('nope');
  });

  it('takes "machine" on the HTTP spawn route: spawned there (201), a bad machine refused before anything travels', async () => {
    const port = await daemonPort(fleet.desk);
    const r = await postApi(port, '/api/sessions/spawn', { machine: 'laptop', session_id: 'viahttp', command: 'sleep', args: ['30'] });
    expect(r.status, JSON.stringify(r.json)).toBe(201);
    expect(r.json).toMatchObject({ session_id: 'viahttp' });
    expect((await runCli(fleet.laptop, ['list', '-q'], { env: fleet.env.laptop })).stdout.split('\n')).toContain('viahttp');
    expect((await runCli(fleet.desk, ['list', '-q'], { env: fleet.env.desk })).stdout).not.toContain('viahttp');
    const bad = await postApi(port, '/api/sessions/spawn', { machine: 'no such/machine', command: 'sleep' });
    expect(bad).toMatchObject({ status: 400, json: { code: 'INVALID_FIELD' } });
    const nobody = await postApi(port, '/api/sessions/spawn', { machine: 'cloud9', command: 'sleep' });
    expect(nobody).toMatchObject({ status: 503, json: { code: 'HOST_OFFLINE' } });
  });

  it('replies to a sender on another machine through the fleet', async () => {
    const ask = await runCli(fleet.desk, ['inject', 'dev@laptop', 'what is the status?', '--from', 'asker', '--json'], { env: fleet.env.desk });
    expect(ask.exitCode, ask.stderr).toBe(0);
    const r = await runCli(fleet.laptop, ['reply', 'all green', '--json'], { env: { ...fleet.env.laptop, TELEPTY_SESSION_ID: 'dev' } });
    expect(r.exitCode, r.stderr).toBe(0);
    expect(parseJson(r)).toMatchObject({ session_id: 'asker', status: 'submitted' });
    await waitFor('the reply at asker on desk', async () => (await onDesk.submissions()).some((s) => s.text === 'all green'));
  });

  it('tags and records a session of another machine when that machine allows it, and refuses where it does not', async () => {
    const tagged = await runCli(fleet.desk, ['tag', 'dev@laptop', '+reviewers', '--json'], { env: fleet.env.desk });
    expect(tagged.exitCode, tagged.stderr).toBe(0);
    expect(parseJson<{ tags: string[] }>(await runCli(fleet.laptop, ['tag', 'dev', '--json'])).tags).toEqual(['reviewers']);
    const file = path.join(fleet.laptop, 'remote.cast');
    const relative = await runCli(fleet.desk, ['record', 'dev@laptop', '--file', 'here.cast', '--json'], { env: fleet.env.desk });
    expect(relative.exitCode).toBe(2);
    expect(parseJson(relative)).toMatchObject({ code: 'INVALID_FIELD' });
    const started = await runCli(fleet.desk, ['record', 'dev@laptop', '--file', file, '--json'], { env: fleet.env.desk });
    expect(started.exitCode, started.stderr).toBe(0);
    expect(parseJson(started)).toMatchObject({ recording: { file } });
    const stopped = await runCli(fleet.desk, ['record', 'dev@laptop', '--stop', '--json'], { env: fleet.env.desk });
    expect(stopped.exitCode, stopped.stderr).toBe(0);
    expect(existsSync(file)).toBe(true);
    // desk keeps the default policy: tags and recordings of its sessions are its own business (FORBIDDEN, exit 6).
    const refused = await runCli(fleet.laptop, ['tag', 'asker@desk', '+x', '--json'], { env: fleet.env.laptop });
    expect(refused.exitCode).toBe(6);
    expect(parseJson(refused)).toMatchObject({ code: 'FORBIDDEN' });
    expect((await runCli(fleet.laptop, ['record', 'asker@desk', '--json'], { env: fleet.env.laptop })).exitCode).toBe(6);
  });
});
