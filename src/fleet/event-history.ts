import { DeliverPolicy, jetstream, jetstreamManager, type ConsumerMessages } from '@nats-io/jetstream';
import type { NatsConnection } from '@nats-io/transport-node';
import type { BusEvent } from '../protocol/bus.js';
import { FLEET_EVENTS_STREAM, busOrigin } from '../protocol/fleet.js';
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
 * Follow the stream after `since` (a stream sequence), or from now on when null, until the returned stop. Resolves
 * once the consumer is in place (events published after that are delivered), so a caller may say "following".
 */
export async function followHistory(nc: NatsConnection, since: number | null, follower: HistoryFollower, log: Logger): Promise<{ stop(): void }> {
  const jsm = await jetstreamManager(nc);
  const { state } = await jsm.streams.info(FLEET_EVENTS_STREAM);
  const last = state.last_seq;
  const first = state.messages === 0 ? last + 1 : state.first_seq;
  let start = since === null ? last + 1 : since + 1;
  if (since !== null && since > last) {
    follower.gap({ reason: 'seq_reset', detail: `seq ${since} is ahead of the fleet stream's last (${last}): the stream was recreated, or the seq is not one of its`, from_seq: 1, to_seq: last });
    start = last + 1;
  } else if (since !== null && start < first) {
    follower.gap({ reason: 'stream_limit', detail: `events ${start}-${first - 1} are no longer kept by the fleet's stream (bounded by age and size)`, from_seq: start, to_seq: first - 1 });
    start = first;
  }
  const consumer = await jetstream(nc).consumers.get(FLEET_EVENTS_STREAM, { deliver_policy: DeliverPolicy.StartSequence, opt_start_seq: Math.max(1, start) });
  const messages: ConsumerMessages = await consumer.consume();
  let stopped = false;
  void (async () => {
    for await (const m of messages) {
      if (stopped) break;
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
  })().catch((err: unknown) => log.warn(`fleet: following the event stream ended: ${describeError(err)}`));
  return {
    stop() {
      stopped = true;
      void messages.close().catch((err: unknown) => log.debug(`fleet: closing a stream follower: ${describeError(err)}`));
    },
  };
}
