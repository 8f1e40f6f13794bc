import { promises as fs } from 'node:fs';
import http from 'node:http';
import path from 'node:path';
import WebSocket from 'ws';
import { describe, expect, it } from 'vitest';
import type { BusEvent, PublishAck } from '../../src/protocol/bus.js';
import { parseJson, runCli, spawnCli, stdoutLines } from '../helpers/cli.js';
import { daemonPort, postApi, subscribeBus } from '../helpers/api.js';
import { liveDaemon, useHomes } from '../helpers/daemon.js';
import { NOTHING_MORE_MS, sleep, waitFor } from '../helpers/env.js';
import { fixtureSession } from '../helpers/fixtures.js';

const homes = useHomes();

/** The seed's canonical turn_request (BUS_EVENT_SCHEMA), every field. */
function seedTurnRequest(target: string, turnId: string, prompt: string): Record<string, unknown> {
  return {
    message_id: `turn_request-${turnId}`,
    session_id: 'delib-42',
    project: 'aigentry-devkit',
    kind: 'turn_request',
    source: 'deliberation:delib-42',
    target,
    reply_to: 'delib-42',
    trace: ['project:aigentry-devkit', `speaker:${target}`, `turn:${turnId}`],
    payload: {
      turn_id: turnId,
      round: 1,
      max_rounds: 3,
      speaker: target,
      role: null,
      prompt,
      prompt_sha1: 'a'.repeat(40),
      history_entries: 0,
      transport_timeout_ms: 30_000,
      semantic_timeout_ms: 120_000,
    },
    ts: new Date().toISOString(),
  };
}

/**
 * A spawned `sleep` whose host is SIGSTOPped, in a daemon with short heartbeats (the host's own stays at its
 * default), once the bus (subscribed with `query`) has said session_disconnect. The caller SIGCONTs `s.host_pid`.
 */
async function frozenSession(id: string, query: string): Promise<{ p: number; watch: ReturnType<typeof subscribeBus>; s: { host_pid: number } }> {
  const home = homes.newHome();
  await runCli(home, ['daemon', 'start'], { env: { TELEPTY_LINK_HEARTBEAT_MS: '200' } });
  const p = await daemonPort(home);
  const watch = subscribeBus(p, query);
  await watch.open;
  const s = parseJson<{ host_pid: number }>(await runCli(home, ['spawn', '--id', id, '--json', '--', 'sleep', '60']));
  process.kill(s.host_pid, 'SIGSTOP');
  try {
    await waitFor('session_disconnect', () => watch.events.find((e) => e.kind === 'session_disconnect'), 10_000);
  } catch (err) {
    process.kill(s.host_pid, 'SIGCONT');
    throw err;
  }
  return { p, watch, s };
}

/** A claude-like session whose submitted prompts are read as their texts, in order. */
async function agentSession(home: string, id: string): Promise<{ submissions: () => Promise<string[]> }> {
  const agent = await fixtureSession(home, id, 'claude-like.mjs');
  return { submissions: async () => (await agent.submissions()).map((x) => x.text) };
}

