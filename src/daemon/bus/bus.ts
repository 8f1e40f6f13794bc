import { randomUUID } from 'node:crypto';
import { BUS_ENVELOPE_VERSION, GAP_KIND, matchesFilter, normalizeEvent, type BusEvent, type BusEventDraft, type BusFilter, type PublishAck } from '../../protocol/bus.js';
import type { EventSink } from '../../protocol/events.js';
import { TeleptyError } from '../../protocol/errors.js';
import type { Logger } from '../../util/log.js';

/** An event as kept in the ring: encoded once, sent as is to every subscriber. */
export interface StoredEvent {
  event: BusEvent;
  encoded: Buffer;
}

/** A subscriber as the bus sees it (the WS adapter implements it). */
export interface BusSubscriber {
  readonly filter: BusFilter;
  /** Queue an event; false when the subscriber had to be dropped (too far behind). */
  deliver(stored: StoredEvent): boolean;
}

export interface BusLimits {
  /** Events kept for `since` replay. */
  ringEvents: number;
  /** ...and at most this many bytes of them (large events evict more). */
  ringBytes: number;
}

export const DEFAULT_BUS_LIMITS: BusLimits = { ringEvents: 10_000, ringBytes: 64 * 1024 * 1024 };

/**
 * Longest stretch the event loop spends fanning out queued publishes before it lets everything else in (HTTP,
 * host links, heartbeats): a flood costs every other request at most about this much wait per turn.
 */
export const PUBLISH_SLICE_MS = 2;

/** What became of a paced publish. */
export type PublishOutcome = { ok: true; ack: PublishAck } | { ok: false; error: unknown };

/** A publish waiting for its turn: run by the pacer, its outcome handed to `done`. */
interface PacedPublish {
  run: () => PublishAck;
  done: (outcome: PublishOutcome) => void;
}

/**
 * Runs publishes in order, in slices of at most PUBLISH_SLICE_MS, yielding to the event loop (setImmediate)
 * between slices. Each publish still fans out at once to every subscriber (nothing is skipped or reordered); what
 * is bounded is how long the loop is held at a time. Publishers are paused by their adapters while theirs wait.
 */
class PublishPacer {
  private queue: PacedPublish[] = [];
  private head = 0;
  private scheduled = false;

  constructor(private readonly clock: () => number) {}

  get backlog(): number {
    return this.queue.length - this.head;
  }

  add(p: PacedPublish): void {
    this.queue.push(p);
    if (!this.scheduled) {
      this.scheduled = true;
      setImmediate(() => this.drain());
    }
  }

  private drain(): void {
    const until = this.clock() + PUBLISH_SLICE_MS;
    while (this.head < this.queue.length) {
      const p = this.queue[this.head++] as PacedPublish;
      let outcome: PublishOutcome;
      try {
        outcome = { ok: true, ack: p.run() };
      } catch (error) {
        outcome = { ok: false, error };
      }
      p.done(outcome);
      if (this.clock() >= until) break;
    }
    if (this.head === this.queue.length) {
      this.queue = [];
      this.head = 0;
      this.scheduled = false;
      return;
    }
    // Drop what is done now and then, not per publish (an array shift per event is O(backlog)).
    if (this.head > 1024) {
      this.queue = this.queue.slice(this.head);
      this.head = 0;
    }
    setImmediate(() => this.drain());
  }
}

export interface BusDeps {
  machineId: string;
  now: () => number;
  log: Logger;
  limits: BusLimits;
}

/** Replay ring: a circular buffer of the last events (contiguous seqs), bounded in count and bytes. */
class Ring {
  private readonly items: (StoredEvent | undefined)[];
  private head = 0;
  private size = 0;
  private bytes = 0;

  constructor(private readonly limits: BusLimits) {
    this.items = new Array<StoredEvent | undefined>(limits.ringEvents);
  }

  push(s: StoredEvent): void {
    if (this.size === this.items.length) this.dropOldest();
    this.items[(this.head + this.size) % this.items.length] = s;
    this.size++;
    this.bytes += s.encoded.length;
    while (this.bytes > this.limits.ringBytes && this.size > 1) this.dropOldest();
  }

  private dropOldest(): void {
    const old = this.items[this.head];
    this.items[this.head] = undefined;
    this.head = (this.head + 1) % this.items.length;
    this.size--;
    this.bytes -= old?.encoded.length ?? 0;
  }

  /** Seq of the oldest event kept, or null when empty. */
  oldestSeq(): number | null {
    return this.size === 0 ? null : (this.items[this.head]?.event.seq ?? null);
  }

