import { beforeEach, describe, expect, it } from 'vitest';
import { startAutoRouter } from '../../../../src/daemon/bus/auto-router.js';
import { Bus } from '../../../../src/daemon/bus/bus.js';
import { Injector } from '../../../../src/daemon/inject/injector.js';
import { SessionRegistry, type SessionEntry } from '../../../../src/daemon/sessions/registry.js';
import type { InjectJobArgs } from '../../../../src/protocol/host-link.js';
import { QueueingHost, hostHello, newHostInstance } from '../../../helpers/host-link.js';
import { RecordingLogger } from '../../../helpers/recorders.js';
import { BusRecorder } from '../fake-link.js';

const T0 = Date.parse('2025-03-01T12:00:00.000Z');
const MACHINE = 'box-a';

function turnRequest(target: string | undefined, turnId: string, over: Record<string, unknown> = {}, payload: Record<string, unknown> = {}): Record<string, unknown> {
  return {
    message_id: `turn_request-${turnId}`,
    kind: 'turn_request',
    source: 'deliberation:delib-42',
    ...(target === undefined ? {} : { target }),
    reply_to: 'delib-42',
    payload: { turn_id: turnId, prompt: `prompt of ${turnId}`, ...payload },
    ...over,
  };
}

/** A few turns of the event loop: the router hands the job to the injector, which sends it after its checks. */
async function settle(): Promise<void> {
  for (let i = 0; i < 20; i++) await new Promise((r) => setImmediate(r));
}

