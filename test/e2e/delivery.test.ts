import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import type { BusEvent } from '../../src/protocol/bus.js';
import type { InjectResponse } from '../../src/protocol/inject.js';
import { postApi, subscribeBus, type ApiAnswer, type BusWatch } from '../helpers/api.js';
import { parseJson, runCli, spawnCli } from '../helpers/cli.js';
import { hostsOf, liveDaemon, useHomes } from '../helpers/daemon.js';
import { BIN, NOTHING_MORE_MS, sleep, testEnv, waitFor } from '../helpers/env.js';
import { FIXTURES, fixtureSession, readSubmissions } from '../helpers/fixtures.js';
import { TerminalDriver } from '../helpers/terminal.js';

/**
 * Exactly-once delivery through a daemon crash: every prompt is typed once, every answer says what really
 * happened, and every accepted inject ends in exactly one outcome event.
 */
const homes = useHomes();
const drivers: TerminalDriver[] = [];
const watches: BusWatch[] = [];
afterEach(() => {
  for (const d of drivers.splice(0)) d.dispose();
  for (const w of watches.splice(0)) w.ws.terminate();
});

/** Injects per crash test: half through the CLI, half over HTTP. */
const BURST = 100;
/** The daemon is killed once this many prompts have arrived: in the middle of the burst. */
const KILL_AFTER = 15;
const OUTCOME_KINDS = new Set(['submitted', 'entered', 'written', 'inject_failed']);
/** A careful HTTP caller's pause between tries while no daemon (or not yet the session's host) is back. */
const RETRY_MS = 100;
/** A second outcome of one inject would be sent again by its host within a reconnect: watched this long for none. */
const LATE_DUPLICATE_WINDOW_MS = 500;

/** A line reader that logs each line it takes; the texts it took, in order. */
async function lineReader(home: string, id: string): Promise<() => Promise<string[]>> {
  const { submissions } = await fixtureSession(home, id, 'line-reader.mjs');
  return async () => (await submissions()).map((x) => x.text);
}

/**
 * What a careful HTTP caller does: sends with its own inject_id and, when the connection drops or the daemon or
 * session is not back yet, sends the same request again (same id) to whichever daemon serves the home now.
 */
async function httpInject(home: string, session: string, body: Record<string, unknown>): Promise<ApiAnswer> {
  const deadline = Date.now() + 40_000;
  for (;;) {
    const live = await liveDaemon(home);
    if (live) {
      const answer = await postApi(live.record.port, `/api/sessions/${session}/inject`, body).catch(() => null);
      const notBack = answer?.status === 503 && answer.json.code === 'SESSION_DISCONNECTED';
      if (answer && !notBack) return answer;
    }
    if (Date.now() > deadline) throw new Error(`inject ${String(body.inject_id)} found no daemon to take it`);
    await sleep(RETRY_MS);
  }
}

function countBy(items: string[]): Map<string, number> {
  const m = new Map<string, number>();
  for (const i of items) m.set(i, (m.get(i) ?? 0) + 1);
  return m;
}

/** Kill -9 the daemon once `arrived` prompts were typed, and start the next one (the CLI callers may start it too). */
async function crashMidway(home: string, typed: () => Promise<string[]>, onKilled?: () => void): Promise<void> {
  await waitFor('the burst to be under way', async () => (await typed()).length >= KILL_AFTER, 30_000, 5);
  const live = await liveDaemon(home);
  process.kill(live?.record.pid as number, 'SIGKILL');
  onKilled?.();
  await runCli(home, ['daemon', 'start']);
}

/**
 * The CLI callers' answers, each prompt's: refused by a new daemon before the session's host was back (exit 4
 * SESSION_DISCONNECTED, nothing typed: not accepted), or else an exit 0 answer (asserted here).
 */