  /** The kept event with this seq, or undefined when it is no longer (or not yet) kept. */
  at(seq: number): StoredEvent | undefined {
    const oldest = this.oldestSeq();
    if (oldest === null || seq < oldest || seq >= oldest + this.size) return undefined;
    return this.items[(this.head + (seq - oldest)) % this.items.length];
  }
}

/**
 * A replay from `since`, pulled at the subscriber's pace, so that a backlog larger than a subscriber's live queue
 * may hold still gets through: each take() returns the next kept events that match the filter, up to a byte
 * budget (at least one event), after a gap notice for any part the ring no longer has (also one that it evicts
 * while the replay is under way) or for a seq from before a daemon restart. Null once it has caught up with the
 * bus: the subscriber goes live right then, in the same turn, so nothing falls between.
 */
export class Replay {
  private next: number;
  private pendingGap: StoredEvent | null = null;

  constructor(
    private readonly ring: Ring,
    private readonly lastSeq: () => number,
    private readonly filter: BusFilter,
    private readonly gap: (fields: GapFields) => StoredEvent,
    since: number,
  ) {
    const last = lastSeq();
    const oldest = ring.oldestSeq() ?? last + 1;
    if (since > last) {
      // A seq from before a daemon restart: everything this daemon still keeps is new to the subscriber.
      this.pendingGap = gap({ reason: 'seq_reset', detail: `seq ${since} is ahead of this daemon's last (${last}): the daemon was restarted since, or the seq is not one of its`, from_seq: 1, to_seq: oldest - 1 });
      this.next = oldest;
    } else {
      this.next = since + 1;
    }
  }

  take(maxBytes: number): StoredEvent[] | null {
    const out: StoredEvent[] = [];
    if (this.pendingGap) {
      out.push(this.pendingGap);
      this.pendingGap = null;
    }
    const oldest = this.ring.oldestSeq();
    if (oldest !== null && this.next < oldest) {
      out.push(this.gap({ reason: 'ring_overflow', detail: `events ${this.next}-${oldest - 1} are no longer kept`, from_seq: this.next, to_seq: oldest - 1 }));
      this.next = oldest;
    }
    let bytes = 0;
    const last = this.lastSeq();
    while (this.next <= last && (bytes < maxBytes || out.length === 0)) {
      const stored = this.ring.at(this.next++);
      if (stored && matchesFilter(this.filter, stored.event)) {
        out.push(stored);
        bytes += stored.encoded.length;
      }
    }
    return out.length > 0 ? out : null;
  }
}

interface GapFields {
  reason: string;
  detail: string;
  from_seq: number;
  to_seq: number;
}

/**
 * The event bus: assigns a monotonic seq, keeps a bounded replay ring, and fans every event out, encoded once,
 * to the subscribers whose filters match. It never waits for a subscriber: one that falls behind is dropped
 * by its adapter. It is also the daemon's one event function (EventSink).
 */
export class Bus implements EventSink {
  private seq = 0;
  private readonly ring: Ring;
  private readonly subscribers = new Set<BusSubscriber>();
  private readonly clientHooks: ((event: BusEvent) => void)[] = [];
  private readonly listeners: ((event: BusEvent) => void)[] = [];
  private readonly remote = new WeakSet<object>();
  private readonly pacer = new PublishPacer(() => performance.now());

  constructor(private readonly deps: BusDeps) {
    this.ring = new Ring(deps.limits);
  }

  /**
   * Publish at the bus's pace: `run` (which calls publish) runs in its turn, in order with every other paced
   * publish, and `done` gets its ack or its error. For sources that can send faster than the fan-out (a WS
   * publisher): the loop is never held longer than PUBLISH_SLICE_MS by them.
   */
  publishPaced(run: () => PublishAck, done: (outcome: PublishOutcome) => void): void {
    this.pacer.add({ run, done });
  }

  /** Paced publishes not yet run. */
  get publishBacklog(): number {
    return this.pacer.backlog;
  }

  get lastSeq(): number {
    return this.seq;
  }

  /** An event from a client (HTTP or WS): validated, completed, stored, delivered, then given to the router. */
  publish(raw: unknown): PublishAck {
    const draft = normalizeEvent(raw, { machineId: this.deps.machineId, now: this.deps.now, newId: randomUUID });
    const { event, delivered } = this.store(draft);
    for (const hook of this.clientHooks) {
      try {
        hook(event);
      } catch (err) {
        this.deps.log.error(`bus hook failed on ${event.kind} #${event.seq}`, err);
      }
    }
    return { success: true, seq: event.seq, message_id: event.message_id, delivered };
  }

