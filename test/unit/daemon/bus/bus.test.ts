import { describe, expect, it } from 'vitest';
import { Bus, PUBLISH_SLICE_MS, type BusLimits, type BusSubscriber, type StoredEvent } from '../../../../src/daemon/bus/bus.js';
import { BUS_ENVELOPE_VERSION, GAP_KIND, type BusEvent, type BusFilter } from '../../../../src/protocol/bus.js';
import { TeleptyError } from '../../../../src/protocol/errors.js';
import type { Logger } from '../../../../src/util/log.js';
import { RecordingLogger } from '../../../helpers/recorders.js';

const T0 = Date.parse('2025-03-01T12:00:00.000Z');
const MACHINE = 'host-a';

/** A subscriber that records every delivery; `acceptFor` deliveries are accepted, then it reports being dropped. */
class FakeSubscriber implements BusSubscriber {
  readonly filter: BusFilter;
  readonly got: StoredEvent[] = [];
  /** Calls to deliver, including refused ones. */
  calls = 0;

  constructor(filter: Partial<BusFilter> = {}, private acceptFor = Number.POSITIVE_INFINITY) {
    this.filter = { kinds: [], target: null, source: null, ...filter };
  }

  deliver(stored: StoredEvent): boolean {
    this.calls++;
    if (this.got.length >= this.acceptFor) return false;
    this.got.push(stored);
    return true;
  }

  get events(): BusEvent[] {
    return this.got.map((s) => s.event);
  }

  get seqs(): number[] {
    return this.events.map((e) => e.seq);
  }
}

function makeBus(limits: Partial<BusLimits> = {}, log: Logger = new RecordingLogger()): { bus: Bus; clock: { t: number } } {
  const clock = { t: T0 };
  const bus = new Bus({ machineId: MACHINE, now: () => clock.t, log, limits: { ringEvents: 100, ringBytes: 1024 * 1024, ...limits } });
  return { bus, clock };
}

/** Publish `n` client events of kind `kind` (or a kind per index), numbered by an `i` field. */
function publishMany(bus: Bus, n: number, kind: string | ((i: number) => string) = 'k'): void {
  for (let i = 1; i <= n; i++) bus.publish({ kind: typeof kind === 'string' ? kind : kind(i), i });
}

describe('Bus: seq and publish', () => {
  it('assigns monotonic seqs starting at 1, overwriting a client-supplied seq', () => {
    const { bus } = makeBus();
    const sub = new FakeSubscriber();
    bus.subscribe(sub, null);
    expect(bus.lastSeq).toBe(0);
    const a = bus.publish({ kind: 'x', seq: 1000 });
    const b = bus.publish({ kind: 'x', seq: -5 });
    bus.emit('session_spawn', { session_id: 's1', seq: 7 });
    const c = bus.publish({ kind: 'x', seq: 'nope' });
    expect([a.seq, b.seq, c.seq]).toEqual([1, 2, 4]);
    expect(sub.seqs).toEqual([1, 2, 3, 4]);
    expect(bus.lastSeq).toBe(4);
  });

  it('returns {success, seq, message_id, delivered} with delivered = subscribers that accepted', () => {
    const { bus } = makeBus();
    const takers = [new FakeSubscriber(), new FakeSubscriber()];
    const other = new FakeSubscriber({ kinds: ['other'] });
    const full = new FakeSubscriber({}, 0);
    for (const s of [...takers, other, full]) bus.subscribe(s, null);
    const ack = bus.publish({ kind: 'x', message_id: 'm-1' });
    expect(ack).toEqual({ success: true, seq: 1, message_id: 'm-1', delivered: 2 });
    expect(bus.publish({ kind: 'x' }).delivered).toBe(2);
  });

  it('gives a generated message_id back when the client sent none', () => {
    const { bus } = makeBus();
    const sub = new FakeSubscriber();
    bus.subscribe(sub, null);
    const ack = bus.publish({ kind: 'x' });
    expect(ack.message_id).toMatch(/^[0-9a-f-]{36}$/);
    expect(sub.events[0]?.message_id).toBe(ack.message_id);
    expect(ack.delivered).toBe(1);
  });

  it('delivers the normalized event with the client fields, encoded once for every subscriber', () => {
    const { bus } = makeBus();
    const s1 = new FakeSubscriber();
    const s2 = new FakeSubscriber();
    bus.subscribe(s1, null);
    bus.subscribe(s2, null);
    bus.publish({ type: 'turn_request', target: 'sess-1@host-b', source: 'deliberation:d1', payload: { prompt: 'hi' } });
    const stored = s1.got[0] as StoredEvent;
    expect(stored.event).toMatchObject({
      version: BUS_ENVELOPE_VERSION,
      kind: 'turn_request',
      type: 'turn_request',
      source: 'deliberation:d1',
      source_host: MACHINE,
      target: 'sess-1@host-b',
      ts: new Date(T0).toISOString(),
      seq: 1,
      payload: { prompt: 'hi' },
    });
    expect(JSON.parse(stored.encoded.toString('utf8'))).toEqual(stored.event);
    expect(s2.got[0]).toBe(stored);
  });

  it('rejects an invalid event without using a seq or delivering', () => {
    const { bus } = makeBus();
    const sub = new FakeSubscriber();
    bus.subscribe(sub, null);
    expect(() => bus.publish({ kind: 'bad kind' })).toThrow(TeleptyError);
    expect(() => bus.publish([])).toThrow(TeleptyError);
    expect(() => bus.publish({ kind: 'x', target: '../x' })).toThrow(TeleptyError);
    expect(bus.lastSeq).toBe(0);
    expect(sub.calls).toBe(0);
    expect(bus.publish({ kind: 'x' }).seq).toBe(1);
  });
});

