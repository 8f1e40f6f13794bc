import { StringDecoder } from 'node:string_decoder';
import { TeleptyError } from '../../protocol/errors.js';
import { VIEWER_CLOSE, type ViewerServerMessage } from '../../protocol/viewer.js';
import type { SessionEntry, ViewerHandle } from '../target.js';
import type { ViewerFlowEvents } from '../../util/viewer-flow.js';

export interface ViewerTimings {
  /** Bound on the host's answer with the screen to replay. */
  replayTimeoutMs: number;
  /** A viewer paused for falling behind is dropped when it has not caught up in this long. */
  viewerCatchUpMs: number;
}

/**
 * The viewers of each session, with no transport in them (ws/viewers.ts serves them over `/api/sessions/:id`):
 * replay first, then live output; input and resize go to the host. The host sends
 * output only while some viewer keeps up: a session whose viewers all fell behind runs as if none were attached.
 */
export class ViewerHub {
  /** One UTF-8 stream decoder per session while its host sends output (a character may span two frames). */
  private readonly decoders = new WeakMap<SessionEntry, StringDecoder>();
  /** Sessions whose host was asked for output. */
  private readonly subscribed = new WeakSet<SessionEntry>();

  constructor(private readonly timings: ViewerTimings) {}

  /** How a viewer's transport reports its flow for `entry`: falling behind pauses its output, catching up replays. */
  flowOf(entry: SessionEntry): ViewerFlowEvents {
    return {
      fellBehind: () => this.syncSubscription(entry),
      caughtUp: (v) => {
        this.syncSubscription(entry);
        this.replay(entry, v);
      },
    };
  }

  /** Attach a viewer to `entry`: its replay, then live output, until the returned function detaches it. */
  attach(entry: SessionEntry, viewer: ViewerHandle): () => void {
    entry.viewers.add(viewer);
    this.syncSubscription(entry);
    this.replay(entry, viewer);
    return () => this.detach(entry, viewer);
  }

  private replay(entry: SessionEntry, viewer: ViewerHandle): void {
    viewer.ready = false;
    const link = entry.link;
    if (!link) return;
    link.request('replay', {}, this.timings.replayTimeoutMs).then(
      ({ data }) => {
        if (viewer.send(JSON.stringify({ type: 'replay', data } satisfies ViewerServerMessage))) viewer.ready = true;
      },
      (err: unknown) => {
        const code = err instanceof TeleptyError ? err.code : 'INTERNAL';
        viewer.send(JSON.stringify({ type: 'error', code, error: 'could not get the screen to replay' } satisfies ViewerServerMessage));
        viewer.close(VIEWER_CLOSE.HOST_GONE, 'replay failed');
      },
    );
  }

  /** Raw PTY output from the host: encoded once as a viewer message, sent to every viewer that has its replay. */
  forward(entry: SessionEntry, bytes: Buffer): void {
    let decoder = this.decoders.get(entry);
    if (!decoder) {
      decoder = new StringDecoder('utf8');
      this.decoders.set(entry, decoder);
    }
    const data = decoder.write(bytes);
    if (data.length === 0 || entry.viewers.size === 0) return;
    const frame = Buffer.from(JSON.stringify({ type: 'output', data } satisfies ViewerServerMessage));
    for (const v of entry.viewers) if (v.ready && !v.send(frame)) this.detach(entry, v);
  }

  /** A viewer is gone (closed, or dropped as too slow): the host stops sending output the moment none is left. */
  private detach(entry: SessionEntry, viewer: ViewerHandle): void {
    if (entry.viewers.delete(viewer)) this.syncSubscription(entry);
  }

  /** Ask the host for output exactly while some viewer keeps up (none left, or all behind: it stops sending). */
  private syncSubscription(entry: SessionEntry): void {
    const wanted = [...entry.viewers].some((v) => !v.behind);
    if (wanted === this.subscribed.has(entry) || !entry.link) return;
    if (wanted) {
      this.subscribed.add(entry);
      this.decoders.set(entry, new StringDecoder('utf8'));
    } else this.subscribed.delete(entry);
    entry.link.send({ type: 'subscribe', on: wanted });
  }

  /** The host dropped output frames (congested link): every viewer that keeps up gets a fresh replay. */
  resync(entry: SessionEntry): void {
    this.decoders.set(entry, new StringDecoder('utf8'));
    for (const v of entry.viewers) if (!v.behind) this.replay(entry, v);
  }

  /** The session ended or its host went away: tell every viewer and close it. */
  endAll(entry: SessionEntry, last: ViewerServerMessage): void {
    const code = last.type === 'exit' ? VIEWER_CLOSE.SESSION_ENDED : VIEWER_CLOSE.HOST_GONE;
    for (const v of entry.viewers) {
      v.send(JSON.stringify(last));
      v.close(code, last.type === 'exit' ? 'session ended' : 'session host disconnected');
    }
    entry.viewers.clear();
    this.subscribed.delete(entry);
  }
}
