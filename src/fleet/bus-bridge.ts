import type { NatsConnection, Subscription } from '@nats-io/transport-node';
import type { BusEvent } from '../protocol/bus.js';
import { FLEET_BUS_ALL, busOrigin, busSubject } from '../protocol/fleet.js';
import { describeError, type Logger } from '../util/log.js';

/**
 * The bus across machines (issue 18): this machine's events go out on `tp.bus.<self>.<kind>`; every other machine's
 * come in once each (deduplicated by message_id, never sent back out: no loops), with `source_host` set from the
 * subject the hub let its publisher use, never from the payload.
 */

/** Message ids remembered for deduplication: far more than a flood can repeat within its redelivery window. */
export const DEDUP_IDS = 10_000;

const enc = new TextEncoder();
const dec = new TextDecoder();

export interface BusBridgeDeps {
  nc: NatsConnection;
  self: string;
  log: Logger;
  /** An event from another machine, to hand to this machine's subscribers (not to publish again). */
  deliver(ev: BusEvent): void;
}

export class BusBridge {
  private readonly seen = new Set<string>();
  private sub: Subscription | null = null;

  constructor(private readonly deps: BusBridgeDeps) {}

  start(): void {
    const sub = this.deps.nc.subscribe(FLEET_BUS_ALL);
    this.sub = sub;
    void (async () => {
      for await (const m of sub) this.receive(m.subject, m.data);
    })().catch((err: unknown) => this.deps.log.error('fleet: the bus subscription ended', err));
  }

  stop(): void {
    this.sub?.unsubscribe();
    this.sub = null;
  }

  /** A local event, out to the fleet (events that came from the fleet are never passed here). */
  publish(ev: BusEvent): void {
    this.remember(ev.message_id);
    try {
      this.deps.nc.publish(busSubject(this.deps.self, ev.kind), enc.encode(JSON.stringify(ev)));
    } catch (err) {
      this.deps.log.warn(`fleet: could not publish ${ev.kind} ${ev.message_id}: ${describeError(err)}`);
    }
  }

  private remember(id: string): boolean {
    if (this.seen.has(id)) return false;
    this.seen.add(id);
    if (this.seen.size > DEDUP_IDS) {
      const oldest = this.seen.values().next();
      if (!oldest.done) this.seen.delete(oldest.value);
    }
    return true;
  }

  private receive(subject: string, data: Uint8Array): void {
    const origin = busOrigin(subject);
    if (origin === null || origin === this.deps.self) return;
    let v: unknown;
    try {
      v = JSON.parse(dec.decode(data));
    } catch (err) {
      this.deps.log.warn(`fleet: an event from ${origin} is not JSON (${describeError(err)}); dropped`);
      return;
    }
    if (!isEvent(v)) {
      this.deps.log.warn(`fleet: an event from ${origin} is not a bus event; dropped`);
      return;
    }
    if (!this.remember(v.message_id)) return;
    this.deps.deliver({ ...v, source_host: origin });
  }
}

export function isEvent(v: unknown): v is BusEvent {
  if (typeof v !== 'object' || v === null) return false;
  const o: Record<string, unknown> = { ...v };
  const nullableString = (x: unknown): boolean => x === null || typeof x === 'string';
  return (
    typeof o.version === 'number' &&
    typeof o.message_id === 'string' &&
    typeof o.kind === 'string' &&
    typeof o.type === 'string' &&
    nullableString(o.source) &&
    nullableString(o.target) &&
    typeof o.ts === 'string' &&
    typeof o.seq === 'number'
  );
}