describe('Bus: emit (daemon events)', () => {
  it('wraps the fields in the seed envelope', () => {
    const { bus } = makeBus();
    const sub = new FakeSubscriber();
    bus.subscribe(sub, null);
    bus.emit('session.idle', { session_id: 'sess-1', idleSeconds: 30, lastActivityAt: '2025-03-01T11:59:30.000Z' });
    const e = sub.events[0] as BusEvent;
    const ts = new Date(T0).toISOString();
    expect(e).toEqual({
      version: BUS_ENVELOPE_VERSION,
      message_id: expect.stringMatching(/^[0-9a-f-]{36}$/) as unknown as string,
      kind: 'session.idle',
      type: 'session.idle',
      source: 'daemon',
      sender: 'daemon',
      source_host: MACHINE,
      target: 'sess-1',
      ts,
      timestamp: ts,
      seq: 1,
      session_id: 'sess-1',
      idleSeconds: 30,
      lastActivityAt: '2025-03-01T11:59:30.000Z',
    });
  });

  it('takes target from target_agent, else session_id, else null', () => {
    const { bus } = makeBus();
    const sub = new FakeSubscriber();
    bus.subscribe(sub, null);
    bus.emit('inject_written', { target_agent: 'agent-1', session_id: 'sess-1' });
    bus.emit('session_exit', { session_id: 'sess-2' });
    bus.emit('thread.opened', { thread_id: 't1' });
    bus.emit('inject_failed', { target_agent: 42 });
    expect(sub.events.map((e) => e.target)).toEqual(['agent-1', 'sess-2', null, null]);
  });

  it('does not let fields override envelope keys', () => {
    const { bus, clock } = makeBus();
    clock.t = T0 + 5_000;
    const sub = new FakeSubscriber();
    bus.subscribe(sub, null);
    const fields = {
      version: 99,
      message_id: 'forged',
      kind: 'forged',
      type: 'forged',
      source: 'forged',
      sender: 'forged',
      source_host: 'forged',
      ts: 'forged',
      timestamp: 'forged',
      seq: 12345,
      keep: 'me',
    };
    bus.emit('handoff.created', fields);
    const e = sub.events[0] as BusEvent;
    const ts = new Date(T0 + 5_000).toISOString();
    expect(e).toMatchObject({ version: BUS_ENVELOPE_VERSION, kind: 'handoff.created', type: 'handoff.created', source: 'daemon', sender: 'daemon', source_host: MACHINE, ts, timestamp: ts, seq: 1, keep: 'me' });
    expect(e.message_id).not.toBe('forged');
    // The caller's object is not changed.
    expect(fields.kind).toBe('forged');
    expect(fields.seq).toBe(12345);
  });

  it('gives each event its own message_id', () => {
    const { bus } = makeBus();
    const sub = new FakeSubscriber();
    bus.subscribe(sub, null);
    bus.emit('a', {});
    bus.emit('a', {});
    expect(new Set(sub.events.map((e) => e.message_id)).size).toBe(2);
  });
});

