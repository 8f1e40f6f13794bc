import { DeliverPolicy, jetstream, jetstreamManager, type ConsumerMessages } from '@nats-io/jetstream';
import type { NatsConnection } from '@nats-io/transport-node';
import type { BusEvent } from '../protocol/bus.js';
import { FLEET_EVENTS_STREAM, busOrigin } from '../protocol/fleet.js';
import { sleep } from '../util/async.js';
import { describeError, type Logger } from '../util/log.js';
import { isEvent } from './bus-bridge.js';

/**
 * The fleet's bus history (issue 18): the JetStream stream `telepty-events` keeps every machine's events, bounded by
 * age and size (connect.ts). `tail --all-machines` follows it through one ordered consumer of its own (one filter:
 * nats-server 2.9 has no multi-filter consumers), resuming after a stream sequence; a part the stream no longer
 * keeps is announced as a gap, never skipped silently.
 */

/** A part of the history a follower asked for that it cannot have. */
export interface HistoryGap {
  reason: 'stream_limit' | 'seq_reset';
  detail: string;
  from_seq: number;
  /** The last stream sequence the gap stands for: resuming after it resumes right after the gap. */
  to_seq: number;
}

export interface HistoryFollower {
  /** An event as the fleet saw it: `seq` is its stream sequence, `origin_seq` its seq on its machine. */
  event(ev: BusEvent): Promise<void> | void;
  gap(g: HistoryGap): void;
}

const dec = new TextDecoder();

/**
 * Where to start following so as to have what comes after `since` (null: from now on): the stream's next sequence
 * or one it still keeps, with the gap the follower is told of when it cannot have it all.
 */
async function startAfter(nc: NatsConnection, since: number | null): Promise<{ start: number; gap: HistoryGap | null }> {
  const jsm = await jetstreamManager(nc);
  const { state } = await jsm.streams.info(FLEET_EVENTS_STREAM);
  const last = state.last_seq;
  const first = state.messages === 0 ? last + 1 : state.first_seq;
  const start = since === null ? last + 1 : since + 1;
  if (since !== null && since > last) {
    return { start: last + 1, gap: { reason: 'seq_reset', detail: `seq ${since} is ahead of the fleet stream's last (${last}): the stream was recreated, or the seq is not one of its`, from_seq: 1, to_seq: last } };
  }
  if (since !== null && start < first) {
    return { start: first, gap: { reason: 'stream_limit', detail: `events ${start}-${first - 1} are no longer kept by the fleet's stream (bounded by age and size)`, from_seq: start, to_seq: first - 1 } };
  }
  return { start, gap: null };
}

/** After the hub came back, following again is tried this often until it works (its JetStream may still be starting). */
const REFOLLOW_RETRY_MS = 1_000;

/**
 * Follow the stream after `since` (a stream sequence), or from now on when null, until the returned stop. Resolves
 * once the consumer is in place (events published after that are delivered), so a caller may say "following".
 * After every reconnect it follows again, after the last event it delivered, with a consumer of its own: the hub
 * may have restarted (its consumers gone), and nats.js's ordered consumer, reset after a hub killed -9 and restarted,
 * delivered one event or none and then nothing more, without a word (checked by hand with nats-server 2.9.10).
 */
export async function followHistory(
  nc: NatsConnection,
  since: number | null,
  follower: HistoryFollower,
  log: Logger,
  /** Calls `f` each time the connection is back after a loss; returns the way to stop listening. */
  onReconnect: (f: () => void) => () => void,
): Promise<{ stop(): void }> {
  let stopped = false;
  /** The stream sequence of the last event handed on (null: none yet, following from `since`). */
  let delivered: number | null = since;
  let current: ConsumerMessages | null = null;
  const open = async (): Promise<void> => {
    const { start, gap } = await startAfter(nc, delivered);
    if (gap) follower.gap(gap);
    delivered = start - 1;
    const consumer = await jetstream(nc).consumers.get(FLEET_EVENTS_STREAM, { deliver_policy: DeliverPolicy.StartSequence, opt_start_seq: Math.max(1, start) });
    const messages: ConsumerMessages = await consumer.consume();
    current = messages;
    void pump(messages).catch((err: unknown) => log.warn(`fleet: following the event stream ended: ${describeError(err)}`));
  };
  const pump = async (messages: ConsumerMessages): Promise<void> => {
    for await (const m of messages) {
      if (stopped || messages !== current) break;
      // Already handed on (a consumer opened again after a reconnect starts where the last one left off).
      if (delivered !== null && m.seq <= delivered) continue;
      delivered = m.seq;
      const origin = busOrigin(m.subject);
      let v: unknown;
      try {
        v = JSON.parse(dec.decode(m.data));
      } catch (err) {
        log.warn(`fleet: stream message ${m.seq} is not JSON (${describeError(err)}); skipped`);
        continue;
      }
      if (origin === null || !isEvent(v)) {
        log.warn(`fleet: stream message ${m.seq} is not a bus event; skipped`);
        continue;
      }
      await follower.event({ ...v, source_host: origin, origin_seq: v.seq, seq: m.seq });
    }
  };
  const close = (messages: ConsumerMessages | null): void => {
    void messages?.close().catch((err: unknown) => log.debug(`fleet: closing a stream follower: ${describeError(err)}`));
  };
  await open();
  let reopening = false;
  const reopen = async (): Promise<void> => {
    if (reopening) return;
    reopening = true;
    const old = current;
    current = null;
    close(old);
    while (!stopped && current === null) {
      try {
        await open();
      } catch (err) {
        log.warn(`fleet: following the event stream again after a reconnect failed (${describeError(err)}); retrying`);
        await sleep(REFOLLOW_RETRY_MS);
      }
    }
    reopening = false;
  };
  const off = onReconnect(() => void reopen());
  return {
    stop() {
      stopped = true;
      off();
      close(current);
    },
  };
}
