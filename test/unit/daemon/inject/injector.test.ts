import { beforeEach, describe, expect, it } from 'vitest';
import type { HeldPrompt, HeldPromptStore } from '../../../../src/daemon/inject/held-prompts.js';
import { Injector, type InjectOrigin } from '../../../../src/daemon/inject/injector.js';
import { SessionRegistry, type SessionEntry } from '../../../../src/daemon/sessions/registry.js';
import { TeleptyError } from '../../../../src/protocol/errors.js';
import type { HostInjectResult, InjectJobArgs } from '../../../../src/protocol/host-link.js';
import { MAX_PROMPT_CHARS, type InjectOptions } from '../../../../src/protocol/inject.js';
import { QueueingHost, hostHello, newHostInstance } from '../../../helpers/host-link.js';
import { RecordingLogger, RecordingSink } from '../../../helpers/recorders.js';
import { waitFor } from '../../../helpers/env.js';

const T0 = Date.parse('2025-03-01T12:00:00.000Z');
const TIMINGS = { hostAckTimeoutMs: 1_000, pendingTtlMs: 60_000 };
/** A caller told of a host gone is told in that very turn (onHostGone is synchronous): silence this long is telling. */
const NO_ANSWER_MS = 20;

function opts(over: Partial<InjectOptions> = {}): InjectOptions {
  return { from: null, reply_to: null, thread_id: null, reply_expected: false, no_enter: false, wait: false, timeout_ms: 5_000, ...over };
}

function result(injectId: string, over: Partial<HostInjectResult> = {}): HostInjectResult {
  return { type: 'inject_result', inject_id: injectId, status: 'submitted', written_at: '2025-03-01T12:00:01.000Z', submitted_at: '2025-03-01T12:00:01.020Z', ...over };
}

async function rejection(p: Promise<unknown>): Promise<TeleptyError> {
  try {
    await p;
  } catch (err) {
    expect(err).toBeInstanceOf(TeleptyError);
    return err as TeleptyError;
  }
  throw new Error('expected the inject to fail');
}