describe('auto-router', () => {
  let bus: Bus;
  let registry: SessionRegistry;
  let injector: Injector;
  let seen: BusRecorder;

  beforeEach(() => {
    const log = new RecordingLogger();
    bus = new Bus({ machineId: MACHINE, now: () => T0, log, limits: { ringEvents: 1_000, ringBytes: 1024 * 1024 } });
    registry = new SessionRegistry({ machineId: MACHINE, events: bus, now: () => T0, changed: () => undefined, isAlive: async () => false });
    injector = new Injector({ registry, events: bus, log, timings: { hostAckTimeoutMs: 1_000, pendingTtlMs: 60_000 }, now: () => T0, changed: () => undefined });
    startAutoRouter(bus, injector, MACHINE, log);
    seen = new BusRecorder();
    bus.subscribe(seen, null);
  });

  async function session(id: string): Promise<{ entry: SessionEntry; host: QueueingHost }> {
    const host = new QueueingHost();
    const { entry } = await registry.attachHost(hostHello(newHostInstance(), id, T0), host);
    return { entry, host };
  }

  it('injects payload.prompt into the target and acks with inject_written carrying the fields to match the request', async () => {
    const { entry, host } = await session('dev-001');
    const ack = bus.publish(turnRequest('dev-001', 't-1'));
    const [job] = (await host.jobsAt(1)) as [InjectJobArgs];
    expect(job).toMatchObject({ text: 'prompt of t-1', no_enter: false, enter_only: false });
    injector.onWritten(entry, { type: 'inject_written', inject_id: job.inject_id, written_at: new Date(T0).toISOString() });
    injector.onResult(entry, { type: 'inject_result', inject_id: job.inject_id, status: 'submitted', written_at: new Date(T0).toISOString(), submitted_at: new Date(T0 + 20).toISOString() });
    const [written] = seen.ofKind('inject_written');
    expect(written).toMatchObject({
      type: 'inject_written',
      source: 'daemon',
      target: 'dev-001',
      target_agent: 'dev-001',
      inject_id: job.inject_id,
      content: 'prompt of t-1',
      from: 'deliberation:delib-42',
      reply_to: 'delib-42',
      reply_expected: true,
      source_type: 'bus_auto_route',
      delivered: true,
      turn_id: 't-1',
      original_message_id: ack.message_id,
      source_host: MACHINE,
    });
    expect(seen.ofKind('submitted')).toEqual([expect.objectContaining({ inject_id: job.inject_id, turn_id: 't-1', original_message_id: 'turn_request-t-1' })]);
    // The request's sender is recorded on the target, so `telepty reply` inside it answers the orchestrator.
    expect(entry).toMatchObject({ lastFrom: 'deliberation:delib-42', lastReplyTo: 'delib-42' });
  });

  it('routes a legacy event that has only type: turn_request, and carries payload.thread_id', async () => {
    const { entry, host } = await session('dev-001');
    const legacy = turnRequest('dev-001', 't-2', { kind: undefined, type: 'turn_request' }, { thread_id: 'th-9' });
    delete legacy.kind;
    bus.publish(legacy);
    const [job] = (await host.jobsAt(1)) as [InjectJobArgs];
    expect(job.text).toBe('prompt of t-2');
    expect(entry.lastThreadId).toBe('th-9');
  });

  it('delivers a target addressed to this machine (id@<own machine id>) locally', async () => {
    const { host } = await session('dev-001');
    bus.publish(turnRequest(`dev-001@${MACHINE}`, 't-3'));
    expect(((await host.jobsAt(1))[0] as InjectJobArgs).text).toBe('prompt of t-3');
  });

  it('never delivers a target on another machine to a local session with the same id: UNKNOWN_HOST', async () => {
    const { host } = await session('dev-001');
    const ack = bus.publish(turnRequest('dev-001@box-b', 't-4'));
    await settle();
    expect(host.jobs).toEqual([]);
    expect(seen.ofKind('inject_failed')).toEqual([
      expect.objectContaining({ code: 'UNKNOWN_HOST', target_agent: 'dev-001@box-b', delivered: false, turn_id: 't-4', original_message_id: ack.message_id, source_host: MACHINE }),
    ]);
  });

  it('answers with inject_failed and the code when the target is unknown, disconnected or exited', async () => {
    const away = await session('away');
    registry.detachHost(away.entry, away.host);
    const gone = await session('gone');
    registry.markExited(gone.entry, 0, 'exited');
    for (const [target, turn] of [
      ['nobody', 't-unknown'],
      ['away', 't-away'],
      ['gone', 't-gone'],
    ] as const) {
      bus.publish(turnRequest(target, turn));
    }
    await settle();
    expect(seen.ofKind('inject_failed').map((e) => [e.turn_id, e.code, e.target_agent, e.original_message_id])).toEqual([
      ['t-unknown', 'SESSION_NOT_FOUND', 'nobody', 'turn_request-t-unknown'],
      ['t-away', 'SESSION_DISCONNECTED', 'away', 'turn_request-t-away'],
      ['t-gone', 'SESSION_EXITED', 'gone', 'turn_request-t-gone'],
    ]);
    expect(away.host.jobs).toEqual([]);
  });

  it('answers a turn_request without a target or without a prompt with inject_failed', async () => {
    const { host } = await session('dev-001');
    bus.publish(turnRequest(undefined, 't-notarget'));
    bus.publish(turnRequest('dev-001', 't-noprompt', {}, { prompt: undefined }));
    bus.publish(turnRequest('dev-001', 't-control', {}, { prompt: 'evil\x1b[201~' }));
    await settle();
    expect(seen.ofKind('inject_failed').map((e) => [e.turn_id, e.code])).toEqual([
      ['t-notarget', 'INVALID_EVENT'],
      ['t-noprompt', 'INVALID_FIELD'],
      ['t-control', 'INVALID_FIELD'],
    ]);
    expect(host.jobs).toEqual([]);
  });

  it('routes only turn_requests published by clients: other kinds and daemon events are left alone', async () => {
    const { host } = await session('dev-001');
    bus.publish({ kind: 'turn_requested', target: 'dev-001', payload: { prompt: 'no' } });
    bus.publish({ kind: 'turn_response', target: 'dev-001', payload: { prompt: 'no' } });
    bus.emit('turn_request', { target: 'dev-001', payload: { prompt: 'no' } });
    await settle();
    expect(host.jobs).toEqual([]);
    expect(seen.ofKind('inject_failed')).toEqual([]);
  });
});