describe('auto-router', () => {
  it("turns the seed's turn_request, over HTTP and over WS, into a submitted prompt with a matching ack", async () => {
    const home = homes.newHome();
    const agent = await agentSession(home, 'dev-001');
    const p = await daemonPort(home);
    const watch = subscribeBus(p, '?kind=inject_written&kind=inject_failed&kind=submitted');
    await watch.open;

    const viaHttp = seedTurnRequest('dev-001', 'turn-http', 'review the auth module (http)');
    const ack = await postApi(p, '/api/bus/publish', JSON.stringify(viaHttp));
    expect(ack.status).toBe(200);
    expect(ack.json).toMatchObject({ success: true, message_id: 'turn_request-turn-http', seq: expect.any(Number) });

    const publisher = new WebSocket(`ws://127.0.0.1:${p}/api/bus?subscribe=0&ack=1`);
    await new Promise((r) => publisher.once('open', r));
    const wsAck = new Promise<Record<string, unknown>>((r) => publisher.once('message', (d: Buffer) => r(JSON.parse(d.toString()) as Record<string, unknown>)));
    publisher.send(JSON.stringify(seedTurnRequest('dev-001', 'turn-ws', 'review the auth module (ws)')));
    expect(await wsAck).toMatchObject({ kind: 'bus.ack', success: true, message_id: 'turn_request-turn-ws' });
    publisher.close();

    await waitFor('both prompts submitted', async () => ((await agent.submissions()).length === 2 ? true : null));
    expect(await agent.submissions()).toEqual(['review the auth module (http)', 'review the auth module (ws)']);

    const acks = await waitFor('two acks', () => (watch.events.filter((e) => e.kind === 'inject_written').length === 2 ? watch.events : null));
    for (const turn of ['turn-http', 'turn-ws']) {
      const written = acks.find((e) => e.kind === 'inject_written' && e.turn_id === turn);
      expect(written).toMatchObject({
        type: 'inject_written',
        sender: 'daemon',
        source: 'daemon',
        target_agent: 'dev-001',
        source_type: 'bus_auto_route',
        delivered: true,
        turn_id: turn,
        original_message_id: `turn_request-${turn}`,
        source_host: expect.any(String),
        inject_id: expect.any(String),
        timestamp: expect.any(String),
      });
      const submitted = await waitFor(`submitted for ${turn}`, () => watch.events.find((e) => e.kind === 'submitted' && e.turn_id === turn));
      expect(submitted.inject_id).toBe(written?.inject_id);
    }
    expect(watch.events.filter((e) => e.kind === 'inject_failed')).toEqual([]);
    watch.ws.close();
  });

  it('answers a turn_request it cannot deliver with inject_failed carrying a code, and never delivers to a look-alike on this host', async () => {
    const home = homes.newHome();
    const agent = await agentSession(home, 'dev-001');
    const p = await daemonPort(home);
    const watch = subscribeBus(p, '?kind=inject_*');
    await watch.open;
    await postApi(p, '/api/bus/publish', JSON.stringify(seedTurnRequest('nobody', 't-unknown', 'x')));
    await postApi(p, '/api/bus/publish', JSON.stringify(seedTurnRequest('dev-001@elsewhere', 't-remote', 'must not arrive')));
    await postApi(p, '/api/bus/publish', JSON.stringify({ type: 'turn_request', target: 'dev-001', payload: { turn_id: 't-noprompt' } }));
    const failed = await waitFor('three failures', () => (watch.events.filter((e) => e.kind === 'inject_failed').length === 3 ? watch.events : null));
    const byTurn = (t: string): BusEvent | undefined => failed.find((e) => e.turn_id === t);
    expect(byTurn('t-unknown')).toMatchObject({ code: 'SESSION_NOT_FOUND', original_message_id: 'turn_request-t-unknown', delivered: false });
    expect(byTurn('t-remote')).toMatchObject({ code: 'UNKNOWN_HOST', delivered: false });
    expect(byTurn('t-noprompt')).toMatchObject({ code: 'INVALID_FIELD' });
    await sleep(NOTHING_MORE_MS); // none of the three is typed after all
    expect(await agent.submissions()).toEqual([]);
    watch.ws.close();
  });
  it('delivers a target addressed to this machine (id@<own machine id>) locally', async () => {
    const home = homes.newHome();
    await runCli(home, ['daemon', 'start'], { env: { TELEPTY_MACHINE_ID: 'box-a' } });
    const agent = await agentSession(home, 'dev-001');
    const p = await daemonPort(home);
    const watch = subscribeBus(p, '?kind=inject_written&kind=inject_failed');
    await watch.open;
    const ack = await postApi(p, '/api/bus/publish', JSON.stringify(seedTurnRequest('dev-001@box-a', 'turn-local', 'addressed with the machine id')));
    expect(ack.status).toBe(200);
    await waitFor('the prompt submitted', async () => ((await agent.submissions()).length === 1 ? true : null));
    expect(await agent.submissions()).toEqual(['addressed with the machine id']);
    const written = await waitFor('the ack', () => watch.events.find((e) => e.kind === 'inject_written'));
    expect(written).toMatchObject({ target_agent: 'dev-001', turn_id: 'turn-local', original_message_id: 'turn_request-turn-local', source_host: 'box-a', delivered: true });
    expect(watch.events.filter((e) => e.kind === 'inject_failed')).toEqual([]);
    watch.ws.close();
  });

  it('answers a turn_request for a session whose host is not connected with inject_failed SESSION_DISCONNECTED', async () => {
    const { p, watch, s } = await frozenSession('frozen', '?kind=session_disconnect&kind=inject_*');
    try {
      const ack = await postApi(p, '/api/bus/publish', JSON.stringify(seedTurnRequest('frozen', 'turn-frozen', 'never typed')));
      expect(ack.status).toBe(200);
      const failed = await waitFor('inject_failed', () => watch.events.find((e) => e.kind === 'inject_failed'));
      expect(failed).toMatchObject({ code: 'SESSION_DISCONNECTED', target_agent: 'frozen', turn_id: 'turn-frozen', original_message_id: 'turn_request-turn-frozen', delivered: false });
      expect(watch.events.filter((e) => e.kind === 'inject_written')).toEqual([]);
    } finally {
      process.kill(s.host_pid, 'SIGCONT');
    }
    watch.ws.close();
  });
});