function cliAnswers(results: { exitCode?: number; stdout: unknown; stderr: unknown }[], prompts: string[]): { refused: Set<string>; answers: InjectResponse[] } {
  const refused = new Set<string>();
  const answers: InjectResponse[] = [];
  results.forEach((r, i) => {
    const p = prompts[i] as string;
    if (r.exitCode === 4 && String(r.stderr).includes('SESSION_DISCONNECTED')) {
      refused.add(p);
      return;
    }
    expect(r.exitCode, `${p}: ${String(r.stderr)}`).toBe(0);
    answers.push(JSON.parse(String(r.stdout)) as InjectResponse);
  });
  return { refused, answers };
}

describe('exactly once through a daemon crash', () => {
  it(`kill -9 in the middle of ${BURST} concurrent waiting injects (CLI --wait and HTTP): each prompt typed once, each answer true`, { timeout: 90_000 }, async () => {
    const home = homes.newHome();
    const typed = await lineReader(home, 'lr');
    const prompts = Array.from({ length: BURST }, (_, i) => `prompt-${String(i).padStart(3, '0')}`);
    const cli = prompts.slice(0, BURST / 2).map((p) => spawnCli(home, ['inject', 'lr', p, '--json', '--timeout', '60'], { timeout: 80_000 }));
    const http = prompts.slice(BURST / 2).map((p) => httpInject(home, 'lr', { prompt: p, inject_id: `id-${p}`, wait: true, timeout_ms: 60_000 }));
    await crashMidway(home, typed);
    const cliResults = await Promise.all(cli);
    const httpResults = await Promise.all(http);

    // A CLI that first reached the new daemon before the session's host had reconnected was refused
    // (SESSION_DISCONNECTED, exit 4, nothing typed): that prompt must not arrive. Every other one arrives once.
    const arrived = countBy(await typed());
    const { refused, answers } = cliAnswers(cliResults, prompts);
    for (const a of answers) expect(['submitted', 'entered']).toContain(a.status);
    for (const p of prompts) expect(arrived.get(p) ?? 0, `${p} arrived`).toBe(refused.has(p) ? 0 : 1);
    expect(refused.size).toBeLessThan(BURST / 4);
    httpResults.forEach((r, i) => {
      expect(r.status, `${prompts[BURST / 2 + i]}: ${JSON.stringify(r.json)}`).toBe(200);
      expect(['submitted', 'entered']).toContain(r.json.status);
    });
  });

  it(`kill -9 in the middle of ${BURST} --no-wait injects: exactly one outcome event per accepted inject`, { timeout: 90_000 }, async () => {
    const home = homes.newHome();
    const typed = await lineReader(home, 'lr');
    const first = await liveDaemon(home);
    const before = subscribeBus(first?.record.port as number, '');
    watches.push(before);
    await before.open;
    const prompts = Array.from({ length: BURST }, (_, i) => `nowait-${String(i).padStart(3, '0')}`);
    const cli = prompts.slice(0, BURST / 2).map((p) => spawnCli(home, ['inject', 'lr', p, '--no-wait', '--json', '--inject-id', `id-${p}`], { timeout: 80_000 }));
    const http = prompts.slice(BURST / 2).map((p) => httpInject(home, 'lr', { prompt: p, inject_id: `id-${p}`, wait: false }));
    let killedAt = 0;
    await crashMidway(home, typed, () => (killedAt = Date.now()));
    const second = await liveDaemon(home);
    const after = subscribeBus(second?.record.port as number, '?since=0');
    watches.push(after);
    const cliResults = await Promise.all(cli);
    const httpResults = await Promise.all(http);
    const { refused, answers } = cliAnswers(cliResults, prompts);
    const accepted = new Set(answers.map((a) => a.inject_id));
    httpResults.forEach((r) => {
      expect(r.status, JSON.stringify(r.json)).toBe(200);
      accepted.add(r.json.inject_id as string);
    });
    expect(accepted.size + refused.size).toBe(BURST);
    expect(refused.size).toBeLessThan(BURST / 4);
    // Every accepted prompt is typed once; then every accepted inject has had its outcome published (by either daemon).
    await waitFor('every prompt to arrive', async () => ((await typed()).length >= accepted.size ? true : null), 30_000);
    const outcomes = (): BusEvent[] => [...before.events, ...after.events].filter((e) => OUTCOME_KINDS.has(e.kind) && e.inject_id !== null);
    await waitFor('an outcome for every inject', () => new Set(outcomes().map((e) => e.inject_id)).size >= accepted.size || null, 20_000);
    // Late duplicates would come within a reconnect: give them the time to show.
    await sleep(LATE_DUPLICATE_WINDOW_MS);
    const perId = countBy(outcomes().map((e) => String(e.inject_id)));
    for (const id of accepted) expect(perId.get(id) ?? 0, `outcome events of ${id}`).toBe(1);
    expect(killedAt).toBeGreaterThan(0);
    const arrived = countBy(await typed());
    for (const p of prompts) expect(arrived.get(p) ?? 0, `${p} arrived`).toBe(refused.has(p) ? 0 : 1);
    expect(outcomes().length).toBe(accepted.size);
  });
});