describe('Bus: fan-out', () => {
  it('applies filters per subscriber', () => {
    const { bus } = makeBus();
    const all = new FakeSubscriber();
    const handoffs = new FakeSubscriber({ kinds: ['handoff.*'] });
    const toSess1 = new FakeSubscriber({ target: 'sess-1' });
    const fromDelib = new FakeSubscriber({ source: 'deliberation:*' });
    for (const s of [all, handoffs, toSess1, fromDelib]) bus.subscribe(s, null);
    bus.emit('handoff.created', { handoff_id: 'h1' }); // 1
    bus.publish({ kind: 'turn_request', target: 'sess-1@host-b', source: 'deliberation:d1' }); // 2
    bus.emit('session_exit', { session_id: 'sess-1' }); // 3
    bus.publish({ kind: 'note', target: 'sess-2', source: 'devkit:x' }); // 4
    expect(all.seqs).toEqual([1, 2, 3, 4]);
    expect(handoffs.seqs).toEqual([1]);
    expect(toSess1.seqs).toEqual([2, 3]);
    expect(fromDelib.seqs).toEqual([2]);
  });

  it('removes a subscriber whose deliver returns false, never calls it again, and keeps delivering to others', () => {
    const { bus } = makeBus();
    const before = new FakeSubscriber();
    const slow = new FakeSubscriber({}, 1);
    const after = new FakeSubscriber();
    bus.subscribe(before, null);
    bus.subscribe(slow, null);
    bus.subscribe(after, null);
    expect(bus.subscriberCount).toBe(3);
    expect(bus.publish({ kind: 'x' }).delivered).toBe(3);
    expect(bus.publish({ kind: 'x' }).delivered).toBe(2);
    expect(bus.subscriberCount).toBe(2);
    expect(bus.publish({ kind: 'x' }).delivered).toBe(2);
    bus.emit('y', {});
    expect(slow.calls).toBe(2);
    expect(slow.seqs).toEqual([1]);
    expect(before.seqs).toEqual([1, 2, 3, 4]);
    expect(after.seqs).toEqual([1, 2, 3, 4]);
  });

  it('does not count or call a filtered-out subscriber', () => {
    const { bus } = makeBus();
    const sub = new FakeSubscriber({ kinds: ['only'] }, 0);
    bus.subscribe(sub, null);
    bus.publish({ kind: 'x' });
    expect(sub.calls).toBe(0);
    expect(bus.subscriberCount).toBe(1);
  });

  it('stops delivering after unsubscribe', () => {
    const { bus } = makeBus();
    const sub = new FakeSubscriber();
    bus.subscribe(sub, null);
    bus.publish({ kind: 'x' });
    bus.unsubscribe(sub);
    bus.publish({ kind: 'x' });
    expect(sub.seqs).toEqual([1]);
    expect(bus.subscriberCount).toBe(0);
  });
});