describe('tail and publish', () => {
  it('tail --kind turn_request sees only those', async () => {
    const home = homes.newHome();
    await runCli(home, ['daemon', 'start']);
    const tail = spawnCli(home, ['tail', '--kind', 'turn_request', '--count', '2', '--json', '--timeout', '30']);
    let tailDone = false;
    void tail.finally(() => (tailDone = true));
    // tail says nothing when it has subscribed (new events only): the mix is published again until it has its two.
    const publishExits: number[] = [];
    await waitFor('tail to take two turn_requests', async () => {
      for (const kind of ['noise', 'turn_request', 'turn_requested', 'session_health', 'turn_request']) {
        if (tailDone) return true;
        publishExits.push((await runCli(home, ['publish', '--kind', kind, '--target', 'nobody', '--payload', '{"turn_id":"x"}'])).exitCode);
      }
      return tailDone;
    }, 30_000);
    expect(publishExits.filter((c) => c !== 0)).toEqual([]);
    const out = await tail;
    expect(out.exitCode).toBe(0);
    const events = String(out.stdout).trim().split('\n').map((l) => JSON.parse(l) as BusEvent);
    expect(events.map((e) => e.kind)).toEqual(['turn_request', 'turn_request']);
  });

  it('tail --since after a disconnect sees every event it missed, and announces a gap it cannot fill', async () => {
    const home = homes.newHome();
    const env = { TELEPTY_BUS_RING: '50' };
    await runCli(home, ['daemon', 'start'], { env });
    const first = parseJson<PublishAck>(await runCli(home, ['publish', '--kind', 'mark', '--payload', '{"n":0}', '--json']));
    const lines = Array.from({ length: 20 }, (_, i) => JSON.stringify({ kind: 'mark', payload: { n: i + 1 } })).join('\n');
    expect((await runCli(home, ['publish'], { input: lines })).exitCode).toBe(0);
    const missed = await runCli(home, ['tail', '--since', String(first.seq), '--kind', 'mark', '--count', '20', '--json']);
    const got = missed.stdout.trim().split('\n').map((l) => JSON.parse(l) as BusEvent & { payload: { n: number } });
    expect(got.map((e) => e.payload.n)).toEqual(Array.from({ length: 20 }, (_, i) => i + 1));
    expect(got.every((e, i) => i === 0 || e.seq > (got[i - 1] as BusEvent).seq)).toBe(true);

    const more = Array.from({ length: 60 }, (_, i) => JSON.stringify({ kind: 'mark', payload: { n: 100 + i } })).join('\n');
    await runCli(home, ['publish'], { input: more });
    const gap = await runCli(home, ['tail', '--since', String(first.seq), '--kind', 'mark', '--count', '1', '--json']);
    expect(gap.stderr).toMatch(/gap in the bus: events \d+-\d+ are no longer kept/);
    const gapLines = gap.stdout.trim().split('\n').map((l) => JSON.parse(l) as BusEvent);
    expect(gapLines[0]).toMatchObject({ kind: 'bus.gap', reason: 'ring_overflow' });
  });

  it('publishes from options and from an NDJSON stream, refusing bad events with exit 2 and keeping the good ones', async () => {
    const home = homes.newHome();
    await runCli(home, ['daemon', 'start']);
    const one = await runCli(home, ['publish', '--kind', 'ci.done', '--source', 'ci', '--payload', '{"job":1}', '--json']);
    expect(parseJson<PublishAck>(one)).toMatchObject({ success: true, seq: expect.any(Number), message_id: expect.any(String) });
    const stream = await runCli(home, ['publish', '--json'], { input: '{"kind":"a"}\n{"type":"legacy.b"}\nnot json\n{"no":"kind"}\n{"kind":"c","target":"../x"}\n{"kind":"d"}\n' });
    expect(stream.exitCode).toBe(2);
    const answers = stream.stdout.trim().split('\n').map((l) => JSON.parse(l) as Record<string, unknown>);
    expect(answers.map((a) => a.kind)).toEqual(['bus.ack', 'bus.ack', 'bus.error', 'bus.error', 'bus.error', 'bus.ack']);
    expect(answers.slice(2, 5).map((a) => a.code)).toEqual(['INVALID_JSON', 'INVALID_EVENT', 'INVALID_EVENT']);
    const tail = await runCli(home, ['tail', '--since', '0', '--count', '4', '--json']);
    const kinds = tail.stdout.trim().split('\n').map((l) => (JSON.parse(l) as BusEvent).kind);
    expect(kinds).toEqual(['ci.done', 'a', 'legacy.b', 'd']);
    const legacy = JSON.parse(tail.stdout.trim().split('\n')[2] as string) as BusEvent;
    expect(legacy).toMatchObject({ kind: 'legacy.b', type: 'legacy.b', version: 1, source_host: expect.any(String) });
  });
});