describe('injector', () => {
  let clock: number;
  let sink: RecordingSink;
  let changes: number;
  let registry: SessionRegistry;
  let injector: Injector;

  beforeEach(() => {
    clock = T0;
    sink = new RecordingSink();
    changes = 0;
    registry = new SessionRegistry({ machineId: 'box-1', events: { emit: () => undefined }, now: () => clock, changed: () => undefined, isAlive: async () => false });
    injector = new Injector({
      registry,
      events: sink,
      log: new RecordingLogger(),
      timings: TIMINGS,
      now: () => clock,
      changed: () => {
        changes += 1;
      },
    });
  });

  async function session(id: string): Promise<{ entry: SessionEntry; host: QueueingHost }> {
    const host = new QueueingHost();
    const { entry } = await registry.attachHost(hostHello(newHostInstance(), id, T0), host);
    return { entry, host };
  }

  const ofKind = (kind: string): Record<string, unknown>[] => sink.events.filter((e) => e.kind === kind).map((e) => e.fields);

  it('queues the job on the session host and, without wait, answers "queued" at once', async () => {
    const { host } = await session('worker');
    const r = await injector.inject('worker', 'review the auth module', opts());
    expect(r).toEqual({ success: true, inject_id: expect.any(String), session_id: 'worker', status: 'queued', written_at: null, submitted_at: null, submit: { deferred: true, strategy: 'pty_split_cr' } });
    expect(host.jobs).toEqual([{ inject_id: r.inject_id, text: 'review the auth module', no_enter: false, enter_only: false, refuse_blocked: true, meta: expect.objectContaining({ source_type: 'api' }) }]);
    expect(sink.events).toEqual([]);
  });

  it('records the sender on the target (for `telepty reply`) and has it persisted; an inject without one keeps it', async () => {
    const { entry } = await session('worker');
    await injector.inject('worker', 'one', opts({ from: 'alice', reply_to: 'alice@box-2', thread_id: 't-1' }));
    expect(entry).toMatchObject({ lastFrom: 'alice', lastReplyTo: 'alice@box-2', lastThreadId: 't-1' });
    expect(changes).toBe(1);
    await injector.inject('worker', 'two', opts());
    expect(entry).toMatchObject({ lastFrom: 'alice', lastReplyTo: 'alice@box-2', lastThreadId: 't-1' });
    expect(changes).toBe(1);
  });

  it('publishes inject_written with the seed fields once the host wrote the text, and message_routed when there is a sender', async () => {
    const { entry, host } = await session('worker');
    const r = await injector.inject('worker', 'the text', opts({ from: 'a', reply_to: 'b', thread_id: 't', reply_expected: true }));
    injector.onWritten(entry, { type: 'inject_written', inject_id: r.inject_id, written_at: '2025-03-01T12:00:01.000Z' });
    expect(sink.kinds()).toEqual(['inject_written', 'message_routed']);
    expect(ofKind('inject_written')[0]).toEqual({
      inject_id: r.inject_id,
      target_agent: 'worker',
      content: 'the text',
      from: 'a',
      reply_to: 'b',
      thread_id: 't',
      reply_expected: true,
      no_enter: false,
      delivered: true,
      source_type: 'api',
      written_at: '2025-03-01T12:00:01.000Z',
    });
    expect(ofKind('message_routed')[0]).toMatchObject({ inject_id: r.inject_id, from: 'a', to: 'worker', reply_to: 'b', thread_id: 't', deliberation_session_id: null });

    const anonymous = await injector.inject('worker', 'no sender', opts());
    injector.onWritten(entry, { type: 'inject_written', inject_id: anonymous.inject_id, written_at: '2025-03-01T12:00:02.000Z' });
    expect(sink.kinds()).toEqual(['inject_written', 'message_routed', 'inject_written']);
    expect(host.jobs).toHaveLength(2);
  });

  it('answers a waiting caller with the outcome and publishes submitted', async () => {
    const { entry, host } = await session('worker');
    const pending = injector.inject('worker', 'wait for me', opts({ wait: true }));
    const [job] = await host.jobsAt(1);
    const id = (job as InjectJobArgs).inject_id;
    injector.onWritten(entry, { type: 'inject_written', inject_id: id, written_at: '2025-03-01T12:00:01.000Z' });
    injector.onResult(entry, result(id));
    expect(await pending).toEqual({ success: true, inject_id: id, session_id: 'worker', status: 'submitted', written_at: '2025-03-01T12:00:01.000Z', submitted_at: '2025-03-01T12:00:01.020Z', submit: { deferred: false, strategy: 'pty_split_cr' } });
    expect(sink.kinds()).toEqual(['inject_written', 'submitted']);
    expect(ofKind('submitted')[0]).toEqual({ inject_id: id, target_agent: 'worker', written_at: '2025-03-01T12:00:01.000Z', submitted_at: '2025-03-01T12:00:01.020Z' });
  });

  it('reports entered and written honestly, without a submitted event', async () => {
    const { entry, host } = await session('worker');
    const entered = injector.inject('worker', 'no reaction', opts({ wait: true }));
    const written = injector.inject('worker', 'draft', opts({ wait: true, no_enter: true }));
    const [a, b] = (await host.jobsAt(2)) as [InjectJobArgs, InjectJobArgs];
    expect(b.no_enter).toBe(true);
    injector.onResult(entry, result(a.inject_id, { status: 'entered', submitted_at: null }));
    injector.onResult(entry, result(b.inject_id, { status: 'written', submitted_at: null }));
    expect(await entered).toMatchObject({ status: 'entered', submitted_at: null });
    expect(await written).toMatchObject({ status: 'written', submitted_at: null });
    expect(ofKind('submitted')).toEqual([]);
    // Each accepted inject ends in exactly one outcome event.
    expect(ofKind('entered')).toEqual([expect.objectContaining({ inject_id: a.inject_id, target_agent: 'worker' })]);
    expect(ofKind('written')).toEqual([expect.objectContaining({ inject_id: b.inject_id, target_agent: 'worker' })]);
  });

  it('uses the caller\'s inject id; a repeat while the job runs joins it instead of queueing it again', async () => {
    const { entry, host } = await session('worker');
    const first = injector.inject('worker', 'once', opts({ wait: true, inject_id: 'job-1' }));
    await host.jobsAt(1);
    const again = await injector.inject('worker', 'once', opts({ inject_id: 'job-1' }));
    expect(again).toMatchObject({ inject_id: 'job-1', status: 'queued' });
    const joined = injector.inject('worker', 'once', opts({ wait: true, inject_id: 'job-1' }));
    expect(host.jobs.map((j) => j.inject_id)).toEqual(['job-1']);
    injector.onResult(entry, result('job-1'));
    expect(await first).toMatchObject({ inject_id: 'job-1', status: 'submitted' });
    expect(await joined).toMatchObject({ inject_id: 'job-1', status: 'submitted' });
    expect(sink.kinds()).toEqual(['submitted']);
  });

  it('answers a repeat the host remembers with its first outcome, publishing it only when no daemon has', async () => {
    const { host } = await session('worker');
    const done = result('job-2', { status: 'entered', submitted_at: null });
    host.remembered.set('job-2', { queued: true, position: 0, known: 'done', result: done, acked: true });
    expect(await injector.inject('worker', 'x', opts({ wait: true, inject_id: 'job-2' }))).toMatchObject({ inject_id: 'job-2', status: 'entered' });
    expect(await injector.inject('worker', 'x', opts({ inject_id: 'job-2' }))).toMatchObject({ status: 'entered' });
    expect(sink.events).toEqual([]);
    host.remembered.set('job-3', { queued: true, position: 0, known: 'done', result: result('job-3'), acked: false });
    expect(await injector.inject('worker', 'x', opts({ wait: true, inject_id: 'job-3' }))).toMatchObject({ status: 'submitted' });
    expect(sink.kinds()).toEqual(['submitted']);
    expect(host.sent).toContainEqual({ type: 'inject_ack', inject_ids: ['job-3'] });
    expect(host.jobs).toEqual([]);
  });

  it('publishes a result sent again after a reconnect once, from the meta the host echoes', async () => {
    const { entry } = await session('worker');
    const meta = { from: 'alice', reply_to: 'alice', thread_id: null, reply_expected: false, no_enter: false, enter_only: false, source_type: 'bus_auto_route', extra: { turn_id: 't9' } };
    injector.onResult(entry, result('from-before', { meta }));
    injector.onResult(entry, result('from-before', { meta }));
    expect(sink.events).toEqual([expect.objectContaining({ kind: 'submitted' })]);
    expect(ofKind('submitted')[0]).toMatchObject({ inject_id: 'from-before', target_agent: 'worker', turn_id: 't9' });
  });

  it('refuses an inject id in use for another session', async () => {
    await session('worker');
    await session('other');
    void injector.inject('worker', 'x', opts({ wait: true, inject_id: 'shared' }));
    await new Promise((r) => setImmediate(r));
    const e = await rejection(injector.inject('other', 'x', opts({ inject_id: 'shared' })));
    expect(e.code).toBe('CONFLICT');
  });

  it('fails a waiting caller with the code the host reported and publishes inject_failed with it', async () => {
    const { entry, host } = await session('worker');
    const busy = injector.inject('worker', 'x', opts({ wait: true }));
    const odd = injector.inject('worker', 'y', opts({ wait: true }));
    const [a, b] = (await host.jobsAt(2)) as [InjectJobArgs, InjectJobArgs];
    injector.onResult(entry, result(a.inject_id, { status: 'failed', code: 'SESSION_BUSY', error: 'someone kept typing', submitted_at: null }));
    injector.onResult(entry, result(b.inject_id, { status: 'failed', code: 'NOT_A_CODE', error: 'odd', submitted_at: null }));
    const e1 = await rejection(busy);
    expect(e1.code).toBe('SESSION_BUSY');
    expect(e1.details).toEqual({ inject_id: a.inject_id });
    expect((await rejection(odd)).code).toBe('INTERNAL');
    expect(ofKind('inject_failed')).toEqual([
      expect.objectContaining({ inject_id: a.inject_id, target_agent: 'worker', code: 'SESSION_BUSY', error: 'someone kept typing', delivered: false }),
      expect.objectContaining({ inject_id: b.inject_id, code: 'INTERNAL' }),
    ]);
  });

  it('refuses unknown, disconnected and exited sessions and invalid ids with their codes, each published as inject_failed', async () => {
    const away = await session('away');
    registry.detachHost(away.entry, away.host);
    const gone = await session('gone');
    registry.markExited(gone.entry, 3, 'exited');
    expect((await rejection(injector.inject('ghost', 'x', opts()))).code).toBe('SESSION_NOT_FOUND');
    expect((await rejection(injector.inject('away', 'x', opts()))).code).toBe('SESSION_DISCONNECTED');
    expect((await rejection(injector.inject('gone', 'x', opts()))).code).toBe('SESSION_EXITED');
    expect((await rejection(injector.inject('../etc', 'x', opts()))).code).toBe('INVALID_SESSION_ID');
    expect(ofKind('inject_failed').map((f) => [f.target_agent, f.code, f.inject_id])).toEqual([
      ['ghost', 'SESSION_NOT_FOUND', null],
      ['away', 'SESSION_DISCONNECTED', null],
      ['gone', 'SESSION_EXITED', null],
      // An invalid id is not echoed into the event.
      [null, 'INVALID_SESSION_ID', null],
    ]);
    expect(away.host.jobs).toEqual([]);
  });

  it('passes on the error of a host that does not take the job, and publishes it', async () => {
    const { host } = await session('worker');
    host.refuse = new TeleptyError('TIMEOUT', 'the host did not answer');
    expect((await rejection(injector.inject('worker', 'x', opts({ wait: true })))).code).toBe('TIMEOUT');
    expect(ofKind('inject_failed')).toEqual([expect.objectContaining({ target_agent: 'worker', code: 'TIMEOUT', inject_id: expect.any(String) })]);
  });

  it('withdraws a job still queued when the caller stops waiting, and a late result is not published', async () => {
    const { entry, host } = await session('worker');
    const e = await rejection(injector.inject('worker', 'too late', opts({ wait: true, timeout_ms: 20 })));
    expect(e.code).toBe('TIMEOUT');
    expect(e.message).toMatch(/withdrawn \(nothing was typed\) and will never be typed/);
    expect(e.details).toMatchObject({ job: 'withdrawn' });
    const id = (host.jobs[0] as InjectJobArgs).inject_id;
    expect(host.cancelled).toEqual([id]);
    expect(ofKind('inject_failed')).toEqual([expect.objectContaining({ inject_id: id, code: 'TIMEOUT' })]);
    injector.onResult(entry, result(id));
    expect(ofKind('submitted')).toEqual([]);
  });

  it('leaves a job that already runs when the caller stops waiting, and still publishes how it ended', async () => {
    const { entry, host } = await session('worker');
    host.stillQueued = false;
    const e = await rejection(injector.inject('worker', 'long one', opts({ wait: true, timeout_ms: 20 })));
    expect(e.code).toBe('TIMEOUT');
    expect(e.message).toMatch(/may still be typed/);
    expect(e.details).toMatchObject({ job: 'pending' });
    expect(ofKind('inject_failed')).toEqual([]);
    const id = (host.jobs[0] as InjectJobArgs).inject_id;
    injector.onResult(entry, result(id));
    expect(ofKind('submitted')).toEqual([expect.objectContaining({ inject_id: id })]);
  });

  it('tells a waiting caller when the host goes away; a result that arrives later is still published', async () => {
    const { entry, host } = await session('worker');
    const pending = injector.inject('worker', 'x', opts({ wait: true }));
    const id = ((await host.jobsAt(1))[0] as InjectJobArgs).inject_id;
    injector.onHostGone(entry);
    const e = await rejection(pending);
    expect(e.code).toBe('SESSION_DISCONNECTED');
    expect(e.details).toEqual({ inject_id: id });
    injector.onResult(entry, result(id));
    expect(ofKind('submitted')).toEqual([expect.objectContaining({ inject_id: id })]);
  });

  it('keeps a caller of a prompt held for idle waiting when the host goes away (the daemon holds it): it ends with what then happens', async () => {
    const { entry, host } = await session('worker');
    let settled = false;
    const pending = injector.inject('worker', 'x', opts({ wait: true, when: 'idle' }));
    void pending.catch(() => undefined).finally(() => (settled = true));
    injector.onHostGone(entry);
    registry.detachHost(entry, host);
    await new Promise((r) => setTimeout(r, NO_ANSWER_MS));
    // Before: SESSION_DISCONNECTED, "it may still complete", though nothing about the job had changed.
    expect(settled).toBe(false);
    registry.markExited(entry, null, 'host gone');
    injector.onHostGone(entry);
    const e = await rejection(pending);
    expect([e.code, e.message]).toEqual(['SESSION_EXITED', 'session worker exited before its agent was idle; nothing was typed']);
    expect(host.jobs).toEqual([]);
    expect(ofKind('inject_failed')).toEqual([expect.objectContaining({ code: 'SESSION_EXITED' })]);
  });

  it('fails the jobs an exited session\'s host never reported when its link closes: its callers and the bus are told', async () => {
    const { entry, host } = await session('worker');
    const pending = injector.inject('worker', 'x', opts({ wait: true }));
    const id = ((await host.jobsAt(1))[0] as InjectJobArgs).inject_id;
    registry.markExited(entry, 3, 'exited');
    injector.onHostGone(entry);
    const e = await rejection(pending);
    expect([e.code, e.message, e.details]).toEqual(['SESSION_EXITED', `session worker exited (code 3) before inject ${id} finished; it was not submitted`, { inject_id: id }]);
    expect(ofKind('inject_failed')).toEqual([expect.objectContaining({ inject_id: id, code: 'SESSION_EXITED' })]);
  });

  it('refuses a prompt past what one session may hold waiting (QUEUE_FULL, nothing typed, inject_failed), and takes it again once one was typed', async () => {
    const { entry, host } = await session('worker');
    const big = 'x'.repeat(MAX_PROMPT_CHARS);
    const ids: string[] = [];
    for (let i = 0; i < 16; i++) ids.push((await injector.inject('worker', big, opts())).inject_id);
    const full = await rejection(injector.inject('worker', 'one more', opts()));
    expect(full.code).toBe('QUEUE_FULL');
    expect(full.message).toMatch(/^session worker has 16 prompts \(16000000 characters\) waiting to be typed, .*nothing was typed/);
    expect(ofKind('inject_failed')).toEqual([expect.objectContaining({ target_agent: 'worker', code: 'QUEUE_FULL' })]);
    expect(await host.jobsAt(16)).toHaveLength(16);
    // A repeat of a waiting job is not a new one: it joins it.
    expect(await injector.inject('worker', big, opts({ inject_id: ids[0] }))).toMatchObject({ inject_id: ids[0] });
    injector.onResult(entry, result(ids[0] as string));
    expect(await injector.inject('worker', 'one more', opts())).toMatchObject({ status: 'queued' });

    // Small prompts: at most 1,000 wait.
    const { host: other } = await session('other');
    for (let i = 0; i < 1_000; i++) await injector.inject('other', `p${i}`, opts());
    expect((await rejection(injector.inject('other', 'p1000', opts()))).code).toBe('QUEUE_FULL');
    expect(await other.jobsAt(1_000)).toHaveLength(1_000);
  });

  it('keeps a prompt held for idle on disk before answering "queued", forgets it when withdrawn, and refuses it when the disk does', async () => {
    const kept: HeldPrompt[] = [];
    const forgotten: string[] = [];
    let refuse = false;
    const held: HeldPromptStore = {
      keep: async (p) => {
        if (refuse) throw new TeleptyError('PERSIST_FAILED', 'disk full');
        kept.push(p);
      },
      forget: (id) => forgotten.push(id),
    };
    const withStore = new Injector({ registry, events: sink, log: new RecordingLogger(), timings: TIMINGS, now: () => clock, changed: () => undefined, held });
    await session('worker');
    const r = await withStore.inject('worker', 'later', opts({ when: 'idle', timeout_ms: 50, inject_id: 'h-1' }));
    expect(r.status).toBe('queued');
    expect(kept).toEqual([expect.objectContaining({ inject_id: 'h-1', session_id: 'worker', text: 'later', opts: expect.objectContaining({ when: 'idle', wait: false }), created_at: T0 })]);
    clock += 100;
    await waitFor('withdrawn at its timeout', () => forgotten.includes('h-1'));
    refuse = true;
    const e = await rejection(withStore.inject('worker', 'not kept', opts({ when: 'idle', inject_id: 'h-2' })));
    expect(e.code).toBe('PERSIST_FAILED');
    expect(ofKind('inject_failed')).toEqual(expect.arrayContaining([expect.objectContaining({ code: 'PERSIST_FAILED' })]));
  });

  it('holds again what an earlier daemon held for idle; one whose session is gone ends failed, nothing typed', async () => {
    const forgotten: string[] = [];
    const held: HeldPromptStore = { keep: async () => undefined, forget: (id) => forgotten.push(id) };
    const restored = new Injector({ registry, events: sink, log: new RecordingLogger(), timings: TIMINGS, now: () => clock, changed: () => undefined, held });
    const { host } = await session('worker');
    const base = { enter_only: false, origin: { source_type: 'api' as const }, created_at: T0, opts: opts({ when: 'idle', timeout_ms: 50 }) };
    restored.restoreHeld([
      { ...base, inject_id: 'r-1', session_id: 'worker', text: 'typed after the restart' },
      { ...base, inject_id: 'r-2', session_id: 'vanished', text: 'never typed' },
    ]);
    expect(ofKind('inject_failed')).toEqual([expect.objectContaining({ inject_id: 'r-2', code: 'SESSION_NOT_FOUND' })]);
    expect(forgotten).toEqual(['r-2']);
    // Held, not typed (the agent's state is unknown, never idle), until its timeout, counted from when it was asked.
    expect(host.jobs).toEqual([]);
    clock += 100;
    await waitFor('withdrawn at its timeout', () => forgotten.includes('r-1'));
    expect(ofKind('inject_failed')).toEqual([expect.objectContaining({ inject_id: 'r-2' }), expect.objectContaining({ inject_id: 'r-1', code: 'TIMEOUT' })]);
    expect(host.jobs).toEqual([]);
  });

  it('forgets the jobs of a host gone longer than pendingTtlMs, yet publishes their result once when the host sends it', async () => {
    const { entry } = await session('worker');
    const r = await injector.inject('worker', 'x', opts());
    clock += TIMINGS.pendingTtlMs + 1;
    injector.onHostGone(entry);
    injector.onResult(entry, result(r.inject_id));
    injector.onResult(entry, result(r.inject_id));
    expect(sink.kinds()).toEqual(['submitted']);
  });

  it('sends Enter alone through the same queue (submit), publishing submitted but no inject_written', async () => {
    const { entry, host } = await session('worker');
    const pending = injector.submit('worker', opts({ wait: true, no_enter: true }));
    const [job] = (await host.jobsAt(1)) as [InjectJobArgs];
    expect(job).toEqual({ inject_id: expect.any(String), text: '', no_enter: false, enter_only: true, refuse_blocked: true, meta: expect.objectContaining({ enter_only: true }) });
    injector.onWritten(entry, { type: 'inject_written', inject_id: job.inject_id, written_at: '2025-03-01T12:00:01.000Z' });
    injector.onResult(entry, result(job.inject_id));
    expect(await pending).toMatchObject({ status: 'submitted' });
    expect(sink.kinds()).toEqual(['submitted']);
  });

  it('names the session by its current id after a rename', async () => {
    const { entry } = await session('worker');
    const r = await injector.inject('worker', 'x', opts());
    registry.rename(entry, 'reviewer');
    injector.onWritten(entry, { type: 'inject_written', inject_id: r.inject_id, written_at: '2025-03-01T12:00:01.000Z' });
    expect(ofKind('inject_written')[0]).toMatchObject({ target_agent: 'reviewer' });
  });

  it('carries the origin of a routed inject (turn_id and friends) in every event', async () => {
    const { entry } = await session('worker');
    const origin: InjectOrigin = { source_type: 'bus_auto_route', extra: { turn_id: 't-7', original_message_id: 'm-1' } };
    const ok = await injector.inject('worker', 'x', opts(), origin);
    injector.onWritten(entry, { type: 'inject_written', inject_id: ok.inject_id, written_at: '2025-03-01T12:00:01.000Z' });
    injector.onResult(entry, result(ok.inject_id));
    await rejection(injector.inject('ghost', 'x', opts(), origin));
    expect(sink.events.map((e) => [e.kind, e.fields.turn_id, e.fields.original_message_id])).toEqual([
      ['inject_written', 't-7', 'm-1'],
      ['submitted', 't-7', 'm-1'],
      ['inject_failed', 't-7', 'm-1'],
    ]);
    expect(ofKind('inject_written')[0]).toMatchObject({ source_type: 'bus_auto_route' });
  });

  it('multicasts to several sessions, answering per session which got it and which failed why', async () => {
    const a = await session('a');
    const b = await session('b');
    const r = await injector.multicast(['a', 'b', 'ghost'], 'to all', opts());
    // 0.1.53: a partial failure is a success with the failed list.
    expect(r.success).toBe(true);
    expect(r.results.successful.map((s) => [s.id, s.status])).toEqual([
      ['a', 'queued'],
      ['b', 'queued'],
    ]);
    expect(r.results.failed).toEqual([{ id: 'ghost', code: 'SESSION_NOT_FOUND', error: expect.stringMatching(/ghost/) }]);
    expect([a.host.jobs.length, b.host.jobs.length]).toEqual([1, 1]);
  });

  it('broadcasts to every connected session, listing a disconnected one as failed (as 0.1.53 did)', async () => {
    const a = await session('a');
    const away = await session('away');
    registry.detachHost(away.entry, away.host);
    const r = await injector.broadcast('everyone', opts());
    expect(r).toMatchObject({ success: true, results: { successful: [expect.objectContaining({ id: 'a' })], failed: [{ id: 'away', code: 'SESSION_DISCONNECTED', error: expect.any(String) }] } });
    expect(a.host.jobs).toHaveLength(1);
    expect(away.host.jobs).toHaveLength(0);
  });
});