describe('Bus: subscribe with since (replay ring)', () => {
  it('replays the kept events after since that match the filter, in order, then live ones', () => {
    const { bus } = makeBus();
    publishMany(bus, 6, (i) => (i % 2 === 0 ? 'even' : 'odd'));
    const sub = new FakeSubscriber({ kinds: ['even'] });
    bus.subscribe(sub, 2);
    expect(sub.seqs).toEqual([4, 6]);
    bus.publish({ kind: 'odd' });
    bus.publish({ kind: 'even' });
    expect(sub.seqs).toEqual([4, 6, 8]);
    expect(sub.events.every((e) => e.kind !== GAP_KIND)).toBe(true);
  });

  it('replays everything with since=0 while the ring still holds seq 1', () => {
    const { bus } = makeBus();
    publishMany(bus, 3);
    const sub = new FakeSubscriber();
    bus.subscribe(sub, 0);
    expect(sub.seqs).toEqual([1, 2, 3]);
  });

  it('replays nothing with since equal to the last seq, and nothing without since', () => {
    const { bus } = makeBus();
    publishMany(bus, 3);
    const caughtUp = new FakeSubscriber();
    const live = new FakeSubscriber();
    bus.subscribe(caughtUp, 3);
    bus.subscribe(live, null);
    expect(caughtUp.calls + live.calls).toBe(0);
    bus.publish({ kind: 'k' });
    expect(caughtUp.seqs).toEqual([4]);
    expect(live.seqs).toEqual([4]);
  });

  it('replays the same stored events (same encoding) that live subscribers got', () => {
    const { bus } = makeBus();
    const live = new FakeSubscriber();
    bus.subscribe(live, null);
    publishMany(bus, 2);
    const late = new FakeSubscriber();
    bus.subscribe(late, 0);
    expect(late.got).toEqual(live.got);
    expect(late.got[1]).toBe(live.got[1]);
  });

  it('announces a since older than the ring with one bus.gap first, then the kept events', () => {
    const { bus } = makeBus({ ringEvents: 5 });
    publishMany(bus, 8); // the ring keeps 4..8
    const sub = new FakeSubscriber();
    bus.subscribe(sub, 1);
    const [gap, ...rest] = sub.events;
    expect(gap).toMatchObject({ kind: GAP_KIND, type: GAP_KIND, reason: 'ring_overflow', from_seq: 2, to_seq: 3, source: 'daemon', source_host: MACHINE, target: null, version: BUS_ENVELOPE_VERSION, seq: 3 });
    // The gap stands for 2..3, so its seq is 3: a client resuming from it gets the replay that follows.
    expect(rest.map((e) => e.seq)).toEqual([4, 5, 6, 7, 8]);
    expect(sub.events.filter((e) => e.kind === GAP_KIND)).toHaveLength(1);
    bus.publish({ kind: 'k' });
    expect(sub.seqs.slice(-1)).toEqual([9]);
  });

  it('sends no gap when since is exactly one before the oldest kept event', () => {
    const { bus } = makeBus({ ringEvents: 5 });
    publishMany(bus, 8);
    const sub = new FakeSubscriber();
    bus.subscribe(sub, 3);
    expect(sub.seqs).toEqual([4, 5, 6, 7, 8]);
    expect(sub.events.some((e) => e.kind === GAP_KIND)).toBe(false);
  });

  it('announces a gap even to a subscriber whose kind filter does not match it, then filters the replay', () => {
    const { bus } = makeBus({ ringEvents: 5 });
    publishMany(bus, 8, (i) => (i === 6 ? 'wanted' : 'k'));
    const sub = new FakeSubscriber({ kinds: ['wanted'] });
    bus.subscribe(sub, 0);
    expect(sub.events.map((e) => [e.kind, e.seq])).toEqual([
      [GAP_KIND, 3],
      ['wanted', 6],
    ]);
    expect(sub.events[0]).toMatchObject({ from_seq: 1, to_seq: 3 });
  });

  it('does not store the gap notice in the ring nor send it to others', () => {
    const { bus } = makeBus({ ringEvents: 5 });
    const other = new FakeSubscriber();
    bus.subscribe(other, null);
    publishMany(bus, 8);
    bus.subscribe(new FakeSubscriber(), 0);
    expect(other.events.some((e) => e.kind === GAP_KIND)).toBe(false);
    const late = new FakeSubscriber();
    bus.subscribe(late, 3);
    expect(late.seqs).toEqual([4, 5, 6, 7, 8]);
    expect(bus.lastSeq).toBe(8);
  });

  it('announces a since ahead of the last seq with a seq_reset gap', () => {
    const { bus } = makeBus();
    publishMany(bus, 3);
    const sub = new FakeSubscriber();
    bus.subscribe(sub, 500);
    const gap = sub.events[0];
    expect(gap).toMatchObject({ kind: GAP_KIND, reason: 'seq_reset', from_seq: 1 });
    expect(sub.events.filter((e) => e.kind === GAP_KIND)).toHaveLength(1);
    bus.publish({ kind: 'k' });
    expect(sub.seqs.slice(-1)).toEqual([4]);
  });

  it('announces a seq_reset on an empty bus', () => {
    const { bus } = makeBus();
    const sub = new FakeSubscriber();
    bus.subscribe(sub, 10);
    expect(sub.events).toHaveLength(1);
    expect(sub.events[0]).toMatchObject({ kind: GAP_KIND, reason: 'seq_reset', seq: 0 });
    bus.publish({ kind: 'k' });
    expect(sub.seqs).toEqual([0, 1]);
  });

  // PROTOCOL.md: a replay "loses nothing that is still in the ring; a gap it cannot fill is announced, not hidden".
  it('after a seq_reset, every event of this daemon is either replayed or inside the announced gap', () => {
    const { bus } = makeBus();
    publishMany(bus, 3);
    const sub = new FakeSubscriber();
    bus.subscribe(sub, 500);
    const covered = new Set<number>();
    for (const e of sub.events) {
      if (e.kind === GAP_KIND) {
        for (let s = Number(e.from_seq); s <= Number(e.to_seq); s++) covered.add(s);
      } else covered.add(e.seq);
    }
    expect([1, 2, 3].filter((s) => !covered.has(s))).toEqual([]);
  });

  it('stops a replay at the first refused delivery and does not add that subscriber', () => {
    const { bus } = makeBus();
    publishMany(bus, 5);
    const sub = new FakeSubscriber({}, 2);
    bus.subscribe(sub, 0);
    expect(sub.calls).toBe(3);
    expect(sub.seqs).toEqual([1, 2]);
    expect(bus.subscriberCount).toBe(0);
    bus.publish({ kind: 'k' });
    expect(sub.calls).toBe(3);
  });
});

