import { readFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import type { InjectResponse } from '../../src/protocol/inject.js';
import type { SinceAnswer, StateAnswer } from '../../src/protocol/ops/state.js';
import { daemonPort, postApi, requestApi, subscribeBus } from '../helpers/api.js';
import { parseJson, runCli } from '../helpers/cli.js';
import { liveDaemon, useHomes } from '../helpers/daemon.js';
import { NOTHING_MORE_MS, ROOT, sleep, waitFor } from '../helpers/env.js';
import { spawnJson } from '../helpers/sessions.js';

/**
 * Issue 19, what an orchestrator does with agent state: a prompt held until the agent is idle, a dialog never
 * answered by a prompt, the hook's proof of submission, the answer to one prompt, and turn_complete.
 */
const homes = useHomes();
const FIXTURE = path.join(ROOT, 'test', 'fixtures', 'claude-state-like.mjs');

async function stateIs(home: string, id: string, want: string, source?: string): Promise<StateAnswer> {
  return waitFor(`${id} to be ${want}`, async () => {
    const s = parseJson<StateAnswer>(await runCli(home, ['state', id, '--json']));
    return s.state === want && (source === undefined || s.source === source) ? s : null;
  }, 20_000);
}

async function screen(home: string, id: string): Promise<string> {
  return (await runCli(home, ['read', id, '--scrollback'])).stdout;
}

describe('agent turns (issue 19)', () => {
  it('inject --when-idle is held until the turn ends, never typed mid-turn; withdrawn (exit 5) when not idle in time', async () => {
    const home = homes.newHome();
    const ends = path.join(home, 'ends.log');
    await spawnJson(home, ['--id', 'busy', '--no-hooks', '--env', 'FIXTURE_WORK_MS=2500', '--env', `FIXTURE_END_LOG=${ends}`, '--', 'node', FIXTURE]);
    await stateIs(home, 'busy', 'idle');
    expect((await runCli(home, ['inject', 'busy', 'first turn'])).exitCode).toBe(0);
    await stateIs(home, 'busy', 'working');
    // Not idle within 0.5 s: withdrawn, nothing typed, and never typed later.
    const early = await runCli(home, ['inject', 'busy', '--when-idle', '--timeout', '0.5', 'too early']);
    expect(early.exitCode).toBe(5);
    expect(early.stderr).toContain('[TIMEOUT]');
    expect(early.stderr).toContain('withdrawn');
    // Held until the turn ends: the fixture drops keys typed mid-turn, so only a prompt typed once idle is submitted.
    const held = await runCli(home, ['inject', 'busy', '--when-idle', '--timeout', '20', '--json', 'second turn']);
    expect(held.exitCode, held.stderr).toBe(0);
    const r = parseJson<InjectResponse>(held);
    expect(r.status).toBe('submitted');
    const firstEnd = Number(readFileSync(ends, 'utf8').split('\n')[0]);
    expect(Date.parse(r.written_at as string)).toBeGreaterThan(firstEnd);
    await stateIs(home, 'busy', 'idle');
    await waitFor('the second answer', async () => (await screen(home, 'busy')).includes('answer: second turn'), 20_000);
    await sleep(NOTHING_MORE_MS);
    expect(await screen(home, 'busy')).not.toContain('too early');
    // A bad `when` is refused.
    const bad = await postApi(await daemonPort(home), '/api/sessions/busy/inject', { prompt: 'x', when: 'later' });
    expect(bad.status).toBe(400);
    expect(bad.json).toMatchObject({ code: 'INVALID_FIELD' });
  });

  it('a prompt held for idle outlives the daemon holding it (kill -9): the next daemon holds it again and types it once the turn ends, once', async () => {
    const home = homes.newHome();
    await spawnJson(home, ['--id', 'long', '--no-hooks', '--env', 'FIXTURE_WORK_MS=4000', '--', 'node', FIXTURE]);
    await stateIs(home, 'long', 'idle');
    expect((await runCli(home, ['inject', 'long', 'first turn'])).exitCode).toBe(0);
    await stateIs(home, 'long', 'working');
    const held = await runCli(home, ['inject', 'long', '--when-idle', '--no-wait', '--timeout', '60', '--inject-id', 'held-1', 'after the crash']);
    expect(held.exitCode, held.stderr).toBe(0);
    // "queued" is answered once the prompt is on disk.
    expect(readFileSync(path.join(home, 'held-prompts.json'), 'utf8')).toContain('after the crash');
    process.kill((await liveDaemon(home))?.record.pid as number, 'SIGKILL');
    expect((await runCli(home, ['daemon', 'start'])).exitCode).toBe(0);
    await waitFor('the held prompt answered', async () => (await screen(home, 'long')).includes('answer: after the crash'), 30_000);
    // Its outcome, published by the daemon that typed it.
    const tail = await runCli(home, ['tail', '--since', '0', '--kind', 'submitted', '--count', '1', '--timeout', '10', '--json']);
    expect(JSON.parse(tail.stdout.trim().split('\n')[0] as string)).toMatchObject({ kind: 'submitted', inject_id: 'held-1', target_agent: 'long' });
    await sleep(NOTHING_MORE_MS);
    expect((await screen(home, 'long')).split('answer: after the crash').length - 1).toBe(1);
    // Handed on: no longer kept.
    await waitFor('held-prompts.json emptied', () => !readFileSync(path.join(home, 'held-prompts.json'), 'utf8').includes('after the crash'));
  });

  it('a session blocked on a dialog is never typed into (SESSION_BLOCKED, exit 5, its question in the message) unless --force; the auto-router says so too', async () => {
    const home = homes.newHome();
    await spawnJson(home, ['--id', 'dlg', '--no-hooks', '--', 'node', FIXTURE]);
    await stateIs(home, 'dlg', 'idle');
    expect((await runCli(home, ['inject', 'dlg', '--inject-id', 'd-1', 'open a dialog'])).exitCode).toBe(0);
    await stateIs(home, 'dlg', 'blocked');
    // A repeat of the prompt that opened the dialog answers its first outcome (it was typed), never SESSION_BLOCKED.
    const repeat = await runCli(home, ['inject', 'dlg', '--inject-id', 'd-1', '--json', 'open a dialog']);
    expect(repeat.exitCode, repeat.stderr).toBe(0);
    expect(parseJson<InjectResponse>(repeat)).toMatchObject({ inject_id: 'd-1', status: 'submitted' });
    const port = await daemonPort(home);
    const bus = subscribeBus(port, '?kind=inject_failed');
    await bus.open;

    const refused = await runCli(home, ['inject', 'dlg', 'yes please']);
    expect(refused.exitCode).toBe(5);
    expect(refused.stderr).toContain('[SESSION_BLOCKED]');
    expect(refused.stderr).toContain('Do you want to proceed?');
    const http = await postApi(port, '/api/sessions/dlg/inject', { prompt: 'yes please', wait: true });
    expect(http.status).toBe(409);
    expect(http.json).toMatchObject({ code: 'SESSION_BLOCKED' });
    await postApi(port, '/api/bus/publish', { kind: 'turn_request', target: 'dlg', payload: { turn_id: 'turn-b', prompt: 'routed' } });
    const failed = await waitFor('inject_failed for the routed turn', () => bus.events.find((e) => e.turn_id === 'turn-b'));
    expect(failed).toMatchObject({ kind: 'inject_failed', code: 'SESSION_BLOCKED', target_agent: 'dlg', delivered: false });
    bus.ws.close();
    await sleep(NOTHING_MORE_MS);
    expect(await screen(home, 'dlg')).not.toMatch(/yes please|routed/);

    // --force types anyway (here the text alone; the dialog takes only arrows and Enter).
    const forced = await runCli(home, ['inject', 'dlg', '--force', '--no-enter', '--json', 'typed anyway']);
    expect(forced.exitCode, forced.stderr).toBe(0);
    expect(parseJson<InjectResponse>(forced).status).toBe('written');
  });

  it('confirmed_by: "hook" when the UserPromptSubmit hook reported the text, "screen" without hooks; in the answer and the submitted event', async () => {
    const home = homes.newHome();
    await spawnJson(home, ['--id', 'hooked', '--', 'node', FIXTURE]);
    await spawnJson(home, ['--id', 'plain', '--no-hooks', '--', 'node', FIXTURE]);
    await stateIs(home, 'hooked', 'idle');
    await stateIs(home, 'plain', 'idle');
    const bus = subscribeBus(await daemonPort(home), '?kind=submitted');
    await bus.open;
    const hooked = await runCli(home, ['inject', 'hooked', '--inject-id', 'h-1', '--json', 'proved by the hook']);
    expect(hooked.exitCode, hooked.stderr).toBe(0);
    expect(parseJson<InjectResponse>(hooked)).toMatchObject({ status: 'submitted', confirmed_by: 'hook' });
    const plain = await runCli(home, ['inject', 'plain', '--inject-id', 'p-1', '--json', 'seen on the screen']);
    expect(parseJson<InjectResponse>(plain)).toMatchObject({ status: 'submitted', confirmed_by: 'screen' });
    const events = await waitFor('both submitted events', () => {
      const h = bus.events.find((e) => e.inject_id === 'h-1');
      const p = bus.events.find((e) => e.inject_id === 'p-1');
      return h && p ? { h, p } : null;
    });
    expect(events.h).toMatchObject({ confirmed_by: 'hook', target_agent: 'hooked' });
    expect(events.p).toMatchObject({ confirmed_by: 'screen', target_agent: 'plain' });
    bus.ws.close();
  });

  it('after rename, the hooks still report: the daemon finds the session by its host instance', async () => {
    const home = homes.newHome();
    await spawnJson(home, ['--id', 'old-name', '--', 'node', FIXTURE]);
    await stateIs(home, 'old-name', 'idle');
    expect((await runCli(home, ['rename', 'old-name', 'new-name'])).exitCode).toBe(0);
    const r = await runCli(home, ['inject', 'new-name', '--json', 'after the rename']);
    expect(parseJson<InjectResponse>(r)).toMatchObject({ session_id: 'new-name', status: 'submitted', confirmed_by: 'hook' });
    const s = await waitFor('the Stop hook of the renamed session', async () => {
      const st = parseJson<StateAnswer>(await runCli(home, ['state', 'new-name', '--json']));
      return st.state === 'idle' && st.reason === 'hook Stop' ? st : null;
    }, 20_000);
    expect(s.source).toBe('hook');
  });

  it('read --since INJECT_ID: what the session showed after that prompt was submitted', async () => {
    const home = homes.newHome();
    await spawnJson(home, ['--id', 'qa', '--no-hooks', '--', 'node', FIXTURE]);
    await stateIs(home, 'qa', 'idle');
    expect((await runCli(home, ['inject', 'qa', '--inject-id', 'q-1', 'the first question'])).exitCode).toBe(0);
    await waitFor('the first answer', async () => (await screen(home, 'qa')).includes('answer: the first question'));
    await stateIs(home, 'qa', 'idle');
    expect((await runCli(home, ['inject', 'qa', '--inject-id', 'q-2', 'the second question'])).exitCode).toBe(0);
    await waitFor('the second answer', async () => (await screen(home, 'qa')).includes('answer: the second question'));

    const second = await runCli(home, ['read', 'qa', '--since', 'q-2']);
    expect(second.exitCode).toBe(0);
    expect(second.stdout).toContain('answer: the second question');
    expect(second.stdout).not.toContain('the first question');
    expect(second.stdout).not.toContain('claude-state-like ready');
    const first = parseJson<SinceAnswer>(await runCli(home, ['read', 'qa', '--since', 'q-1', '--json']));
    expect(first).toMatchObject({ session_id: 'qa', inject_id: 'q-1', truncated: false, lost: false });
    const text = first.lines.join('\n');
    expect(text).toContain('answer: the first question');
    expect(text).toContain('answer: the second question');
    expect(text).not.toContain('claude-state-like ready');
    expect(first.lines[0]).not.toContain('prompt 18 chars');

    const api = await requestApi(await daemonPort(home), 'GET', '/api/sessions/qa/answer?since=q-2');
    expect(api.status).toBe(200);
    expect(api.json).toMatchObject({ session_id: 'qa', inject_id: 'q-2' });
    expect((await runCli(home, ['read', 'qa', '--since', 'never-sent'])).exitCode).toBe(3);
    expect((await requestApi(await daemonPort(home), 'GET', '/api/sessions/qa/answer?since=%20bad')).status).toBe(400);
  });

  it('turn_complete after a routed turn_request: turn_id, target, final state, duration and the answer', async () => {
    const home = homes.newHome();
    await spawnJson(home, ['--id', 'worker', '--no-hooks', '--env', 'FIXTURE_WORK_MS=800', '--', 'node', FIXTURE]);
    await stateIs(home, 'worker', 'idle');
    const port = await daemonPort(home);
    const bus = subscribeBus(port, '?kind=turn_complete');
    await bus.open;
    await postApi(port, '/api/bus/publish', { kind: 'turn_request', target: 'worker', source: 'orch', payload: { turn_id: 'turn-7', prompt: 'route me' } });
    const done = await waitFor('turn_complete', () => bus.events.find((e) => e.turn_id === 'turn-7'), 20_000);
    expect(done).toMatchObject({ kind: 'turn_complete', target: 'worker', session_id: 'worker', state: 'idle', timed_out: false });
    expect(done.duration_ms as number).toBeGreaterThanOrEqual(700);
    expect(done.answer as string).toContain('answer: route me');
    expect(typeof done.inject_id).toBe('string');

    // A turn that ends on a dialog completes as blocked, with the question.
    await postApi(port, '/api/bus/publish', { kind: 'turn_request', target: 'worker', payload: { turn_id: 'turn-8', prompt: 'a dialog please' } });
    const blocked = await waitFor('turn_complete blocked', () => bus.events.find((e) => e.turn_id === 'turn-8'), 20_000);
    expect(blocked).toMatchObject({ state: 'blocked', detail: 'Do you want to proceed?' });
    bus.ws.close();
  });
});
