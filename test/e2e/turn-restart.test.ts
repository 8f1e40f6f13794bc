import { existsSync, mkdtempSync, readFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import type { BusEvent } from '../../src/protocol/bus.js';
import type { StateAnswer } from '../../src/protocol/ops/state.js';
import { daemonPort, postApi, subscribeBus } from '../helpers/api.js';
import { parseJson, runCli } from '../helpers/cli.js';
import { liveDaemon, useHomes } from '../helpers/daemon.js';
import { NOTHING_MORE_MS, ROOT, sleep, waitFor } from '../helpers/env.js';
import { spawnJson } from '../helpers/sessions.js';
import { isProcessAlive } from '../../src/util/process.js';

/**
 * A routed turn outlives the daemon following it (kill -9): the next daemon follows it on from turn-follows.json and
 * publishes its turn_complete once, with the turn's own state, duration and answer.
 */
const homes = useHomes();
const FIXTURE = path.join(ROOT, 'test', 'fixtures', 'claude-state-like.mjs');
/** How long no daemon runs after a turn ended: well past the host's idle judgment (75 ms + 200 ms settle) under load. */
const DOWNTIME_MS = 2_000;

interface FollowedOnDisk {
  inject_id: string;
  turn_id: string | null;
  submitted_at: number | null;
  published: boolean;
}

function followsOnDisk(home: string): FollowedOnDisk[] {
  const file = path.join(home, 'turn-follows.json');
  if (!existsSync(file)) return [];
  return (JSON.parse(readFileSync(file, 'utf8')) as { records: FollowedOnDisk[] }).records;
}

async function stateIs(home: string, id: string, want: string): Promise<StateAnswer> {
  return waitFor(`${id} to be ${want}`, async () => {
    const s = parseJson<StateAnswer>(await runCli(home, ['state', id, '--json']));
    return s.state === want ? s : null;
  }, 20_000);
}

/** Publishes a turn_request and waits until its prompt is submitted and the daemon has that on disk. */
async function routedAndSubmitted(home: string, target: string, turnId: string, prompt: string): Promise<{ injectId: string; submittedAt: number }> {
  const port = await daemonPort(home);
  const bus = subscribeBus(port, '?kind=submitted');
  await bus.open;
  await postApi(port, '/api/bus/publish', { kind: 'turn_request', target, source: 'orch', payload: { turn_id: turnId, prompt } });
  const submitted = await waitFor(`${turnId} submitted`, () => bus.events.find((e) => e.turn_id === turnId), 20_000);
  bus.ws.close();
  const injectId = submitted.inject_id as string;
  const kept = await waitFor(`${turnId} on disk with its submission`, () => followsOnDisk(home).find((t) => t.inject_id === injectId && t.submitted_at !== null));
  expect(kept).toMatchObject({ turn_id: turnId, published: false });
  return { injectId, submittedAt: kept.submitted_at as number };
}

function gone(pid: number, what: string): Promise<true> {
  return waitFor(`${what} gone`, async () => !(await isProcessAlive(pid)));
}

async function killDaemon(home: string): Promise<void> {
  const pid = (await liveDaemon(home))?.record.pid as number;
  process.kill(pid, 'SIGKILL');
  await gone(pid, 'the daemon');
}

/** A new daemon, and the turn_complete events it publishes from its start (`--since 0`: none is missed). */
async function restarted(home: string): Promise<{ events: BusEvent[]; close(): void }> {
  expect((await runCli(home, ['daemon', 'start'])).exitCode).toBe(0);
  const bus = subscribeBus(await daemonPort(home), '?kind=turn_complete&since=0');
  await bus.open;
  return { events: bus.events, close: () => bus.ws.close() };
}

describe('routed turns across a daemon restart', () => {
  it('kill -9 mid-turn: the next daemon publishes its turn_complete once the turn ends, once, with its turn_id, inject_id, state and answer', async () => {
    const home = homes.newHome();
    await spawnJson(home, ['--id', 'worker', '--no-hooks', '--env', 'FIXTURE_WORK_MS=4000', '--', 'node', FIXTURE]);
    await stateIs(home, 'worker', 'idle');
    const { injectId } = await routedAndSubmitted(home, 'worker', 'turn-r1', 'survive the crash');
    await killDaemon(home);
    const bus = await restarted(home);
    const done = await waitFor('turn_complete from the next daemon', () => bus.events.find((e) => e.turn_id === 'turn-r1'), 30_000);
    expect(done).toMatchObject({ kind: 'turn_complete', target: 'worker', session_id: 'worker', inject_id: injectId, state: 'idle', timed_out: false });
    expect(done.duration_ms as number).toBeGreaterThanOrEqual(3_900);
    expect(done.answer as string).toContain('answer: survive the crash');
    await sleep(NOTHING_MORE_MS);
    expect(bus.events.filter((e) => e.turn_id === 'turn-r1')).toHaveLength(1);
    bus.close();
    // Typed once (the next daemon never typed it again), and no longer kept.
    expect((await runCli(home, ['read', 'worker', '--scrollback'])).stdout.split('answer: survive the crash').length - 1).toBe(1);
    await waitFor('turn-follows.json emptied', () => followsOnDisk(home).length === 0);
  });

  it('a turn that ended while no daemon ran completes at the next start, with the duration it had, not the downtime; an exited session completes as exited', async () => {
    const home = homes.newHome();
    const ends = path.join(mkdtempSync(path.join(os.tmpdir(), 'telepty-ends-')), 'ends.log');
    await spawnJson(home, ['--id', 'quick', '--no-hooks', '--env', 'FIXTURE_WORK_MS=1200', '--env', `FIXTURE_END_LOG=${ends}`, '--', 'node', FIXTURE]);
    const doomedSession = await spawnJson(home, ['--id', 'doomed', '--no-hooks', '--env', 'FIXTURE_WORK_MS=60000', '--', 'node', FIXTURE]);
    await stateIs(home, 'quick', 'idle');
    await stateIs(home, 'doomed', 'idle');
    const quick = await routedAndSubmitted(home, 'quick', 'turn-q', 'done while away');
    const doomed = await routedAndSubmitted(home, 'doomed', 'turn-d', 'never finished');
    await killDaemon(home);
    // While no daemon runs: one turn ends, the other session's program dies.
    await waitFor('the quick turn ended', () => existsSync(ends) && readFileSync(ends, 'utf8').trim().length > 0, 20_000);
    const ended = Number(readFileSync(ends, 'utf8').trim().split('\n')[0]);
    process.kill(doomedSession.pid as number, 'SIGKILL');
    await gone(doomedSession.pid as number, 'the doomed program');
    // The daemon stays down a while after the turn ended: that time must not count in the turn's duration.
    await sleep(DOWNTIME_MS);
    const restartedAt = Date.now();
    const bus = await restarted(home);
    const q = await waitFor('turn_complete of the quick turn', () => bus.events.find((e) => e.turn_id === 'turn-q'), 30_000);
    expect(q).toMatchObject({ inject_id: quick.injectId, state: 'idle', timed_out: false, session_id: 'quick' });
    expect(q.answer as string).toContain('answer: done while away');
    // The turn's own length (the fixture's 1.2 s), not the time until the next daemon came.
    expect(q.duration_ms as number).toBeGreaterThanOrEqual(1_100);
    expect(q.duration_ms as number).toBeLessThan(restartedAt - quick.submittedAt);
    expect(Math.abs((q.duration_ms as number) - (ended - quick.submittedAt))).toBeLessThan(1_000);
    const d = await waitFor('turn_complete of the exited session', () => bus.events.find((e) => e.turn_id === 'turn-d'), 30_000);
    expect(d).toMatchObject({ inject_id: doomed.injectId, state: 'exited', session_id: 'doomed', timed_out: false });
    await sleep(NOTHING_MORE_MS);
    expect(bus.events.filter((e) => e.turn_id === 'turn-q')).toHaveLength(1);
    expect(bus.events.filter((e) => e.turn_id === 'turn-d')).toHaveLength(1);
    bus.close();
    await waitFor('turn-follows.json emptied', () => followsOnDisk(home).length === 0);
  });
});
