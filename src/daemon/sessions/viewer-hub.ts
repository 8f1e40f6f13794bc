import { StringDecoder } from 'node:string_decoder';
import type WebSocket from 'ws';
import { TeleptyError } from '../../protocol/errors.js';
import { VIEWER_CLOSE, parseViewerMessage, type ViewerServerMessage } from '../../protocol/viewer.js';
import type { Logger } from '../../util/log.js';
import type { WsRoute } from '../ws/upgrade.js';
import type { SessionEntry, SessionRegistry, ViewerHandle } from './registry.js';

export interface ViewerTimings {
  /** Bound on the host's answer with the screen to replay. */
  replayTimeoutMs: number;
}

/**
 * A viewer this far behind is dropped: it must never stall the session or other viewers. "Behind" counts what the
 * viewer has not yet read, the kernel's socket buffers included: on loopback those take ~5 MB before anything
 * shows in the socket's own buffer, and a stalled viewer fed that much costs a flood a quarter of its speed.
 */
export const VIEWER_MAX_BUFFERED_BYTES = 1024 * 1024;
/**
 * After this many bytes of output, a viewer is pinged; its pong (every WebSocket client answers pings in order, after
 * the frames before them) says it has read everything sent before the ping. A few checks per MiB of allowance.
 */
const VIEWER_ACK_EVERY_BYTES = 128 * 1024;
/** Input and resize messages are small; a paste of a long prompt fits easily. */
const VIEWER_MAX_PAYLOAD = 1024 * 1024;

class WsViewer implements ViewerHandle {
  ready = false;
  /** Bytes of frames handed to the socket. */
  private sent = 0;
  /** Bytes the viewer has certainly read: sent before a ping it answered. */
  private acked = 0;
  /** `sent` at the last ping. */
  private pingedAt = 0;
  private nextPing = 1;
  /** Ping number → bytes sent before it, for the pings not answered yet (a handful at most before a drop). */
  private readonly unanswered = new Map<number, number>();

  constructor(private readonly ws: WebSocket) {
    ws.on('pong', (payload: Buffer) => {
      const sentBefore = this.unanswered.get(Number(payload.toString('latin1')));
      if (sentBefore === undefined) return;
      for (const [n, before] of this.unanswered) if (before <= sentBefore) this.unanswered.delete(n);
      this.acked = Math.max(this.acked, sentBefore);
    });
  }

  send(data: string | Buffer): boolean {
    if (this.ws.readyState !== this.ws.OPEN) return false;
    if (this.ws.bufferedAmount > VIEWER_MAX_BUFFERED_BYTES || this.sent - this.acked > VIEWER_MAX_BUFFERED_BYTES) {
      this.ws.close(VIEWER_CLOSE.TOO_SLOW, 'viewer too slow; dropped');
      // A stuck peer may never complete the closing handshake.
      setTimeout(() => this.ws.terminate(), 1_000).unref();
      this.ready = false;
      return false;
    }
    this.ws.send(data, { binary: false });
    this.sent += data.length;
    if (this.sent - this.pingedAt >= VIEWER_ACK_EVERY_BYTES) {
      const n = this.nextPing++;
      this.unanswered.set(n, this.sent);
      this.pingedAt = this.sent;
      this.ws.ping(String(n));
    }
    return true;
  }

  close(code: number, reason: string): void {
    this.ws.close(code, reason);
  }
}

/** `/api/sessions/:id` viewers: replay first, then live output; input and resize go to the host. */
export class ViewerHub {
  /** One UTF-8 stream decoder per session while viewers are attached (a character may span two frames). */
  private readonly decoders = new WeakMap<SessionEntry, StringDecoder>();

  constructor(
    private readonly registry: SessionRegistry,
    private readonly log: Logger,
    private readonly timings: ViewerTimings,
  ) {}

  route(): WsRoute {
    return {
      method: 'GET',
      path: '/api/sessions/:id',
      maxPayload: VIEWER_MAX_PAYLOAD,
      // Refuse before the handshake: unknown ids are 404, and a WS never creates a session.
      admit: (_req, params) => void this.registry.requireConnected(params.id),
      accept: (ws, _req, params) => this.accept(ws, params.id as string),
    };
  }

  private accept(ws: WebSocket, id: string): void {
    const entry = this.registry.get(id);
    if (!entry?.link) {
      ws.close(VIEWER_CLOSE.HOST_GONE, 'the session is not connected');
      return;
    }
    const viewer = new WsViewer(ws);
    entry.viewers.add(viewer);
    if (entry.viewers.size === 1) {
      this.decoders.set(entry, new StringDecoder('utf8'));
      entry.link.send({ type: 'subscribe', on: true });
    }
    this.replay(entry, viewer);
    ws.on('message', (data: Buffer, isBinary: boolean) => {
      const msg = isBinary ? null : parseViewerMessage(data.toString('utf8'));
      if (!msg) {
        ws.close(VIEWER_CLOSE.BAD_MESSAGE, 'expected {type:"input",data} or {type:"resize",cols,rows}');
        return;
      }
      entry.link?.send(msg);
    });
    ws.on('error', (err) => this.log.debug(`viewer error on ${entry.id}: ${err.message}`));
    ws.on('close', () => this.detach(entry, viewer));
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
    if (entry.viewers.delete(viewer) && entry.viewers.size === 0) entry.link?.send({ type: 'subscribe', on: false });
  }

  /** The host dropped output frames (congested link): every viewer gets a fresh replay. */
  resync(entry: SessionEntry): void {
    this.decoders.set(entry, new StringDecoder('utf8'));
    for (const v of entry.viewers) this.replay(entry, v);
  }

  /** The session ended or its host went away: tell every viewer and close it. */
  endAll(entry: SessionEntry, last: ViewerServerMessage): void {
    const code = last.type === 'exit' ? VIEWER_CLOSE.SESSION_ENDED : VIEWER_CLOSE.HOST_GONE;
    for (const v of entry.viewers) {
      v.send(JSON.stringify(last));
      v.close(code, last.type === 'exit' ? 'session ended' : 'session host disconnected');
    }
    entry.viewers.clear();
  }
}
