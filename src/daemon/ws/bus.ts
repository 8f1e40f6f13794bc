import type { Duplex } from 'node:stream';
import type WebSocket from 'ws';
import { BUS_PATH, ndjsonLines, parseSubscribeQuery, type BusFilter, type BusSubscribeOptions } from '../../protocol/bus.js';
import { TeleptyError, isTeleptyError } from '../../protocol/errors.js';
import { parseJsonInput } from '../../protocol/json.js';
import type { Logger } from '../../util/log.js';
import { isLocalConnection } from '../auth.js';
import { redactErrorText, redactForRemote } from '../http/respond.js';
import type { WsRoute } from './upgrade.js';
import type { Bus, BusSubscriber, PublishOutcome, StoredEvent } from '../bus/bus.js';

/** A subscriber this far behind (queued + unsent bytes) is dropped; it can resume with `since`. */
export const SUBSCRIBER_MAX_BUFFERED_BYTES = 8 * 1024 * 1024;
/** Close code for a dropped slow subscriber. */
export const BUS_CLOSE_TOO_SLOW = 4201;

export interface BusWsTimings {
  /**
   * After the close frame to a dropped subscriber, how long it gets to take it (behind what was already queued to
   * it) before its socket is cut: a stalled peer may never answer the close handshake.
   */
  busDropGraceMs: number;
}

/**
 * Replay bytes per frame (batch=1) or per round of frames (one event per frame) while a resuming subscriber
 * catches up; the next round goes once the socket has taken this one, so a long backlog never piles up in memory.
 */
const REPLAY_ROUND_BYTES = 1024 * 1024;
/**
 * A publisher with this many events waiting for their turn is paused (its socket is not read) until it is down to
 * PUBLISHER_RESUME_AT: its events are taken at the pace they can be fanned out, never piled up in memory.
 */
export const PUBLISHER_PAUSE_AT = 64;
const PUBLISHER_RESUME_AT = 16;
/** Same bound as an HTTP body. */
const BUS_MAX_PAYLOAD = 4 * 1024 * 1024;
const NEWLINE = Buffer.from('\n');

/**
 * The bytes of an event for one subscriber: as encoded once for everyone, except that a subscriber on another
 * machine gets the error text of the daemon's own events (inject_failed, …) redacted (no paths, no stack traces).
 */
function encodedFor(stored: StoredEvent, remote: boolean): Buffer {
  const event: Record<string, unknown> = stored.event;
  if (!remote || event.source !== 'daemon' || typeof event.error !== 'string') return stored.encoded;
  const error = redactErrorText(event.error);
  return error === event.error ? stored.encoded : Buffer.from(JSON.stringify({ ...event, error }));
}

/**
 * One WebSocket subscriber: one event per frame, sent at once (the seed's clients), or, with `batch=1`, every
 * event of one pass of the event loop in a single NDJSON frame (queued, flushed on the next tick).
 */
class WsSubscriber implements BusSubscriber {
  private queue: Buffer[] = [];
  private queuedBytes = 0;
  private scheduled = false;
  private dropped = false;
  /** Seq of the last event that went out on the socket (queued ones may still be lost on a drop). */
  private lastSent = 0;
  private lastQueued = 0;
  /** The seq the event this socket is publishing takes: not echoed back to it (0.1.53 excluded the sender). */
  ownSeq = 0;
  private corked = false;

  constructor(
    private readonly ws: WebSocket,
    /** The connection under `ws` (the upgraded request's socket), corked while one turn's frames are sent. */
    private readonly socket: Duplex,
    private readonly opts: BusSubscribeOptions,
    private readonly remote: boolean,
    private readonly timings: BusWsTimings,
  ) {}

  get filter(): BusFilter {
    return this.opts;
  }

  /** Subscribe: live at once, or, with `since`, after the replay has been pulled at the socket's pace. */
  start(bus: Bus): void {
    if (this.opts.since === null) {
      bus.subscribe(this, null);
      return;
    }
    this.lastSent = this.opts.since;
    const replay = bus.replay(this.opts.since, this.opts);
    const round = (): void => {
      if (this.dropped || this.ws.readyState !== this.ws.OPEN) return;
      const events = replay.take(REPLAY_ROUND_BYTES);
      if (events === null) {
        bus.subscribe(this, null);
        return;
      }
      const last = events[events.length - 1] as StoredEvent;
      const next = (err?: Error): void => {
        if (!err) round();
      };
      if (this.opts.batch) {
        const parts: Buffer[] = [];
        for (const e of events) parts.push(encodedFor(e, this.remote), NEWLINE);
        this.ws.send(Buffer.concat(parts), { binary: false }, next);
      } else {
        for (const e of events) this.ws.send(encodedFor(e, this.remote), { binary: false }, e === last ? next : undefined);
      }
      this.lastSent = last.event.seq;
    };
    round();
  }