describe('a repeated inject_id is never typed again', () => {
  it('over HTTP (body or Idempotency-Key) and through the CLI (--inject-id): the repeat answers the first outcome', async () => {
    const home = homes.newHome();
    const typed = await lineReader(home, 'lr');
    const port = (await liveDaemon(home))?.record.port as number;
    const a = await postApi(port, '/api/sessions/lr/inject', { prompt: 'only once A', inject_id: 'same-a', wait: true });
    expect(a.json).toMatchObject({ inject_id: 'same-a', status: 'submitted' });
    const again = await postApi(port, '/api/sessions/lr/inject', { prompt: 'only once A', inject_id: 'same-a', wait: true });
    expect(again.json).toMatchObject({ inject_id: 'same-a', status: 'submitted', written_at: a.json.written_at });

    const viaHeader = (): Promise<Response> =>
      fetch(`http://127.0.0.1:${port}/api/sessions/lr/inject`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', 'idempotency-key': 'same-h' },
        body: JSON.stringify({ prompt: 'only once H', wait: true }),
      });
    expect(await (await viaHeader()).json()).toMatchObject({ inject_id: 'same-h', status: 'submitted' });
    expect(await (await viaHeader()).json()).toMatchObject({ inject_id: 'same-h', status: 'submitted' });

    const c1 = await runCli(home, ['inject', 'lr', 'only once C', '--inject-id', 'same-c', '--json']);
    const c2 = await runCli(home, ['inject', 'lr', 'only once C', '--inject-id', 'same-c', '--json']);
    expect(c1.exitCode, c1.stderr).toBe(0);
    expect(c2.exitCode, c2.stderr).toBe(0);
    expect(parseJson(c2)).toMatchObject({ inject_id: 'same-c', status: parseJson(c1).status });

    // A repeat sent while the first is still queued joins it.
    const [q1, q2] = await Promise.all([
      postApi(port, '/api/sessions/lr/inject', { prompt: 'only once Q', inject_id: 'same-q', wait: true }),
      postApi(port, '/api/sessions/lr/inject', { prompt: 'only once Q', inject_id: 'same-q', wait: true }),
    ]);
    expect(q1.json.status).toBe('submitted');
    expect(q2.json.status).toBe('submitted');

    await waitFor('the four prompts typed', async () => (await typed()).length >= 4);
    await sleep(NOTHING_MORE_MS); // a repeat typed again would show by now
    expect(await typed()).toEqual(['only once A', 'only once H', 'only once C', 'only once Q']);
    const bad = await postApi(port, '/api/sessions/lr/inject', { prompt: 'x', inject_id: 'no spaces allowed' });
    expect(bad.status).toBe(400);
    expect(bad.json).toMatchObject({ code: 'INVALID_FIELD' });
  });
});