  /** A daemon event: the seed's envelope (`kind` and `type`, `sender`, `timestamp`) around its own fields. */
  emit(kind: string, fields: Record<string, unknown>): void {
    const ts = new Date(this.deps.now()).toISOString();
    const target = (fields.target ?? fields.target_agent ?? fields.session_id ?? null) as string | null;
    this.store({
      ...fields,
      version: BUS_ENVELOPE_VERSION,
      message_id: randomUUID(),
      kind,
      type: kind,
      source: 'daemon',
      sender: 'daemon',
      source_host: this.deps.machineId,
      target: typeof target === 'string' ? target : null,
      ts,
      timestamp: ts,
    });
  }

  /**
   * An event from another machine of the fleet: stored and delivered to this machine's subscribers like any other
   * (with this bus's seq), given to the router, and marked remote so it is never sent out again (no loops).
   */
  deliverRemote(event: BusEvent): void {
    const draft: BusEventDraft = { ...event };
    this.remote.add(draft);
    const { event: stored } = this.store(draft);
    if (stored.source === 'daemon') return;
    for (const hook of this.clientHooks) {
      try {
        hook(stored);
      } catch (err) {
        this.deps.log.error(`bus hook failed on remote ${stored.kind} #${stored.seq}`, err);
      }
    }
  }

  /** The event came from another machine (deliverRemote). */
  isRemote(event: BusEvent): boolean {
    return this.remote.has(event);
  }

  /** Run for every event a client publishes (the auto-router). */
  onClientEvent(hook: (event: BusEvent) => void): void {
    this.clientHooks.push(hook);
  }

  /** Run for every event (in-daemon listeners such as thread message counts). */
  onEvent(listener: (event: BusEvent) => void): void {
    this.listeners.push(listener);
  }

  private store(draft: BusEventDraft): { event: BusEvent; delivered: number } {
    // In place: the draft is ours (freshly parsed or built), and a copy per event shows up in GC time.
    const event = draft as BusEvent;
    event.seq = this.seq + 1;
    let encoded: Buffer;
    try {
      encoded = Buffer.from(JSON.stringify(event));
    } catch (err) {
      // Input is depth-checked at the edge; anything that still cannot be encoded takes no seq.
      throw new TeleptyError('INVALID_EVENT', `the event cannot be encoded: ${(err as Error).message}`);
    }
    this.seq = event.seq;
    const stored: StoredEvent = { event, encoded };
    this.ring.push(stored);
    let delivered = 0;
    for (const sub of this.subscribers) {
      if (!matchesFilter(sub.filter, event)) continue;
      if (sub.deliver(stored)) delivered++;
      else this.subscribers.delete(sub);
    }
    for (const listener of this.listeners) {
      try {
        listener(event);
      } catch (err) {
        this.deps.log.error(`bus listener failed on ${event.kind}`, err);
      }
    }
    return { event, delivered };
  }

  /**
   * Add a subscriber. With `since`, first replay what the ring still has after it; a part it no longer has (or a
   * seq from before a daemon restart) is announced with a `bus.gap` event, never silently skipped. The replay is
   * delivered at once; a subscriber that must take it at its own pace pulls it with replay() and subscribes
   * without `since` when that has caught up.
   */
  subscribe(sub: BusSubscriber, since: number | null): void {
    if (since !== null) {
      const replay = this.replay(since, sub.filter);
      for (let batch = replay.take(Infinity); batch; batch = replay.take(Infinity)) {
        for (const stored of batch) if (!sub.deliver(stored)) return;
      }
    }
    this.subscribers.add(sub);
  }

  /** The events after `since` that match `filter`, to be pulled in pieces (see Replay). */
  replay(since: number, filter: BusFilter): Replay {
    return new Replay(this.ring, () => this.seq, filter, (fields) => this.gapNotice(fields), since);
  }

  unsubscribe(sub: BusSubscriber): void {
    this.subscribers.delete(sub);
  }

  get subscriberCount(): number {
    return this.subscribers.size;
  }

  /**
   * A gap notice carries the seq of the last event it stands for (to_seq), so a client that resumes from the
   * last seq it saw resumes right after the gap, with the replay that follows it. It is sent to the one subscriber
   * that has the gap, never stored.
   */
  private gapNotice(fields: GapFields): StoredEvent {
    const ts = new Date(this.deps.now()).toISOString();
    const event: BusEvent = {
      version: BUS_ENVELOPE_VERSION,
      message_id: randomUUID(),
      kind: GAP_KIND,
      type: GAP_KIND,
      source: 'daemon',
      source_host: this.deps.machineId,
      target: null,
      ts,
      seq: Math.max(0, fields.to_seq),
      ...fields,
    };
    return { event, encoded: Buffer.from(JSON.stringify(event)) };
  }
}