describe('Bus: a replay pulled at the subscriber\'s pace', () => {
  const seqsOf = (events: StoredEvent[]): number[] => events.map((e) => e.event.seq);
  const ALL: BusFilter = { kinds: [], target: null, source: null };

  it('comes in rounds within the byte budget (at least one event each), in order, then null once caught up', () => {
    const { bus } = makeBus();
    publishMany(bus, 10);
    // Every event has the same size (one-digit seqs and i, except 10, which is the last).
    const size = (bus.replay(0, ALL).take(1) as StoredEvent[])[0]?.encoded.length as number;
    const replay = bus.replay(2, ALL);
    const rounds: number[][] = [];
    for (let r = replay.take(size * 3); r; r = replay.take(size * 3)) rounds.push(seqsOf(r));
    expect(rounds).toEqual([
      [3, 4, 5],
      [6, 7, 8],
      [9, 10],
    ]);
    const big = bus.replay(0, ALL);
    expect(seqsOf(big.take(1) as StoredEvent[])).toEqual([1]);
  });

  it('takes in what is published meanwhile; going live when it returns null misses nothing', () => {
    const { bus } = makeBus();
    publishMany(bus, 3);
    const sub = new FakeSubscriber({ kinds: ['k'] });
    const replay = bus.replay(0, sub.filter);
    const got: number[] = seqsOf(replay.take(1) as StoredEvent[]);
    bus.publish({ kind: 'k' });
    bus.publish({ kind: 'other' });
    for (let r = replay.take(1); r; r = replay.take(1)) got.push(...seqsOf(r));
    bus.subscribe(sub, null);
    bus.publish({ kind: 'k' });
    expect([...got, ...sub.seqs]).toEqual([1, 2, 3, 4, 6]);
  });

  it('announces what the ring evicted before the replay reached it, and goes on from the oldest kept event', () => {
    const { bus } = makeBus({ ringEvents: 5 });
    publishMany(bus, 5);
    const replay = bus.replay(0, ALL);
    expect(seqsOf(replay.take(1) as StoredEvent[])).toEqual([1]);
    publishMany(bus, 4); // the ring now keeps 5..9: 2..4 are gone
    const next = replay.take(Infinity) as StoredEvent[];
    expect(next[0]?.event).toMatchObject({ kind: GAP_KIND, reason: 'ring_overflow', from_seq: 2, to_seq: 4, seq: 4 });
    expect(seqsOf(next.slice(1))).toEqual([5, 6, 7, 8, 9]);
    expect(replay.take(Infinity)).toBeNull();
  });
});