/** How long an inject is given to reach a wrapped session's host before the person sends their draft. */
const HELD_INJECT_ARRIVES_MS = 700;

describe('a person\'s draft is never merged with a prompt', () => {
  it('holds an inject while a wrapped session has a half-typed line, types it once the line is sent; --force types anyway', { timeout: 60_000 }, async () => {
    const home = homes.newHome();
    const log = path.join(home, 'w.submissions');
    const d = new TerminalDriver(process.execPath, [BIN, 'wrap', '--quiet', '--id', 'drafty', '--', process.execPath, path.join(FIXTURES, 'line-reader.mjs')], {
      env: { ...testEnv(home), FIXTURE_LOG: log, TELEPTY_TYPING_DEFER_MAX_MS: '1500' },
    });
    drivers.push(d);
    await d.waitForText('line ready');
    const submissions = async (): Promise<string[]> => (await readSubmissions(log)).map((x) => x.text);

    // A draft left alone: the inject gives up, nothing typed, and says why.
    d.write('bbbb');
    const busy = await runCli(home, ['inject', 'drafty', 'echo hi', '--json']);
    expect(busy.exitCode).toBe(5);
    expect(parseJson(busy)).toMatchObject({ code: 'SESSION_BUSY' });
    expect(String(parseJson(busy).error)).toMatch(/half-typed line/);
    expect(await d.screenText()).not.toContain('echo hi');

    // The person sends their line while the inject waits: theirs first, then the prompt, never one line.
    const held = runCli(home, ['inject', 'drafty', 'echo hi', '--json']);
    // No event says the job has reached the host and waits on the draft: this margin lets it get there, and is well
    // inside the 1.5 s the host waits (TELEPTY_TYPING_DEFER_MAX_MS above) before it gives up.
    await sleep(HELD_INJECT_ARRIVES_MS);
    d.write('\r');
    const r = await held;
    expect(r.exitCode, r.stderr).toBe(0);
    await waitFor('both lines', async () => ((await submissions()).length >= 2 ? true : null));
    expect(await submissions()).toEqual(['bbbb', 'echo hi']);

    // --force types over a draft (the person asked for it).
    d.write('cc');
    const forced = await runCli(home, ['inject', 'drafty', 'forced', '--force', '--json']);
    expect(forced.exitCode, forced.stderr).toBe(0);
    await waitFor('the forced line', async () => ((await submissions()).length >= 3 ? true : null));
    expect((await submissions())[2]).toBe('ccforced');
  });
});

describe('a timeout says which it is', () => {
  it('job "pending" (exit 7: it is being typed, its outcome comes on the bus) and job "withdrawn" (exit 5: never typed)', { timeout: 60_000 }, async () => {
    const home = homes.newHome();
    // A program that never echoes nor reacts: a job there runs its whole 2 s watch for a reaction to the Enter.
    const r0 = await runCli(home, ['spawn', '--id', 'mute', '--', 'sh', '-c', 'stty -echo; echo mute-ready; exec sleep 600']);
    expect(r0.exitCode, r0.stderr).toBe(0);
    await waitFor('mute to be ready', async () => (await runCli(home, ['read', 'mute'])).stdout.includes('mute-ready'));
    const port = (await liveDaemon(home))?.record.port as number;
    const bus = subscribeBus(port, '?kind=entered');
    const written = subscribeBus(port, '?kind=inject_written');
    watches.push(bus, written);
    await Promise.all([bus.open, written.open]);
    // The second inject is sent once the first job runs (its text is written), so it is the one still queued.
    const [running, queued] = await Promise.all([
      runCli(home, ['inject', 'mute', 'first', '--timeout', '0.5', '--inject-id', 'first-job', '--json']),
      waitFor('the first job to be written', () => written.events.some((e) => e.inject_id === 'first-job'), 10_000).then(() =>
        runCli(home, ['inject', 'mute', 'second', '--timeout', '0.5', '--inject-id', 'second-job', '--json']),
      ),
    ]);
    expect(running.exitCode, running.stderr).toBe(7);
    expect(parseJson(running)).toMatchObject({ code: 'TIMEOUT', job: 'pending', inject_id: 'first-job' });
    expect(running.stderr).toMatch(/may still be typed/);
    expect(queued.exitCode, queued.stderr).toBe(5);
    expect(parseJson(queued)).toMatchObject({ code: 'TIMEOUT', job: 'withdrawn', inject_id: 'second-job' });
    expect(queued.stderr).toMatch(/nothing was typed/);
    const entered = await waitFor('the pending job\'s outcome on the bus', () => bus.events.find((e) => e.inject_id === 'first-job'), 10_000);
    expect(entered.kind).toBe('entered');
    const answer = await fetch(`http://127.0.0.1:${port}/api/sessions/mute/inject`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ prompt: 'third', wait: true, timeout_ms: 300, inject_id: 'third-job' }),
    });
    expect(answer.status).toBe(504);
    expect(await answer.json()).toMatchObject({ code: 'TIMEOUT', job: 'pending', inject_id: 'third-job' });
  });
});

