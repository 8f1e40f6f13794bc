import { mkdtempSync, readFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { startAutoRouter } from '../../../../src/daemon/bus/auto-router.js';
import { Bus } from '../../../../src/daemon/bus/bus.js';
import { Injector } from '../../../../src/daemon/inject/injector.js';
import { TurnFollows, type FollowedTurn, type TurnFollowStore } from '../../../../src/daemon/inject/turn-follows.js';
import { TURN_MAX_MS, type TurnFollower } from '../../../../src/daemon/inject/turns.js';
import { SessionRegistry, type SessionEntry } from '../../../../src/daemon/sessions/registry.js';
import { TeleptyError } from '../../../../src/protocol/errors.js';
import type { HostRequestMap, HostRequestOp, InjectJobArgs } from '../../../../src/protocol/host-link.js';
import { waitFor } from '../../../helpers/env.js';
import { QueueingHost, hostHello, newHostInstance } from '../../../helpers/host-link.js';
import { RecordingLogger } from '../../../helpers/recorders.js';
import { BusRecorder } from '../fake-link.js';

const MACHINE = 'box-a';
/** Long enough that no debounced write happens within a test: only what is settled on purpose is on disk. */
const NEVER_MS = 60_000;

/** One daemon's worth of the parts a routed turn goes through, on a turn-follows.json in `file`. */
interface Daemon {
  bus: Bus;
  registry: SessionRegistry;
  injector: Injector;
  follows: TurnFollows;
  turns: TurnFollower;
  seen: BusRecorder;
}

const started: Daemon[] = [];

async function daemon(file: string): Promise<Daemon> {
  const log = new RecordingLogger();
  const now = Date.now;
  const bus = new Bus({ machineId: MACHINE, now, log, limits: { ringEvents: 1_000, ringBytes: 1024 * 1024 } });
  const registry = new SessionRegistry({ machineId: MACHINE, events: bus, now, changed: () => undefined, isAlive: async () => false });
  const injector = new Injector({ registry, events: bus, log, timings: { hostAckTimeoutMs: 1_000, pendingTtlMs: 60_000 }, now, changed: () => undefined });
  const follows = new TurnFollows({ file, events: bus, now, log, debounceMs: NEVER_MS });
  const turns = startAutoRouter(bus, injector, MACHINE, log, { store: follows, now });
  const seen = new BusRecorder();
  bus.subscribe(seen, null);
  await follows.load();
  follows.enable();
  const d = { bus, registry, injector, follows, turns, seen };
  started.push(d);
  return d;
}

function onDisk(file: string): FollowedTurn[] {
  return (JSON.parse(readFileSync(file, 'utf8')) as { records: FollowedTurn[] }).records;
}

function record(over: Partial<FollowedTurn>): FollowedTurn {
  return {
    inject_id: 'inj-1',
    session_id: 'dev',
    target: 'dev',
    text: 'the prompt',
    from: 'orch',
    reply_to: 'orch',
    thread_id: null,
    turn_id: 'turn-1',
    original_message_id: 'msg-1',
    source_host: MACHINE,
    created_at: Date.now() - 3_000,
    submitted_at: null,
    published: false,
    ...over,
  };
}

function resting(d: Daemon, entry: SessionEntry, since: number): void {
  d.registry.states.report(entry, { state: 'idle', since, source: 'screen', detail: null, reason: 'prompt box' }, []);
}

describe('routed turns kept on disk (turn-follows.json)', () => {
  afterEach(async () => {
    // The writes a killed daemon never made are made now, so no timer outlives the test.
    for (const d of started.splice(0)) await d.follows.flush();
  });

  it('on disk before its prompt is handed on; marked published on disk before turn_complete goes out; a crash before the record is forgotten publishes nothing again', async () => {
    const file = path.join(mkdtempSync(path.join(os.tmpdir(), 'telepty-follows-')), 'turn-follows.json');
    const first = await daemon(file);
    /** Whether the turn was on disk when its job reached the host. */
    const keptWhenHanded: boolean[] = [];
    const host = new (class extends QueueingHost {
      override request<K extends HostRequestOp>(op: K, args: HostRequestMap[K]['args'], timeoutMs: number): Promise<HostRequestMap[K]['result']> {
        if (op === 'inject') keptWhenHanded.push(onDisk(file).some((t) => t.inject_id === (args as InjectJobArgs).inject_id));
        return super.request(op, args, timeoutMs);
      }
    })();
    const { entry } = await first.registry.attachHost(hostHello(newHostInstance(), 'dev', Date.now()), host);
    /** What the file said of the turn when its turn_complete was published. */
    const onDiskAtPublish: (FollowedTurn | undefined)[] = [];
    first.bus.onEvent((ev) => {
      if (ev.kind === 'turn_complete') onDiskAtPublish.push(onDisk(file).find((t) => t.inject_id === ev.inject_id));
    });
    first.bus.publish({ kind: 'turn_request', target: 'dev', source: 'orch', payload: { turn_id: 'turn-1', prompt: 'the prompt' } });
    // Handed on once the turn is on disk (a write, more than a few turns of the loop).
    const job = await waitFor('the job on the host', () => host.jobs[0]);
    expect(keptWhenHanded).toEqual([true]);
    const submittedAt = Date.now();
    first.injector.onResult(entry, { type: 'inject_result', inject_id: job.inject_id, status: 'submitted', written_at: new Date(submittedAt).toISOString(), submitted_at: new Date(submittedAt).toISOString() });
    resting(first, entry, submittedAt + 5);
    const done = await waitFor('turn_complete', () => first.seen.ofKind('turn_complete')[0]);
    expect(done).toMatchObject({ inject_id: job.inject_id, turn_id: 'turn-1', state: 'idle' });
    expect(onDiskAtPublish).toEqual([expect.objectContaining({ inject_id: job.inject_id, published: true })]);

    // Killed before the record was forgotten on disk: the next daemon finds it marked, and publishes nothing.
    expect(onDisk(file)).toEqual([expect.objectContaining({ inject_id: job.inject_id, published: true })]);
    const next = await daemon(file);
    await next.registry.attachHost(hostHello(newHostInstance(), 'dev', Date.now()), new QueueingHost());
    next.turns.restore(next.follows.list());
    await next.follows.flush();
    expect(onDisk(file)).toEqual([]);
    await new Promise((r) => setTimeout(r, 50));
    expect(next.seen.ofKind('turn_complete')).toEqual([]);
  });

  it('a turn whose submission the last daemon had not written down: handed again under its id, the host answers its first outcome (nothing typed twice), the turn ended meanwhile completes at once', async () => {
    const file = path.join(mkdtempSync(path.join(os.tmpdir(), 'telepty-follows-')), 'turn-follows.json');
    const submittedAt = Date.now() - 2_000;
    const before = await daemon(file);
    await before.follows.keep(record({ created_at: submittedAt - 10 }));
    const next = await daemon(file);
    const host = new QueueingHost();
    const iso = new Date(submittedAt).toISOString();
    host.remembered.set('inj-1', { queued: true, position: 0, known: 'done', acked: true, result: { type: 'inject_result', inject_id: 'inj-1', status: 'submitted', written_at: iso, submitted_at: iso } });
    const { entry } = await next.registry.attachHost(hostHello(newHostInstance(), 'dev', Date.now()), host);
    resting(next, entry, submittedAt + 1_200);
    next.turns.restore(next.follows.list());
    const done = await waitFor('turn_complete', () => next.seen.ofKind('turn_complete')[0]);
    expect(done).toMatchObject({ inject_id: 'inj-1', turn_id: 'turn-1', original_message_id: 'msg-1', state: 'idle', timed_out: false, duration_ms: 1_200 });
    expect(host.jobs).toEqual([]);
    // Its outcome was published (and acked) by the last daemon: not again.
    expect(next.seen.ofKind('submitted')).toEqual([]);
    await next.follows.flush();
    expect(onDisk(file)).toEqual([]);
  });

  it('a turn the last daemon never handed on is typed by the next, under the same id, and followed to its end', async () => {
    const file = path.join(mkdtempSync(path.join(os.tmpdir(), 'telepty-follows-')), 'turn-follows.json');
    const before = await daemon(file);
    await before.follows.keep(record({}));
    const next = await daemon(file);
    const host = new QueueingHost();
    const { entry } = await next.registry.attachHost(hostHello(newHostInstance(), 'dev', Date.now()), host);
    resting(next, entry, Date.now() - 5_000);
    next.turns.restore(next.follows.list());
    const [job] = (await host.jobsAt(1)) as [InjectJobArgs];
    expect(job).toMatchObject({ inject_id: 'inj-1', text: 'the prompt', meta: expect.objectContaining({ source_type: 'bus_auto_route', extra: expect.objectContaining({ turn_id: 'turn-1' }) }) });
    const submittedAt = Date.now();
    next.injector.onResult(entry, { type: 'inject_result', inject_id: 'inj-1', status: 'submitted', written_at: new Date(submittedAt).toISOString(), submitted_at: new Date(submittedAt).toISOString() });
    resting(next, entry, submittedAt + 300);
    const done = await waitFor('turn_complete', () => next.seen.ofKind('turn_complete')[0]);
    expect(done).toMatchObject({ inject_id: 'inj-1', state: 'idle', duration_ms: 300 });
    expect(next.seen.ofKind('submitted')).toEqual([expect.objectContaining({ inject_id: 'inj-1', turn_id: 'turn-1' })]);
  });

  it('a turn left over an hour with no known submission is not handed again (its host may have forgotten the id): closed as its session is', async () => {
    const file = path.join(mkdtempSync(path.join(os.tmpdir(), 'telepty-follows-')), 'turn-follows.json');
    const before = await daemon(file);
    const createdAt = Date.now() - TURN_MAX_MS - 60_000;
    await before.follows.keep(record({ created_at: createdAt }));
    const next = await daemon(file);
    const host = new QueueingHost();
    const { entry } = await next.registry.attachHost(hostHello(newHostInstance(), 'dev', Date.now()), host);
    resting(next, entry, createdAt + 30_000);
    next.turns.restore(next.follows.list());
    const done = await waitFor('turn_complete', () => next.seen.ofKind('turn_complete')[0]);
    expect(done).toMatchObject({ inject_id: 'inj-1', state: 'idle', duration_ms: 30_000, timed_out: false });
    expect(host.jobs).toEqual([]);
  });

  it('a turn that cannot be kept on disk is not typed: inject_failed PERSIST_FAILED with its turn_id', async () => {
    const log = new RecordingLogger();
    const bus = new Bus({ machineId: MACHINE, now: Date.now, log, limits: { ringEvents: 1_000, ringBytes: 1024 * 1024 } });
    const registry = new SessionRegistry({ machineId: MACHINE, events: bus, now: Date.now, changed: () => undefined, isAlive: async () => false });
    const injector = new Injector({ registry, events: bus, log, timings: { hostAckTimeoutMs: 1_000, pendingTtlMs: 60_000 }, now: Date.now, changed: () => undefined });
    const full: TurnFollowStore = {
      keep: async () => {
        throw new TeleptyError('PERSIST_FAILED', 'the routed turn could not be kept on disk (disk full); nothing was typed');
      },
      submitted: () => undefined,
      publishing: async () => undefined,
      forget: () => undefined,
    };
    startAutoRouter(bus, injector, MACHINE, log, { store: full });
    const seen = new BusRecorder();
    bus.subscribe(seen, null);
    const host = new QueueingHost();
    await registry.attachHost(hostHello(newHostInstance(), 'dev', Date.now()), host);
    bus.publish({ kind: 'turn_request', target: 'dev', payload: { turn_id: 'turn-full', prompt: 'x' } });
    const failed = await waitFor('inject_failed', () => seen.ofKind('inject_failed')[0]);
    expect(failed).toMatchObject({ code: 'PERSIST_FAILED', turn_id: 'turn-full', target_agent: 'dev', delivered: false });
    expect(failed.inject_id).toBeUndefined();
    expect(host.jobs).toEqual([]);
  });

  it('a turn whose session is gone completes as exited, not never', async () => {
    const file = path.join(mkdtempSync(path.join(os.tmpdir(), 'telepty-follows-')), 'turn-follows.json');
    const before = await daemon(file);
    await before.follows.keep(record({ session_id: 'nobody', target: 'nobody', submitted_at: Date.now() - 1_000 }));
    const next = await daemon(file);
    next.turns.restore(next.follows.list());
    const done = await waitFor('turn_complete', () => next.seen.ofKind('turn_complete')[0]);
    expect(done).toMatchObject({ inject_id: 'inj-1', session_id: 'nobody', state: 'exited', detail: 'session nobody is gone', answer: null });
  });
});