describe('Bus: ring bounds', () => {
  /** Replayed seqs for a fresh subscriber from since=0, without the gap notice, and the gap if any. */
  function replay(bus: Bus): { seqs: number[]; gap: BusEvent | undefined } {
    const sub = new FakeSubscriber();
    bus.subscribe(sub, 0);
    bus.unsubscribe(sub);
    return { seqs: sub.events.filter((e) => e.kind !== GAP_KIND).map((e) => e.seq), gap: sub.events.find((e) => e.kind === GAP_KIND) };
  }

  it('keeps at most ringEvents events', () => {
    const { bus } = makeBus({ ringEvents: 5 });
    publishMany(bus, 12);
    const r = replay(bus);
    expect(r.seqs).toEqual([8, 9, 10, 11, 12]);
    expect(r.gap).toMatchObject({ from_seq: 1, to_seq: 7 });
  });

  it('respects ringBytes: a big event evicts more', () => {
    const probe = makeBus();
    const rec = new FakeSubscriber();
    probe.bus.subscribe(rec, null);
    probe.bus.publish({ kind: 'k', pad: '' });
    const small = (rec.got[0] as StoredEvent).encoded.length;

    // Room for exactly four small events (seqs stay one digit, so the size does not change).
    const { bus } = makeBus({ ringEvents: 100, ringBytes: small * 4 + Math.floor(small / 2) });
    for (let i = 0; i < 6; i++) bus.publish({ kind: 'k', pad: '' });
    expect(replay(bus).seqs).toEqual([3, 4, 5, 6]);

    // An event the size of about three small ones leaves room for one small event beside it.
    bus.publish({ kind: 'k', pad: 'x'.repeat(small * 2) });
    const r = replay(bus);
    expect(r.seqs).toEqual([6, 7]);
    expect(r.gap).toMatchObject({ reason: 'ring_overflow', from_seq: 1, to_seq: 5 });
  });

  it('keeps the newest event even when it alone is larger than ringBytes', () => {
    const { bus } = makeBus({ ringEvents: 10, ringBytes: 100 });
    bus.publish({ kind: 'k' });
    bus.publish({ kind: 'k', pad: 'x'.repeat(500) });
    expect(replay(bus).seqs).toEqual([2]);
    bus.publish({ kind: 'k' });
    expect(replay(bus).seqs).toEqual([3]);
  });

  it('wraps around the circular buffer many times and still replays in order', () => {
    const { bus } = makeBus({ ringEvents: 3 });
    publishMany(bus, 50);
    expect(replay(bus).seqs).toEqual([48, 49, 50]);
    const sub = new FakeSubscriber();
    bus.subscribe(sub, 48);
    expect(sub.seqs).toEqual([49, 50]);
  });
});

describe('Bus: hooks and listeners', () => {
  it('runs onClientEvent hooks for publish() but not for emit()', () => {
    const { bus } = makeBus();
    const seen: BusEvent[] = [];
    bus.onClientEvent((e) => seen.push(e));
    bus.publish({ kind: 'turn_request', target: 'sess-1' });
    bus.emit('inject_written', { target_agent: 'sess-1' });
    expect(seen.map((e) => [e.kind, e.seq])).toEqual([['turn_request', 1]]);
  });

  it('runs client hooks after subscribers got the event', () => {
    const { bus } = makeBus();
    const sub = new FakeSubscriber();
    bus.subscribe(sub, null);
    const deliveredBefore: number[] = [];
    bus.onClientEvent(() => deliveredBefore.push(sub.calls));
    bus.publish({ kind: 'x' });
    expect(deliveredBefore).toEqual([1]);
  });

  it('runs onEvent listeners for publish() and emit()', () => {
    const { bus } = makeBus();
    const seen: string[] = [];
    bus.onEvent((e) => seen.push(`${e.kind}#${e.seq}`));
    bus.publish({ kind: 'message_routed', thread_id: 't1' });
    bus.emit('thread.closed', { thread_id: 't1' });
    expect(seen).toEqual(['message_routed#1', 'thread.closed#2']);
  });

  it('logs a listener exception instead of throwing, and still runs the other listeners', () => {
    const log = new RecordingLogger();
    const { bus } = makeBus({}, log);
    const sub = new FakeSubscriber();
    bus.subscribe(sub, null);
    const boom = new Error('listener broke');
    const after: number[] = [];
    bus.onEvent(() => {
      throw boom;
    });
    bus.onEvent((e) => after.push(e.seq));
    const hooked: number[] = [];
    bus.onClientEvent((e) => hooked.push(e.seq));
    const ack = bus.publish({ kind: 'x' });
    expect(() => bus.emit('y', {})).not.toThrow();
    expect(ack).toMatchObject({ success: true, seq: 1, delivered: 1 });
    expect(after).toEqual([1, 2]);
    expect(hooked).toEqual([1]);
    expect(sub.seqs).toEqual([1, 2]);
    const errors = log.lines.filter((l) => l.level === 'error');
    expect(errors).toHaveLength(2);
    expect(errors[0]?.message).toMatch(/ on x$/);
    expect(errors[1]?.message).toMatch(/ on y$/);
    expect(errors[0]?.err).toBe(boom);
  });

  it('lets a hook emit a daemon event (the auto-router acks) with the next seq', () => {
    const { bus } = makeBus();
    const sub = new FakeSubscriber();
    bus.subscribe(sub, null);
    bus.onClientEvent((e) => {
      if (e.kind === 'turn_request') bus.emit('inject_written', { target_agent: e.target, original_message_id: e.message_id });
    });
    const ack = bus.publish({ kind: 'turn_request', target: 'sess-1' });
    expect(sub.events.map((e) => [e.kind, e.seq])).toEqual([
      ['turn_request', 1],
      ['inject_written', 2],
    ]);
    expect(sub.events[1]).toMatchObject({ target: 'sess-1', original_message_id: ack.message_id });
  });
});