  deliver(stored: StoredEvent): boolean {
    if (this.dropped) return false;
    if (stored.event.seq === this.ownSeq) return true;
    if (this.ws.bufferedAmount + this.queuedBytes > SUBSCRIBER_MAX_BUFFERED_BYTES) {
      this.drop();
      return false;
    }
    const encoded = encodedFor(stored, this.remote);
    if (!this.opts.batch) {
      // One event per frame: nothing to gather, so no reason to wait. The frames of one turn (a paced slice) go
      // out in one write: a syscall per frame per subscriber is most of what a flood costs.
      if (this.ws.readyState === this.ws.OPEN) {
        if (!this.corked) {
          this.corked = true;
          this.socket.cork();
          process.nextTick(() => {
            this.corked = false;
            this.socket.uncork();
          });
        }
        this.ws.send(encoded, { binary: false });
      }
      this.lastSent = stored.event.seq;
      return true;
    }
    this.lastQueued = stored.event.seq;
    this.queue.push(encoded);
    this.queuedBytes += encoded.length;
    if (!this.scheduled) {
      this.scheduled = true;
      process.nextTick(() => this.flush());
    }
    return true;
  }

  private flush(): void {
    this.scheduled = false;
    const queue = this.queue;
    this.queue = [];
    this.queuedBytes = 0;
    if (this.dropped || this.ws.readyState !== this.ws.OPEN || queue.length === 0) return;
    const parts: Buffer[] = [];
    for (const b of queue) parts.push(b, NEWLINE);
    this.ws.send(Buffer.concat(parts), { binary: false });
    this.lastSent = this.lastQueued;
  }

  private drop(): void {
    this.dropped = true;
    this.queue = [];
    // Everything up to lastSent is on the wire (or in the peer's buffers): resuming after it loses nothing.
    this.ws.close(BUS_CLOSE_TOO_SLOW, `too slow; reconnect with since=${this.lastSent}`.slice(0, 120));
    setTimeout(() => this.ws.terminate(), this.timings.busDropGraceMs).unref();
  }
}

/** `/api/bus`: subscribe with filters in the query; publish by sending events (one per frame, or NDJSON). */
export function busRoute(bus: Bus, log: Logger, timings: BusWsTimings): WsRoute {
  return {
    method: 'GET',
    path: BUS_PATH,
    maxPayload: BUS_MAX_PAYLOAD,
    admit: (_req, _params, url) => void parseSubscribeQuery(url.searchParams),
    accept(ws, req, _params, url) {
      const opts = parseSubscribeQuery(url.searchParams);
      const remote = !isLocalConnection(req.socket);
      const sub = new WsSubscriber(ws, req.socket, opts, remote, timings);
      if (opts.subscribe) sub.start(bus);
      const answer = (body: Record<string, unknown>): void => {
        if (ws.readyState === ws.OPEN) ws.send(JSON.stringify(body));
      };
      let waiting = 0;
      const done = (outcome: PublishOutcome): void => {
        if (--waiting <= PUBLISHER_RESUME_AT && ws.isPaused && ws.readyState === ws.OPEN) ws.resume();
        if (outcome.ok) {
          if (opts.ack) answer({ kind: 'bus.ack', ...outcome.ack });
          return;
        }
        const err = outcome.error;
        if (!isTeleptyError(err)) log.error('bus publish over WS failed', err);
        const e = isTeleptyError(err) ? err : new TeleptyError('INTERNAL', 'internal error; see the daemon log');
        answer({ kind: 'bus.error', ...(remote ? redactForRemote(e.toBody()) : e.toBody()) });
      };
      ws.on('message', (data: Buffer, isBinary: boolean) => {
        const lines = isBinary ? [] : ndjsonLines(data.toString('utf8'));
        // A refused frame is answered in its turn too, so the answers keep the order of what was sent.
        const refuse = (error: string): void => {
          waiting++;
          bus.publishPaced(() => {
            throw new TeleptyError('INVALID_EVENT', error);
          }, done);
        };
        if (isBinary) refuse('events are JSON text frames');
        else if (lines.length === 0) refuse('the frame is empty: send one event, or NDJSON lines');
        for (const line of lines) {
          waiting++;
          bus.publishPaced(() => {
            // The event takes the next seq in this synchronous publish: that one is not echoed to this socket
            // (0.1.53 excluded the sender).
            sub.ownSeq = bus.lastSeq + 1;
            try {
              return bus.publish(parseJsonInput(line, 'the event'));
            } finally {
              sub.ownSeq = 0;
            }
          }, done);
        }
        // Backpressure: stop reading this publisher while its events wait for the fan-out.
        if (waiting >= PUBLISHER_PAUSE_AT && !ws.isPaused) ws.pause();
      });
      ws.on('error', (err) => log.debug(`bus client error: ${err.message}`));
      ws.on('close', () => bus.unsubscribe(sub));
    },
  };
}