describe('tail', () => {
  const events = (stdout: string): BusEvent[] => stdout.trim().split('\n').filter(Boolean).map((l) => JSON.parse(l) as BusEvent);

  it('exits 5 when --count is not reached within --timeout, and 0 after --timeout without --count', async () => {
    const home = homes.newHome();
    await runCli(home, ['daemon', 'start']);
    await runCli(home, ['publish', '--kind', 'only.one']);
    const t0 = Date.now();
    const short = await runCli(home, ['tail', '--since', '0', '--kind', 'only.one', '--count', '2', '--timeout', '1', '--json']);
    expect(short.exitCode).toBe(5);
    expect(Date.now() - t0).toBeGreaterThanOrEqual(1_000);
    expect(events(short.stdout).map((e) => e.kind)).toEqual(['only.one']);
    const open = await runCli(home, ['tail', '--since', '0', '--timeout', '1', '--json']);
    expect(open.exitCode).toBe(0);
    expect(events(open.stdout).map((e) => e.kind)).toEqual(['only.one']);
  });

  it('prints one readable line per event with --pretty', async () => {
    const home = homes.newHome();
    await runCli(home, ['daemon', 'start']);
    await runCli(home, ['publish', '--kind', 'review.asked', '--source', 'ci', '--target', 'dev-001', '--payload', '{"pr":7}']);
    const r = await runCli(home, ['tail', '--since', '0', '--count', '1', '--pretty']);
    expect(r.exitCode).toBe(0);
    expect(r.stdout).toMatch(/^\d{2}:\d{2}:\d{2}\.\d{3} #1 review\.asked ci → dev-001 \{"payload":\{"pr":7\}\}$/);
    expect(await runCli(home, ['tail', '--json', '--pretty', '--count', '1'])).toMatchObject({ exitCode: 2 });
  });

  it('filters by --target (id also matches id@host) and by --source', async () => {
    const home = homes.newHome();
    await runCli(home, ['daemon', 'start']);
    const lines = [
      { kind: 'n', target: 'dev-001', source: 'ci', payload: { n: 1 } },
      { kind: 'n', target: 'dev-002', source: 'ci', payload: { n: 2 } },
      { kind: 'n', target: 'dev-001@box-b', source: 'orchestrator', payload: { n: 3 } },
      { kind: 'n', source: 'ci', payload: { n: 4 } },
      { kind: 'n', target: 'dev-0011', source: 'ci', payload: { n: 5 } },
    ];
    expect((await runCli(home, ['publish'], { input: lines.map((l) => JSON.stringify(l)).join('\n') })).exitCode).toBe(0);
    const ns = (stdout: string): unknown[] => events(stdout).map((e) => (e.payload as { n: number }).n);
    const byTarget = await runCli(home, ['tail', '--since', '0', '--target', 'dev-001', '--count', '2', '--json']);
    expect(ns(byTarget.stdout)).toEqual([1, 3]);
    const bySource = await runCli(home, ['tail', '--since', '0', '--kind', 'n', '--source', 'ci', '--count', '4', '--json']);
    expect(ns(bySource.stdout)).toEqual([1, 2, 4, 5]);
    const both = await runCli(home, ['tail', '--since', '0', '--target', 'dev-001', '--source', 'orchestrator', '--count', '1', '--json']);
    expect(ns(both.stdout)).toEqual([3]);
  });

  it('--target id@<this machine> also matches the daemon events for its session id, and not another host\'s', async () => {
    const home = homes.newHome();
    await runCli(home, ['daemon', 'start'], { env: { TELEPTY_MACHINE_ID: 'box-a' } });
    await agentSession(home, 'dev-001');
    expect((await runCli(home, ['inject', 'dev-001@box-a', 'addressed by machine'])).exitCode).toBe(0);
    await runCli(home, ['publish', '--kind', 'elsewhere', '--target', 'dev-001@box-b']);
    await runCli(home, ['publish', '--kind', 'here', '--target', 'dev-001@box-a']);
    const kinds = async (target: string): Promise<string[]> =>
      events((await runCli(home, ['tail', '--since', '0', '--target', target, '--timeout', '1', '--json'])).stdout).map((e) => e.kind);
    const local = await kinds('dev-001@box-a');
    expect(local).toEqual(expect.arrayContaining(['session_spawn', 'inject_written', 'submitted', 'here']));
    expect(local).not.toContain('elsewhere');
    expect(await kinds('dev-001@box-b')).toEqual(['elsewhere']);
  });

  it('resumes after the daemon is killed (-9) and replaced, and sees every event published to the new one', async () => {
    const home = homes.newHome();
    await runCli(home, ['daemon', 'start']);
    const tail = spawnCli(home, ['tail', '--since', '0', '--kind', 'mark', '--count', '5', '--json', '--timeout', '60']);
    const seen = stdoutLines(tail);
    const mark = (n: number): string => JSON.stringify({ kind: 'mark', payload: { n } });
    expect((await runCli(home, ['publish'], { input: [mark(1), mark(2)].join('\n') })).exitCode).toBe(0);
    await waitFor('the tail to see two marks', () => seen.length >= 2, 15_000);
    // The tail is held while the daemon is replaced and more is published, so it reconnects only afterwards.
    const tailPid = tail.pid as number;
    process.kill(tailPid, 'SIGSTOP');
    try {
      process.kill((await liveDaemon(home))?.record.pid as number, 'SIGKILL');
      await runCli(home, ['daemon', 'start']);
      expect((await runCli(home, ['publish'], { input: [mark(3), mark(4), mark(5)].join('\n') })).exitCode).toBe(0);
    } finally {
      process.kill(tailPid, 'SIGCONT');
    }
    const out = await tail;
    expect(out.exitCode, String(out.stderr)).toBe(0);
    expect(events(String(out.stdout)).map((e) => (e.payload as { n: number }).n)).toEqual([1, 2, 3, 4, 5]);
    expect(String(out.stderr)).toMatch(/the daemon was replaced/);
  });
});

describe('publish', () => {
  it('publishes an NDJSON stream from stdin line by line as it arrives, printing each ack as it comes', async () => {
    const home = homes.newHome();
    await runCli(home, ['daemon', 'start']);
    // --since 0: the tail sees every step even if it subscribes after the first one was published.
    const tail = spawnCli(home, ['tail', '--kind', 'step', '--since', '0', '--count', '3', '--json', '--timeout', '60']);
    const seen = stdoutLines(tail);
    const publisher = spawnCli(home, ['publish', '--json'], { stdin: 'pipe' });
    const acks = stdoutLines(publisher);
    // A producer that writes the next line only once the previous one has gone through the bus.
    for (let n = 1; n <= 3; n++) {
      publisher.stdin?.write(`${JSON.stringify({ kind: 'step', payload: { n } })}\n`);
      await waitFor(`the tail to see step ${n}`, () => seen.length >= n, 15_000);
      await waitFor(`the ack of step ${n}`, () => acks.length >= n, 15_000);
      const event = JSON.parse(seen[n - 1] as string) as BusEvent;
      expect(event.payload).toEqual({ n });
      expect(JSON.parse(acks[n - 1] as string)).toMatchObject({ kind: 'bus.ack', success: true, seq: event.seq, message_id: event.message_id });
    }
    publisher.stdin?.end();
    const done = await publisher;
    expect(done.exitCode, String(done.stderr)).toBe(0);
    expect(acks).toHaveLength(3);
    expect((await tail).exitCode).toBe(0);
  });

  it('still takes a pretty-printed event or a JSON array on stdin, read whole', async () => {
    const home = homes.newHome();
    await runCli(home, ['daemon', 'start']);
    const pretty = await runCli(home, ['publish', '--json'], { input: JSON.stringify({ kind: 'doc.one', payload: { a: 1 } }, null, 2) });
    expect(pretty.exitCode, pretty.stderr).toBe(0);
    const array = await runCli(home, ['publish', '--json'], { input: JSON.stringify([{ kind: 'doc.two' }, { kind: 'doc.three' }], null, 2) });
    expect(array.exitCode, array.stderr).toBe(0);
    expect(array.stdout.trim().split('\n')).toHaveLength(2);
    const tail = await runCli(home, ['tail', '--since', '0', '--kind', 'doc.*', '--count', '3', '--json']);
    expect(tail.stdout.trim().split('\n').map((l) => (JSON.parse(l) as BusEvent).kind)).toEqual(['doc.one', 'doc.two', 'doc.three']);
    const empty = await runCli(home, ['publish'], { input: '\n\n' });
    expect(empty.exitCode).toBe(2);
    expect(empty.stderr).toMatch(/stdin held no events/);
  });

  it('publishes the payload of --payload-file, and refuses a file that is not JSON or is missing', async () => {
    const home = homes.newHome();
    await runCli(home, ['daemon', 'start']);
    const file = path.join(home, 'payload.json');
    await fs.writeFile(file, JSON.stringify({ job: 42, notes: 'line one\nline two', nested: { ok: true } }, null, 2));
    const ack = parseJson<PublishAck>(await runCli(home, ['publish', '--kind', 'ci.done', '--target', 'dev-001', '--payload-file', file, '--json']));
    expect(ack).toMatchObject({ success: true, seq: expect.any(Number) });
    const got = JSON.parse((await runCli(home, ['tail', '--since', '0', '--count', '1', '--json'])).stdout.trim()) as BusEvent;
    expect(got).toMatchObject({ kind: 'ci.done', target: 'dev-001', seq: ack.seq, payload: { job: 42, notes: 'line one\nline two', nested: { ok: true } } });

    const bad = path.join(home, 'bad.json');
    await fs.writeFile(bad, '{"job": ');
    const notJson = await runCli(home, ['publish', '--kind', 'ci.done', '--payload-file', bad, '--json']);
    expect(notJson.exitCode).toBe(2);
    expect(parseJson(notJson)).toMatchObject({ code: 'INVALID_JSON' });
    const missing = await runCli(home, ['publish', '--kind', 'ci.done', '--payload-file', path.join(home, 'nope.json')]);
    expect(missing.exitCode).toBe(2);
    expect(missing.stderr).toMatch(/cannot read --payload-file .*nope\.json.*no such file \[INVALID_FIELD\]/);
    const both = await runCli(home, ['publish', '--kind', 'x', '--payload', '{}', '--payload-file', file]);
    expect(both.exitCode).toBe(2);
  });
});

describe('bus robustness', () => {
  it('never lets a subscriber that stopped reading slow a fast one; the stalled one is dropped with 4201 and where to resume', async () => {
    const home = homes.newHome();
    // The stalled subscriber gets a minute to take its close frame (queued behind its events) once it reads again,
    // and the ring keeps every event of the test so it can resume from the seq it is given.
    await runCli(home, ['daemon', 'start'], { env: { TELEPTY_BUS_DROP_GRACE_MS: '60000', TELEPTY_BUS_RING: '40000' } });
    const p = await daemonPort(home);
    const fast = subscribeBus(p, '?batch=1&kind=load');
    const slow = subscribeBus(p, '?kind=load');
    await Promise.all([fast.open, slow.open]);
    const socket = (ws: WebSocket): { pause(): void; resume(): void } => (ws as unknown as { _socket: { pause(): void; resume(): void } })._socket;
    socket(slow.ws).pause();
    let slowClose: { code: number; reason: string } | null = null;
    slow.ws.on('close', (code, reason) => (slowClose = { code, reason: reason.toString() }));
    const publisher = new WebSocket(`ws://127.0.0.1:${p}/api/bus?subscribe=0`);
    await new Promise((r) => publisher.once('open', r));
    const payload = 'x'.repeat(1_000);
    const N = 30_000;
    for (let i = 0; i < N; i += 500) {
      publisher.send(
        Array.from({ length: Math.min(500, N - i) }, (_, k) => JSON.stringify({ kind: 'load', payload: { i: i + k, pad: payload } })).join('\n'),
      );
      // A publisher that paces itself to the subscriber it cares about; the stalled one piles up regardless.
      if (i >= 1_000) await waitFor('the fast subscriber to keep up', () => fast.events.length >= i - 1_000, 30_000, 1);
    }
    await waitFor('the fast subscriber to get every event', () => fast.events.length >= N, 60_000);
    const index = (e: BusEvent): number => (e.payload as { i: number }).i;
    // Every event reached the fast one, in order, while the stalled one had not read a single byte.
    expect(fast.events.map(index)).toEqual(Array.from({ length: N }, (_, i) => i));
    expect(slow.events).toEqual([]);
    expect(slowClose).toBeNull();

    socket(slow.ws).resume();
    const closed = await waitFor('the stalled subscriber to be closed', () => slowClose, 30_000);
    expect(closed.code).toBe(4201);
    expect(closed.reason).toMatch(/^too slow; reconnect with since=\d+$/);
    const since = Number(/since=(\d+)/.exec(closed.reason)?.[1]);
    // It was cut off (about 8 MiB behind) rather than buffered 30 MB, and it had every event up to the seq it was
    // told to resume from, none missing.
    const seqs = slow.events.map((e) => e.seq);
    const fastSeq = (i: number): number => (fast.events[i] as BusEvent).seq;
    expect(seqs.length).toBeGreaterThan(0);
    expect(seqs.length).toBeLessThan(N / 2);
    expect(seqs).toEqual(Array.from({ length: seqs.length }, (_, k) => fastSeq(k)));
    expect(since).toBe(seqs[seqs.length - 1]);
    // Resuming from there gets the rest.
    const again = subscribeBus(p, `?batch=1&kind=load&since=${since}`);
    await waitFor('the rest', () => again.events.length >= N - seqs.length, 30_000);
    expect(again.events.map(index)).toEqual(Array.from({ length: N - seqs.length }, (_, k) => seqs.length + k));
    again.ws.close();
    publisher.close();
    fast.ws.close();
  }, 120_000);

  it('answers malformed events with a clear error and keeps serving', async () => {
    const home = homes.newHome();
    await runCli(home, ['daemon', 'start']);
    const p = await daemonPort(home);
    const cases: [string | Buffer, number, string][] = [
      ['{not json', 400, 'INVALID_JSON'],
      ['[1,2,3]', 400, 'INVALID_EVENT'],
      ['"a string"', 400, 'INVALID_EVENT'],
      ['{"payload":{}}', 400, 'INVALID_EVENT'],
      ['{"kind":"ok","target":"a;rm -rf"}', 400, 'INVALID_EVENT'],
      [Buffer.alloc(10 * 1024 * 1024, 0x41), 413, 'PAYLOAD_TOO_LARGE'],
    ];
    for (const [body, status, code] of cases) {
      const r = await postApi(p, '/api/bus/publish', body);
      expect(r.status).toBe(status);
      expect(r.json).toMatchObject({ code, error: expect.any(String) });
    }
    expect((await postApi(p, '/api/bus/publish', '{"kind":"x"}', 'text/plain')).status).toBe(415);
    const ws = new WebSocket(`ws://127.0.0.1:${p}/api/bus?subscribe=0`);
    await new Promise((r) => ws.once('open', r));
    const errors: Record<string, unknown>[] = [];
    ws.on('message', (d: Buffer) => errors.push(JSON.parse(d.toString()) as Record<string, unknown>));
    ws.send('{oops');
    ws.send('{"nokind":true}');
    ws.send(Buffer.from([0xff, 0x00]));
    await waitFor('three errors', () => errors.length >= 3);
    expect(errors.map((e) => e.code)).toEqual(['INVALID_JSON', 'INVALID_EVENT', 'INVALID_EVENT']);
    const bad = await new Promise<number>((resolve) => {
      const b = new WebSocket(`ws://127.0.0.1:${p}/api/bus?since=abc`);
      b.on('unexpected-response', (_req, res) => resolve(res.statusCode ?? 0));
      b.on('open', () => resolve(101));
    });
    expect(bad).toBe(400);
    ws.close();
    expect((await postApi(p, '/api/bus/publish', '{"kind":"still.alive"}')).json).toMatchObject({ success: true });
  });

  it('publishes every daemon event through the bus with both kind and type', async () => {
    const home = homes.newHome();
    const env = { TELEPTY_HEALTH_INTERVAL_MS: '300', TELEPTY_IDLE_THRESHOLD_MS: '400', TELEPTY_SWEEP_INTERVAL_MS: '100' };
    await runCli(home, ['daemon', 'start'], { env });
    const p = await daemonPort(home);
    const all = subscribeBus(p, '?batch=1');
    await all.open;
    await runCli(home, ['spawn', '--id', 'ev', '--', 'sh', '-c', 'sleep 2; exit 3'], { env });
    await runCli(home, ['rename', 'ev', 'ev2']);
    await waitFor('session_exit', () => all.events.some((e) => e.kind === 'session_exit'), 10_000);
    const kinds = new Set(all.events.map((e) => e.kind));
    for (const k of ['session_register', 'session_spawn', 'session_rename', 'session_health', 'session.idle', 'session_exit']) expect(kinds, k).toContain(k);
    for (const e of all.events) {
      expect(e.type).toBe(e.kind);
      expect(e).toMatchObject({ source: 'daemon', sender: 'daemon', version: 1, timestamp: e.ts });
    }
    expect(all.events.find((e) => e.kind === 'session_exit')).toMatchObject({ session_id: 'ev2', exit_code: 3, target: 'ev2' });
    expect(all.events.find((e) => e.kind === 'session_rename')).toMatchObject({ old_id: 'ev', new_id: 'ev2' });
    expect(all.events.find((e) => e.kind === 'session.idle')).toMatchObject({ session_id: expect.any(String), idleSeconds: expect.any(Number), lastActivityAt: expect.any(String) });
    all.ws.close();
  });
});

describe('session link events', () => {
  it('publishes session_disconnect when a host goes silent and session_reconnect when it returns', async () => {
    const { watch, s } = await frozenSession('blinker', '?kind=session_disconnect&kind=session_reconnect');
    process.kill(s.host_pid, 'SIGCONT');
    const back = await waitFor('session_reconnect', () => watch.events.find((e) => e.kind === 'session_reconnect'), 10_000);
    expect(back).toMatchObject({ session_id: 'blinker', target: 'blinker', type: 'session_reconnect', host_pid: s.host_pid });
    expect(watch.events.map((e) => e.kind)).toEqual(['session_disconnect', 'session_reconnect']);
    watch.ws.close();
  });
});

describe('handoffs and threads', () => {
  it('runs a handoff through claim → executing → completed with events, and keeps handoffs and threads across a restart', async () => {
    const home = homes.newHome();
    await runCli(home, ['daemon', 'start']);
    let p = await daemonPort(home);
    const watch = subscribeBus(p, '?kind=handoff.*&kind=thread.*');
    await watch.open;
    const created = await postApi(p, '/api/handoff', JSON.stringify({ synthesis: { tasks: [{ t: 'a' }, { t: 'b' }], summary: 's' }, deliberation_id: 'd-1', auto_execute: true }));
    expect(created.status).toBe(201);
    const id = created.json.handoff_id as string;
    expect(created.json.status).toBe('pending');
    expect((await postApi(p, `/api/handoff/${id}/claim`, JSON.stringify({ agent_session_id: 'dev-001' }))).json).toMatchObject({ success: true, status: 'claimed' });
    expect((await postApi(p, `/api/handoff/${id}/claim`, JSON.stringify({ agent_session_id: 'dev-002' }))).status).toBe(409);
    const patch = (body: unknown): Promise<{ status: number; json: Record<string, unknown> }> =>
      new Promise((resolve, reject) => {
        const req = http.request({ host: '127.0.0.1', port: p, method: 'PATCH', path: `/api/handoff/${id}`, headers: { 'content-type': 'application/json' } }, (res) => {
          let t = '';
          res.on('data', (c: Buffer) => (t += c.toString()));
          res.on('end', () => resolve({ status: res.statusCode ?? 0, json: JSON.parse(t) as Record<string, unknown> }));
        });
        req.on('error', reject);
        req.end(JSON.stringify(body));
      });
    expect((await patch({ status: 'completed' })).status).toBe(400);
    expect((await patch({ status: 'executing', message: 'working' })).status).toBe(200);
    expect((await patch({ status: 'completed', result: { ok: true } })).json).toMatchObject({ status: 'completed', result: { ok: true } });
    const thread = await postApi(p, '/api/threads', JSON.stringify({ topic: 'auth review', participant_session_ids: ['dev-001'] }));
    expect(thread.status).toBe(201);
    await waitFor('events', () => watch.events.length >= 5);
    expect(watch.events.map((e) => e.kind)).toEqual(['handoff.created', 'handoff.claimed', 'handoff.executing', 'handoff.completed', 'thread.opened']);
    expect(watch.events[0]).toMatchObject({ handoff_id: id, task_count: 2, deliberation_id: 'd-1', auto_execute: true });
    watch.ws.close();

    expect((await runCli(home, ['daemon', 'stop'])).exitCode).toBe(0);
    await runCli(home, ['daemon', 'start']);
    p = await daemonPort(home);
    const get = (urlPath: string): Promise<unknown> =>
      new Promise((resolve, reject) => {
        http.get({ host: '127.0.0.1', port: p, path: urlPath }, (res) => {
          let t = '';
          res.on('data', (c: Buffer) => (t += c.toString()));
          res.on('end', () => resolve(JSON.parse(t)));
        }).on('error', reject);
      });
    expect(await get(`/api/handoff/${id}`)).toMatchObject({ handoff_id: id, status: 'completed', claimed_by: 'dev-001', task_count: 2 });
    expect(await get('/api/handoff?status=completed')).toEqual([expect.objectContaining({ handoff_id: id })]);
    expect(await get('/api/threads?status=active')).toEqual([expect.objectContaining({ thread_id: thread.json.thread_id, topic: 'auth review' })]);
  });
});
