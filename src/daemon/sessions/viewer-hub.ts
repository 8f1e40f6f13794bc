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

/** A viewer this far behind is dropped: it must never stall the session or other viewers. */
export const VIEWER_MAX_BUFFERED_BYTES = 1024 * 1024;
/** Input and resize messages are small; a paste of a long prompt fits easily. */
const VIEWER_MAX_PAYLOAD = 1024 * 1024;

class WsViewer implements ViewerHandle {
  ready = false;

  constructor(private readonly ws: WebSocket) {}

  send(data: string | Buffer): boolean {
    if (this.ws.readyState !== this.ws.OPEN) return false;
    if (this.ws.bufferedAmount > VIEWER_MAX_BUFFERED_BYTES) {
      this.ws.close(VIEWER_CLOSE.TOO_SLOW, 'viewer too slow; dropped');
      // A stuck peer may never complete the closing handshake.
      setTimeout(() => this.ws.terminate(), 1_000).unref();
      this.ready = false;
      return false;
    }
    this.ws.send(data, { binary: false });
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