describe('Bus: paced publishing', () => {
  /** Hold the loop for `ms` (a publish's fan-out to many subscribers costs this much). */
  const hold = (ms: number): void => {
    const until = performance.now() + ms;
    while (performance.now() < until);
  };

  it('runs every paced publish in order, but yields the event loop between slices of at most PUBLISH_SLICE_MS', async () => {
    const { bus } = makeBus({ ringEvents: 1000 });
    const sub = new FakeSubscriber();
    bus.subscribe(sub, null);
    const COUNT = 200;
    const acks: number[] = [];
    /** When, relative to the paced publishes, another piece of I/O got its turn. */
    const turns: number[] = [];
    const all = new Promise<void>((resolve) => {
      for (let i = 0; i < COUNT; i++) {
        bus.publishPaced(
          () => {
            hold(0.5);
            return bus.publish({ kind: 'load.e', i });
          },
          (outcome) => {
            if (outcome.ok) acks.push(outcome.ack.seq);
            if (acks.length === COUNT) resolve();
          },
        );
      }
    });
    expect(bus.publishBacklog).toBe(COUNT);
    // Another request, arriving while the flood is queued: it must not wait for all of it.
    const ticker = setInterval(() => turns.push(acks.length), 1);
    await all;
    clearInterval(ticker);
    expect(acks).toEqual(Array.from({ length: COUNT }, (_, i) => i + 1));
    expect(sub.seqs).toEqual(acks);
    expect(bus.publishBacklog).toBe(0);
    // 200 × 0.5 ms = 100 ms of work: the timer got turns in between, each after at most a slice's worth.
    const between = turns.filter((n) => n > 0 && n < COUNT);
    expect(between.length).toBeGreaterThan(5);
    const steps = between.slice(1).map((n, k) => n - (between[k] as number));
    expect(Math.max(...steps)).toBeLessThanOrEqual(Math.ceil(PUBLISH_SLICE_MS / 0.5) * 2 + 2);
  });

  it('hands a refused event to its publisher as an error and goes on with the next', async () => {
    const { bus } = makeBus();
    const outcomes: string[] = [];
    await new Promise<void>((resolve) => {
      bus.publishPaced(() => bus.publish({ kind: '' }), (o) => outcomes.push(o.ok ? 'ok' : (o.error as TeleptyError).code));
      bus.publishPaced(() => bus.publish({ kind: 'fine' }), (o) => {
        outcomes.push(o.ok ? 'ok' : 'error');
        resolve();
      });
    });
    expect(outcomes).toEqual(['INVALID_EVENT', 'ok']);
    expect(bus.lastSeq).toBe(1);
  });
});
