import { promises as fs } from 'node:fs';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import type { ScreenSnapshot } from '../../src/protocol/session.js';
import { daemonPort, requestApi } from '../helpers/api.js';
import { parseJson, runCli } from '../helpers/cli.js';
import { useHomes } from '../helpers/daemon.js';
import { BIN, testEnv, waitFor } from '../helpers/env.js';
import { FIXTURES, readSubmissions } from '../helpers/fixtures.js';
import { listSessions, spawnJson } from '../helpers/sessions.js';
import { TerminalDriver } from '../helpers/terminal.js';

const homes = useHomes();
const LINE_READER = path.join(FIXTURES, 'line-reader.mjs');
const drivers: TerminalDriver[] = [];
afterEach(() => {
  for (const d of drivers.splice(0)) d.dispose();
});

async function tagsOf(home: string): Promise<Record<string, string[] | undefined>> {
  return Object.fromEntries((await listSessions(home)).map((s) => [s.id, s.tags]));
}

async function readUntil(home: string, id: string, text: string): Promise<void> {
  await waitFor(`${id} to show ${text}`, async () => {
    const s = parseJson<ScreenSnapshot>(await runCli(home, ['read', id, '--json']));
    return s.lines.join('\n').includes(text) ? true : null;
  });
}

/** What the line reader of session `id` took as submitted (its FIXTURE_LOG), in order. */
async function submitted(home: string, id: string): Promise<string[]> {
  return (await readSubmissions(path.join(home, `${id}.submitted`))).map((s) => s.text);
}

async function submittedUntil(home: string, id: string, text: string): Promise<void> {
  await waitFor(`${id} to submit ${text}`, async () => ((await submitted(home, id)).includes(text) ? true : null));
}