/** How long a repeated spawn request is given to reach the new daemon before the held host comes back. */
const REPEAT_ARRIVES_MS = 300;

describe('spawn with a request id', () => {
  it('answers a repeat with the session the first made, and makes no second one', async () => {
    const home = homes.newHome();
    await runCli(home, ['daemon', 'start']);
    const port = (await liveDaemon(home))?.record.port as number;
    const body = { command: 'sleep', args: ['600'], request_id: 'spawn-once' };
    const [a, b] = await Promise.all([postApi(port, '/api/sessions/spawn', body), postApi(port, '/api/sessions/spawn', body)]);
    const c = await postApi(port, '/api/sessions/spawn', body);
    expect(a.status).toBe(201);
    expect(b.json.session_id).toBe(a.json.session_id);
    expect(c.json.session_id).toBe(a.json.session_id);
    const list = parseJson<{ id: string }[]>(await runCli(home, ['list', '--json']));
    expect(list.map((s) => s.id)).toEqual([a.json.session_id]);
  });

  it('after a daemon crash, a repeat (x-telepty-repeat) answers the session the first try made, once its host is back', async () => {
    const home = homes.newHome();
    await runCli(home, ['daemon', 'start']);
    const first = await liveDaemon(home);
    const body = { command: 'sleep', args: ['600'], request_id: 'spawn-crash' };
    const a = await postApi(first?.record.port as number, '/api/sessions/spawn', body);
    expect(a.status).toBe(201);
    // The host is held still while the daemon is replaced, so it is not back yet when the repeat arrives.
    const [hostPid] = await hostsOf(home);
    process.kill(hostPid as number, 'SIGSTOP');
    try {
      process.kill(first?.record.pid as number, 'SIGKILL');
      await runCli(home, ['daemon', 'start']);
      const port = (await liveDaemon(home))?.record.port as number;
      const pending = fetch(`http://127.0.0.1:${port}/api/sessions/spawn`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', 'x-telepty-repeat': '1' },
        body: JSON.stringify(body),
      });
      // No event says the repeat has reached the daemon (it waits for the host, silently): a margin for it to get there.
      await sleep(REPEAT_ARRIVES_MS);
      process.kill(hostPid as number, 'SIGCONT');
      const repeat = await pending;
      expect(repeat.status).toBe(201);
      expect(await repeat.json()).toMatchObject({ session_id: a.json.session_id });
    } finally {
      process.kill(hostPid as number, 'SIGCONT');
    }
    const list = parseJson<{ id: string }[]>(await runCli(home, ['list', '--json']));
    expect(list.map((s) => s.id)).toEqual([a.json.session_id]);
  });
});
