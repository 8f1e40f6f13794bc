import type { IncomingMessage } from 'node:http';
import type { Socket } from 'node:net';
import { StringDecoder } from 'node:string_decoder';
import { WebSocketServer, type WebSocket } from 'ws';
import { VIEWER_CLOSE, type ViewerClientMessage, type ViewerServerMessage } from '../protocol/viewer.js';
import type { ViewerHandoff } from '../protocol/viewer-handoff.js';
import type { Logger } from '../util/log.js';
import { VIEWER_MAX_PAYLOAD, WsViewer, onViewerMessages } from '../util/viewer-flow.js';
import { textFrame } from '../util/ws-frame.js';

export interface DirectViewerDeps {
  /** The screen to replay, taken so that every output frame sent before it is in it and none after. */
  replay(): Promise<string>;
  /** Input or a resize from a viewer. */
  onMessage(msg: ViewerClientMessage): void;
  /** How many viewers are attached, on every change (the daemon lists them). */
  onCount(n: number): void;
  log: Logger;
  /** A viewer paused for falling behind is dropped when it has not caught up in this long. */
  catchUpMs: number;
}

/**
 * Viewers this host serves itself: the daemon that spawned it hands over each viewer's socket after checking
 * auth (viewer-handoff.ts). The same viewer protocol and flow control as the daemon's relay (viewer-hub.ts),
 * one process hop fewer for every keystroke and every byte of output.
 */
export class DirectViewers {
  private readonly wss = new WebSocketServer({ noServer: true, maxPayload: VIEWER_MAX_PAYLOAD });
  private readonly viewers = new Set<WsViewer>();
  private decoder = new StringDecoder('utf8');

  constructor(private readonly deps: DirectViewerDeps) {}

  /** True while some viewer takes live output (has its replay and keeps up): only then is output gathered for it. */
  get wantsOutput(): boolean {
    for (const v of this.viewers) if (v.ready) return true;
    return false;
  }

  get count(): number {
    return this.viewers.size;
  }

  /** Complete the handshake the daemon admitted, on the socket it handed over. */
  accept(handoff: ViewerHandoff, socket: Socket): void {
    socket.on('error', (err) => this.deps.log.debug(`direct viewer socket: ${err.message}`));
    // ws reads only the method, url and headers of the request (the daemon already parsed and checked them).
    const req = { method: handoff.method, url: handoff.url, headers: handoff.headers } as unknown as IncomingMessage;
    this.wss.handleUpgrade(req, socket, Buffer.from(handoff.head, 'base64'), (ws) => this.serve(ws, socket));
  }

  private serve(ws: WebSocket, socket: Socket): void {
    // Output frames are written to the socket whole (one write each: ws-frame.ts), on the socket ws runs on.
    const viewer = new WsViewer(ws, this.deps.catchUpMs, { fellBehind: () => undefined, caughtUp: (v) => this.replay(v) }, socket);
    this.viewers.add(viewer);
    this.deps.onCount(this.viewers.size);
    this.replay(viewer);
    onViewerMessages(ws, (msg) => this.deps.onMessage(msg));
    ws.on('error', (err) => this.deps.log.debug(`direct viewer: ${err.message}`));
    ws.on('close', () => {
      if (this.viewers.delete(viewer)) this.deps.onCount(this.viewers.size);
    });
  }

  private replay(viewer: WsViewer): void {
    viewer.ready = false;
    this.deps.replay().then(
      (data) => {
        // The first viewer to take live output again starts a fresh decoder: output nobody took was not decoded.
        const fresh = !this.wantsOutput;
        if (!viewer.send(JSON.stringify({ type: 'replay', data } satisfies ViewerServerMessage))) return;
        if (fresh) this.decoder = new StringDecoder('utf8');
        viewer.ready = true;
      },
      (err: unknown) => {
        this.deps.log.warn(`replay for a direct viewer failed: ${(err as Error).message}`);
        viewer.close(VIEWER_CLOSE.HOST_GONE, 'replay failed');
      },
    );
  }

  /** Raw PTY output: encoded once as a viewer message (a whole WebSocket frame), sent to every viewer that has its replay. */
  output(bytes: Buffer): void {
    let frame: Buffer | null = null;
    for (const v of this.viewers) {
      if (!v.ready) continue;
      // Decoded only when some viewer takes it: a flood with every viewer paused costs nothing here.
      if (frame === null) {
        const data = this.decoder.write(bytes);
        if (data.length === 0) return;
        frame = textFrame(JSON.stringify({ type: 'output', data } satisfies ViewerServerMessage));
      }
      v.sendFrame(frame);
    }
  }

  /** The session ended: every viewer gets `last` and is closed; resolves once their sockets are done or after `boundMs`. */
  async endAll(last: ViewerServerMessage, code: number, reason: string, boundMs: number): Promise<void> {
    const closed: Promise<void>[] = [];
    for (const v of this.viewers) {
      v.send(JSON.stringify(last));
      closed.push(v.closed);
      v.close(code, reason);
    }
    if (closed.length === 0) return;
    let timer: NodeJS.Timeout | undefined;
    await Promise.race([Promise.all(closed), new Promise<void>((r) => (timer = setTimeout(r, boundMs)))]);
    clearTimeout(timer);
  }
}