describe('session groups: tags and patterns', () => {
  it('spawn --tag, telepty tag (+, -, bare, --clear), list --tag and TAGS, kept across a daemon restart', async () => {
    const home = homes.newHome();
    const a = await spawnJson(home, ['--id', 'rev-a', '--tag', 'reviewers,team-a', '--tag', 'reviewers', '--', 'sleep', '300']);
    expect(a.tags).toEqual(['reviewers', 'team-a']);
    await spawnJson(home, ['--id', 'rev-b', '--tag', 'reviewers', '--', 'sleep', '300']);
    const plain = await spawnJson(home, ['--id', 'plain', '--', 'sleep', '300']);
    expect(plain.tags).toEqual([]);

    // Changes: -T removes, +T and a bare T add (each once, order kept); --json says the result.
    const changed = parseJson<{ session_id: string; tags: string[] }>(await runCli(home, ['tag', 'rev-a', '-team-a', '+nightly', 'extra', 'nightly', '--json']));
    expect(changed).toEqual({ session_id: 'rev-a', tags: ['reviewers', 'nightly', 'extra'] });
    expect((await runCli(home, ['tag', 'rev-a'])).stdout.trim()).toBe('rev-a: reviewers nightly extra');
    expect(parseJson(await runCli(home, ['tag', 'plain', 'solo', '--json']))).toEqual({ session_id: 'plain', tags: ['solo'] });
    expect(parseJson(await runCli(home, ['tag', 'plain', '--clear', '--json']))).toEqual({ session_id: 'plain', tags: [] });

    // list: the TAGS column when a session has tags; --tag keeps the sessions carrying any of the tags.
    const table = await runCli(home, ['list'], { env: { COLUMNS: '200' } });
    expect(table.stdout.split('\n')[0]).toMatch(/\bTAGS\b/);
    expect(table.stdout).toMatch(/rev-a .*reviewers,nightly,extra/);
    expect(parseJson<{ id: string }[]>(await runCli(home, ['list', '--json', '--tag', 'reviewers'])).map((s) => s.id)).toEqual(['rev-a', 'rev-b']);
    expect(parseJson<{ id: string }[]>(await runCli(home, ['list', '--json', '--tag', 'nightly,nobody'])).map((s) => s.id)).toEqual(['rev-a']);
    expect((await runCli(home, ['list', '-q', '--tag', 'reviewers'])).stdout.trim().split('\n')).toEqual(['rev-a', 'rev-b']);
    // A tag no session carries: said as such (sessions run, so "no sessions (start one...)" would be untrue).
    expect((await runCli(home, ['list', '--tag', 'nobody,none'])).stdout.trim()).toBe('no session is tagged nobody or none');

    // Kept with the session: a daemon stop and start (the hosts live on) finds them as they were changed, not as spawned.
    expect((await runCli(home, ['daemon', 'stop'])).exitCode).toBe(0);
    const saved = JSON.parse(await fs.readFile(path.join(home, 'sessions.json'), 'utf8')) as { sessions: { id: string; tags?: string[] }[] };
    expect(saved.sessions.find((s) => s.id === 'rev-a')?.tags).toEqual(['reviewers', 'nightly', 'extra']);
    expect((await runCli(home, ['daemon', 'start'])).exitCode).toBe(0);
    await waitFor('the hosts to reconnect', async () => ((await listSessions(home)).every((s) => s.status === 'connected') ? true : null));
    expect(await tagsOf(home)).toEqual({ 'rev-a': ['reviewers', 'nightly', 'extra'], 'rev-b': ['reviewers'], plain: [] });
    // No table column when no session has a tag.
    await runCli(home, ['tag', 'rev-a', '--clear']);
    await runCli(home, ['tag', 'rev-b', '--clear']);
    expect((await runCli(home, ['list'], { env: { COLUMNS: '200' } })).stdout).not.toMatch(/\bTAGS\b/);
  });

  it('checks tags at the edge: charset, count, an unknown session, the API body', async () => {
    const home = homes.newHome();
    await spawnJson(home, ['--id', 'edge', '--', 'sleep', '300']);
    for (const args of [
      ['tag', 'edge', 'bad*tag'],
      ['tag', 'edge', '-'],
      ['tag', 'edge', '--nope'],
      ['tag', 'edge', ...Array.from({ length: 17 }, (_, i) => `t${i}`)],
      ['spawn', '--tag', 'has space', '--', 'sleep', '1'],
      ['spawn', '--tag', '.dot', '--', 'sleep', '1'],
      ['list', '--tag', 'a/b'],
    ]) {
      const r = await runCli(home, args);
      expect(r.exitCode, `${args.join(' ')}: ${r.stderr}`).toBe(2);
      expect(r.stderr).toMatch(/tag|option/);
    }
    // Nothing was changed by the refused edits.
    expect((await tagsOf(home)).edge).toEqual([]);
    const missing = await runCli(home, ['tag', 'nosuch', 'x']);
    expect(missing.exitCode).toBe(3);
    // The API refuses what the CLI would: a bad tag, an empty edit, a body that is not an edit.
    const port = await daemonPort(home);
    for (const body of [{ add: ['ok', 'no way'] }, {}, { add: 'reviewers' }, { clear: 'yes' }]) {
      const r = await requestApi(port, 'PATCH', '/api/sessions/edge/tags', body);
      expect(r.status, JSON.stringify(body)).toBe(400);
      expect(r.json).toMatchObject({ code: 'INVALID_FIELD' });
    }
    const bad = await requestApi(port, 'POST', '/api/sessions/spawn', { command: 'sleep', args: ['1'], tags: ['ok', 'x'.repeat(65)] });
    expect(bad.status).toBe(400);
    const ok = await requestApi(port, 'PATCH', '/api/sessions/edge/tags', { add: ['api', 'api'], remove: ['none'] });
    expect(ok).toMatchObject({ status: 200, json: { session_id: 'edge', tags: ['api'] } });
  });

  it("inject --tag and inject 'dev-*' type into every session of the group; kill --tag ends them; a group with no session is exit 3 and sends nothing", async () => {
    const home = homes.newHome();
    for (const [id, tags] of [
      ['dev-1', ['reviewers']],
      ['dev-2', []],
      ['ops-1', ['reviewers', 'ops']],
      ['ops-2', []],
    ] as const) {
      await spawnJson(home, ['--id', id, ...tags.flatMap((t) => ['--tag', t]), '--env', `FIXTURE_LOG=${path.join(home, `${id}.submitted`)}`, '--', process.execPath, LINE_READER]);
      await readUntil(home, id, 'line>');
    }
    const byTag = await runCli(home, ['inject', '--tag', 'reviewers', 'look at PR 12', '--json']);
    expect(byTag.exitCode, byTag.stderr).toBe(0);
    const answer = parseJson<{ results: { successful: { id: string }[]; failed: unknown[] } }>(byTag);
    expect(answer.results.successful.map((s) => s.id).sort()).toEqual(['dev-1', 'ops-1']);
    expect(answer.results.failed).toEqual([]);
    await submittedUntil(home, 'dev-1', 'look at PR 12');
    await submittedUntil(home, 'ops-1', 'look at PR 12');
    expect(await submitted(home, 'dev-2')).toEqual([]);
    expect(await submitted(home, 'ops-2')).toEqual([]);

    const byPattern = await runCli(home, ['inject', 'dev-?', 'rebase on main', '--json']);
    expect(byPattern.exitCode, byPattern.stderr).toBe(0);
    expect(parseJson<{ results: { successful: { id: string }[] } }>(byPattern).results.successful.map((s) => s.id).sort()).toEqual(['dev-1', 'dev-2']);
    await submittedUntil(home, 'dev-2', 'rebase on main');
    await submittedUntil(home, 'dev-1', 'rebase on main');
    expect(await submitted(home, 'ops-1')).toEqual(['look at PR 12']);

    // A tag or a pattern that matches nothing: not found (exit 3), nothing typed anywhere.
    const none = await runCli(home, ['inject', '--tag', 'nobody', 'never typed']);
    expect(none.exitCode).toBe(3);
    expect(none.stderr).toMatch(/no session is tagged "nobody"/);
    expect((await runCli(home, ['inject', 'zzz-*', 'never typed'])).exitCode).toBe(3);
    expect((await runCli(home, ['inject', '--tag', 'reviewers', '--all', 'x'])).exitCode).toBe(2);
    for (const id of ['dev-1', 'dev-2', 'ops-1', 'ops-2']) expect(await submitted(home, id)).not.toContain('never typed');

    // wait takes the group too (the line reader is waiting for input: any state answers at once or times out alike).
    const waited = await runCli(home, ['wait', '--tag', 'ops', '--until', 'any-change', '--timeout', '0.5', '--json']);
    expect(parseJson<{ session_id: string }>(waited).session_id).toBe('ops-1');
    expect((await runCli(home, ['wait', '--tag', 'nobody', '--until', 'idle'])).exitCode).toBe(3);

    const killed = await runCli(home, ['kill', '--tag', 'reviewers', '--json']);
    expect(killed.exitCode, killed.stderr).toBe(0);
    expect(parseJson<{ id: string }[]>(killed).map((k) => k.id).sort()).toEqual(['dev-1', 'ops-1']);
    expect((await listSessions(home)).map((s) => s.id).sort()).toEqual(['dev-2', 'ops-2']);
    expect((await runCli(home, ['kill', '--tag', 'reviewers'])).exitCode).toBe(3);
  });

  it('wrap --tag: the wrapped session carries its tags and takes an inject by tag', async () => {
    const home = homes.newHome();
    const d = new TerminalDriver(process.execPath, [BIN, 'wrap', '--quiet', '--id', 'wrapped', '--tag', 'mine', '--', process.execPath, LINE_READER], {
      env: { ...testEnv(home), FIXTURE_LOG: path.join(home, 'wrapped.submitted') },
    });
    drivers.push(d);
    await waitFor('the wrapped session to register', async () => ((await tagsOf(home)).wrapped ? true : null));
    expect((await tagsOf(home)).wrapped).toEqual(['mine']);
    const r = await runCli(home, ['inject', '--tag', 'mine', 'hello wrapped']);
    expect(r.exitCode, r.stderr).toBe(0);
    await submittedUntil(home, 'wrapped', 'hello wrapped');
    await d.waitForText('submitted #1');
  });
});
