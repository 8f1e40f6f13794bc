import { randomBytes } from 'node:crypto';
import type WebSocket from 'ws';
import type { FleetLink } from '../../fleet/link.js';
import { TeleptyError, isTeleptyError } from '../../protocol/errors.js';
import { VIEWER_ID_PATTERN } from '../../protocol/fleet.js';
import { VIEWER_CLOSE, parseViewerMessage, type ViewerClientMessage, type ViewerServerMessage } from '../../protocol/viewer.js';
import { describeError, type Logger } from '../../util/log.js';
import { OutputWindow, VIEWER_PING_EVERY_BYTES, WsViewer, onViewerMessages } from '../../util/viewer-flow.js';
import type { SessionRegistry } from '../sessions/registry.js';
import type { ViewerHub } from '../sessions/viewer-hub.js';
import { locate } from '../sessions/targets.js';
import type { SessionEntry, ViewerHandle } from '../target.js';
import type { WsRoute } from '../ws/upgrade.js';

/**
 * `attach id@machine` (issue 18): the viewer WebSocket of the caller's daemon (A) is carried to the session's daemon
 * (B) over a pair of subjects per viewer (`tp.view.<to>.<from>.<viewer>`). B serves it as one more viewer of the
 * session (a NatsViewer, with the flow control of a WebSocket viewer: output counted, acknowledged by A, paused when
 * a window is unconfirmed, repainted when A catches up); A relays frames to its own viewer socket (a WsViewer) and
 * acknowledges only what that socket confirmed. Both sides beat; a side silent for VIEW_LAPSE_MS is gone (the
 * viewer closes as disconnected, the session's viewer is detached). B's beat carries its output count: the frames
 * before it have arrived at A or were lost (one publisher, in order), so A then acknowledges the rest of what it
 * relayed (acks otherwise go every VIEWER_PING_EVERY_BYTES, and a paused viewer waits for all of its output to be
 * acknowledged), or asks for a fresh screen when frames were lost.
 */

/** Each side says it is there this often (an idle attach has no other traffic). */
const VIEW_BEAT_MS = 2_000;
/** A side not heard from for this long is gone (three beats, and a loaded machine's late one). */
const VIEW_LAPSE_MS = 7_000;
/** A side that missed a beat is asked whether its daemon is there at all (for the words said if it stays silent). */
const SILENT_AFTER_MS = VIEW_BEAT_MS + VIEW_BEAT_MS / 2;
/** That ping's bound: shorter than what is left of VIEW_LAPSE_MS by then. */
const SILENT_PING_MS = 2_000;
/** A WebSocket close reason is at most 123 bytes. */
const MAX_CLOSE_REASON_BYTES = 123;

/** `text` cut to fit a WebSocket close reason (whole characters). */
export function closeReason(text: string): string {
  let out = text;
  while (Buffer.byteLength(out) > MAX_CLOSE_REASON_BYTES) out = out.slice(0, -1);
  return out;
}

/** Keys and resizes held while the viewer is set up (a paste is one message): more is a viewer gone wrong. */
const MAX_PENDING_INPUT = 256;
/** A caller gets this long for the other machine to set up the viewer. */
const ATTACH_REQUEST_TIMEOUT_MS = 10_000;

/** B → A: a viewer frame with the output count so far (what A acknowledges), or a control message. */
type ToViewer = { n: number; m: ViewerServerMessage } | { type: 'closed'; code: number; reason: string } | { type: 'alive'; n: number };

function record(v: unknown): Record<string, unknown> | null {
  return typeof v === 'object' && v !== null && !Array.isArray(v) ? { ...v } : null;
}

function isServerMessage(v: unknown): v is ViewerServerMessage {
  const o = record(v);
  if (o === null) return false;
  if (o.type === 'replay' || o.type === 'output') return typeof o.data === 'string';
  if (o.type === 'exit') return o.code === null || typeof o.code === 'number';
  if (o.type === 'error') return typeof o.code === 'string' && typeof o.error === 'string';
  return false;
}

/** One remote viewer of a session of this machine, as the viewer hub sees it. */
class NatsViewer implements ViewerHandle {
  ready = false;
  private readonly window: OutputWindow;
  lastHeard = Date.now();
  detach: () => void = () => undefined;
  private closed = false;

  constructor(
    private readonly out: (text: string) => boolean,
    catchUpMs: number,
    flow: { fellBehind(v: NatsViewer): void; caughtUp(v: NatsViewer): void },
    private readonly onClose: () => void,
  ) {
    this.window = new OutputWindow(catchUpMs, {
      pause: () => {
        this.ready = false;
        flow.fellBehind(this);
      },
      caughtUp: () => flow.caughtUp(this),
      tooSlow: () => this.close(VIEWER_CLOSE.TOO_SLOW, 'viewer too slow; dropped'),
    });
  }

  get behind(): boolean {
    return this.window.behind;
  }

  /** The output count so far: what A has had, or lost, once this count's beat reaches it. */
  get count(): number {
    return this.window.count;
  }

  send(text: string | Buffer): boolean {
    if (this.closed) return false;
    const frame = typeof text === 'string' ? text : text.toString('utf8');
    const bytes = Buffer.byteLength(frame);
    // Counted even when the link refused it: A learns from the next beat's count that it was lost.
    const sent = this.out(`{"n":${this.window.count + bytes},"m":${frame}}`);
    this.window.add(bytes);
    return sent;
  }

  close(code: number, reason: string): void {
    if (this.closed) return;
    this.closed = true;
    this.window.stop();
    this.out(JSON.stringify({ type: 'closed', code, reason }));
    this.detach();
    this.onClose();
  }

  /** The viewer went away (detached, or gone silent): nothing more is sent. */
  end(): void {
    if (this.closed) return;
    this.closed = true;
    this.window.stop();
    this.detach();
    this.onClose();
  }

  ack(n: number): void {
    this.lastHeard = Date.now();
    this.window.confirm(n);
  }

  /** A caught up with its own viewer after dropping output: a fresh screen. */
  resync(): void {
    this.window.confirmAll();
  }
}

/** What remote attach uses of the fleet link. */
export type ViewLink = Pick<FleetLink, 'connected' | 'call' | 'sendView'>;

export interface RemoteViewDeps {
  machineId: string;
  link: () => ViewLink | null;
  log: Logger;
  registry: Pick<SessionRegistry, 'requireConnected'>;
  viewers: Pick<ViewerHub, 'attach'>;
  catchUpMs: number;
}

interface ClientView {
  ws: WebSocket;
  machine: string;
  viewer: WsViewer;
  lastHeard: number;
  /** Output count of the last frame taken from the other machine. */
  received: number;
  acked: number;
  /** The other machine's daemon was found gone (no daemon of it answers a ping) while it was silent. */
  absent: boolean;
  pinging: boolean;
  /** Keys and resizes typed while this machine was away from the hub, sent once it is back. */
  held: ViewerClientMessage[];
}

/** Both halves of remote attach on one daemon: serving this machine's sessions, and viewing other machines'. */
export class RemoteViews {
  private readonly served = new Map<string, { viewer: NatsViewer; caller: string; entry: SessionEntry }>();
  private readonly viewing = new Map<string, ClientView>();
  private beat: NodeJS.Timeout | null = null;

  constructor(private readonly deps: RemoteViewDeps) {}

  private send(to: string, viewer: string, message: unknown): boolean {
    return this.deps.link()?.sendView(to, viewer, message) ?? false;
  }

  private beating(): void {
    if (this.beat !== null || (this.served.size === 0 && this.viewing.size === 0)) return;
    this.beat = setInterval(() => this.onBeat(), VIEW_BEAT_MS);
    this.beat.unref();
  }

  private onBeat(): void {
    const now = Date.now();
    for (const [key, s] of this.served) {
      if (now - s.viewer.lastHeard > VIEW_LAPSE_MS) {
        this.deps.log.info(`fleet: the viewer of ${s.entry.id} on ${s.caller} went silent; detached`);
        s.viewer.end();
      } else this.send(s.caller, key.slice(key.indexOf('/') + 1), { type: 'alive', n: s.viewer.count } satisfies ToViewer);
    }
    for (const [id, v] of this.viewing) {
      if (now - v.lastHeard > VIEW_LAPSE_MS) v.ws.close(VIEWER_CLOSE.HOST_GONE, closeReason(this.lapseReason(v)));
      else {
        this.flushHeld(v, id);
        this.send(v.machine, id, { type: 'ack', n: v.acked });
        if (now - v.lastHeard > SILENT_AFTER_MS) this.askSilent(v);
      }
    }
    if (this.served.size === 0 && this.viewing.size === 0 && this.beat !== null) {
      clearInterval(this.beat);
      this.beat = null;
    }
  }

  /**
   * Keys and resizes for the other machine: held, in order, while this machine is away from the hub (a restart of
   * it takes seconds) and sent once it is back, as a local attach leaves keys in the terminal while it reattaches,
   * instead of dropped without a word. More than MAX_PENDING_INPUT held ends the view, saying so.
   */
  private input(v: ClientView, viewerId: string, msg: ViewerClientMessage): void {
    this.flushHeld(v, viewerId);
    if (v.held.length === 0 && this.send(v.machine, viewerId, msg)) return;
    if (v.held.length >= MAX_PENDING_INPUT) {
      v.ws.close(VIEWER_CLOSE.HOST_GONE, closeReason(`more than ${MAX_PENDING_INPUT} keys typed while this machine was away from the fleet's hub`));
      return;
    }
    v.held.push(msg);
  }

  private flushHeld(v: ClientView, viewerId: string): void {
    while (v.held.length > 0 && this.send(v.machine, viewerId, v.held[0] as ViewerClientMessage)) v.held.shift();
  }

  /** The other machine missed a beat: whether its daemon is there at all, for the reason given if it stays silent. */
  private askSilent(v: ClientView): void {
    const link = this.deps.link();
    if (v.pinging || link === null || !link.connected) return;
    v.pinging = true;
    void link.call(v.machine, 'ping', null, SILENT_PING_MS).then(
      () => {
        v.absent = false;
        v.pinging = false;
      },
      (err: unknown) => {
        v.absent = isTeleptyError(err) && err.code === 'HOST_OFFLINE';
        v.pinging = false;
      },
    );
  }

  /** Why a viewer of ours is closed after VIEW_LAPSE_MS without a word from the session's machine. */
  private lapseReason(v: ClientView): string {
    const secs = Math.round(VIEW_LAPSE_MS / 1000);
    const link = this.deps.link();
    if (link === null || !link.connected) return `this machine lost the fleet's hub (nothing from ${v.machine} for ${secs} s); the session goes on there`;
    if (v.absent) return `${v.machine}'s daemon stopped answering (it is not connected to the hub); the session may go on there`;
    return `${v.machine} sent nothing for ${secs} s (its daemon is stuck, or the hub drops its frames)`;
  }

  /** B: another machine asks to view a session here (its policy already checked). */
  open(caller: string, body: unknown): { id: string; cols: number; rows: number } {
    const o = record(body);
    const viewerId = o?.viewer;
    if (o === null || typeof viewerId !== 'string' || !VIEWER_ID_PATTERN.test(viewerId)) throw new TeleptyError('BAD_REQUEST', `the attach request from ${caller} is not one`);
    const entry = this.deps.registry.requireConnected(o.id);
    const key = `${caller}/${viewerId}`;
    if (this.served.has(key)) throw new TeleptyError('CONFLICT', `viewer ${viewerId} of ${caller} is attached already`);
    // Behind: off the session's viewers (its host stops sending output if none is left that keeps up); caught up:
    // attached again, which repaints it from the screen.
    const flow = {
      fellBehind: (v: NatsViewer) => {
        v.detach();
        v.detach = () => undefined;
      },
      caughtUp: (v: NatsViewer) => {
        v.detach = this.deps.viewers.attach(entry, v);
      },
    };
    const viewer = new NatsViewer((text) => this.deps.link()?.sendView(caller, viewerId, text) ?? false, this.deps.catchUpMs, flow, () => this.served.delete(key));
    this.served.set(key, { viewer, caller, entry });
    viewer.detach = this.deps.viewers.attach(entry, viewer);
    this.deps.log.info(`fleet: ${caller} attached to ${entry.id}`);
    this.beating();
    return { id: entry.id, cols: entry.cols, rows: entry.rows };
  }

  /** A frame from another machine: for a session viewer served here (keys, acks) or a viewer of ours (output). */
  receive(from: string, viewerId: string, message: unknown): void {
    const served = this.served.get(`${from}/${viewerId}`);
    if (served) return this.fromViewer(served, message);
    const view = this.viewing.get(viewerId);
    if (view && view.machine === from) this.fromSession(view, viewerId, message);
  }

  private fromViewer(s: { viewer: NatsViewer; entry: SessionEntry }, message: unknown): void {
    const o = record(message);
    if (o === null) return;
    s.viewer.lastHeard = Date.now();
    if (o.type === 'ack' && typeof o.n === 'number') s.viewer.ack(o.n);
    else if (o.type === 'resync') s.viewer.resync();
    else if (o.type === 'detach') s.viewer.end();
    else {
      const msg = parseViewerMessage(JSON.stringify(o));
      if (msg) s.entry.link?.send(msg);
    }
  }

  private fromSession(v: ClientView, viewerId: string, message: unknown): void {
    v.lastHeard = Date.now();
    v.absent = false;
    // Heard from it: the link is back, and keys held meanwhile go first.
    this.flushHeld(v, viewerId);
    const o = record(message);
    if (o === null) return;
    if (o.type === 'closed') {
      v.ws.close(typeof o.code === 'number' && o.code >= 4000 && o.code < 5000 ? o.code : VIEWER_CLOSE.HOST_GONE, closeReason(typeof o.reason === 'string' ? `${v.machine}: ${o.reason}` : `${v.machine} closed it`));
      return;
    }
    if (o.type === 'alive') {
      if (typeof o.n === 'number' && Number.isInteger(o.n)) this.settle(v, viewerId, o.n);
      return;
    }
    if (typeof o.n !== 'number' || !Number.isInteger(o.n) || o.n < v.received) return;
    // Counted even when it is no message we know (a newer machine's): it arrived, nothing was lost.
    v.received = o.n;
    if (!isServerMessage(o.m)) return;
    // A viewer of ours that fell behind gets nothing until it catches up (then a fresh screen, asked for below).
    if (v.viewer.behind) return;
    v.viewer.send(JSON.stringify(o.m));
    if (v.received - v.acked >= VIEWER_PING_EVERY_BYTES) {
      v.acked = v.received;
      this.send(v.machine, viewerId, { type: 'ack', n: v.acked });
    }
  }

  /**
   * A, on the other machine's beat with its output count `n`: every frame up to `n` has been taken or was lost. Our
   * viewer keeping up, the rest of what was relayed is acknowledged (a viewer paused there on a slow link waits for
   * exactly that: the last part of a flood is less than an ack's step, and no frame comes after it to send one); a
   * count beyond what arrived means frames were lost on the way (at most once, like a dropped link), and the screen
   * shown is wrong: a fresh one is asked for. A viewer of ours that is behind asks for one itself when it catches up.
   */
  private settle(v: ClientView, viewerId: string, n: number): void {
    if (v.viewer.behind) return;
    if (n > v.received) {
      v.received = n;
      v.acked = n;
      this.send(v.machine, viewerId, { type: 'resync' });
    } else if (v.acked < v.received) {
      v.acked = v.received;
      this.send(v.machine, viewerId, { type: 'ack', n: v.acked });
    }
  }

  /** A: a viewer socket of ours for `id` on `machine`. */
  private view(ws: WebSocket, id: string, machine: string): void {
    const viewerId = randomBytes(12).toString('hex');
    const link = this.deps.link();
    if (link === null) {
      ws.close(VIEWER_CLOSE.HOST_GONE, 'not in a fleet');
      return;
    }
    const view: ClientView = {
      ws,
      machine,
      lastHeard: Date.now(),
      received: 0,
      acked: 0,
      absent: false,
      pinging: false,
      held: [],
      viewer: new WsViewer(ws, this.deps.catchUpMs, {
        // Behind on our socket: stop acknowledging, so the other machine pauses this viewer too.
        fellBehind: () => undefined,
        // Caught up: everything taken counts as read, and a fresh screen comes.
        caughtUp: () => {
          view.acked = view.received;
          this.send(machine, viewerId, { type: 'resync' });
        },
      }),
    };
    // Subscribed (the link's view inbox) before asking: the replay that follows the answer is not missed.
    this.viewing.set(viewerId, view);
    this.beating();
    // Keys typed before the other machine has set the viewer up wait for its answer (they would find no viewer there).
    let pending: ViewerClientMessage[] | null = [];
    onViewerMessages(ws, (msg) => {
      if (pending === null) this.input(view, viewerId, msg);
      else if (pending.length < MAX_PENDING_INPUT) pending.push(msg);
    });
    ws.on('error', (err) => this.deps.log.debug(`remote viewer error on ${id}@${machine}: ${err.message}`));
    ws.on('close', () => {
      this.viewing.delete(viewerId);
      this.send(machine, viewerId, { type: 'detach' });
    });
    link.call(machine, 'attach', { id, viewer: viewerId }, ATTACH_REQUEST_TIMEOUT_MS).then(() => {
      for (const msg of pending ?? []) this.input(view, viewerId, msg);
      pending = null;
    }, (err: unknown) => {
      const e = isTeleptyError(err) ? err : new TeleptyError('INTERNAL', `attach to ${id}@${machine} failed: ${describeError(err)}`);
      if (ws.readyState === ws.OPEN) ws.send(JSON.stringify({ type: 'error', code: e.code, error: e.message } satisfies ViewerServerMessage));
      ws.close(VIEWER_CLOSE.HOST_GONE, closeReason(e.message));
    });
  }

  /**
   * The viewer route, with `id@<another machine>` viewed through the fleet (refused before the handshake when this
   * daemon is in no fleet or not connected); every other id as before.
   */
  wrapViewerRoute(route: WsRoute): WsRoute {
    const remoteOf = (id: string | undefined): { id: string; machine: string } | null => {
      if (id === undefined || !id.includes('@')) return null;
      const where = locate(id, this.deps.machineId);
      return where.local ? null : { id: where.id, machine: where.machineId };
    };
    const localParams = (params: Record<string, string>): Record<string, string> => {
      if (params.id === undefined || !params.id.includes('@')) return params;
      const where = locate(params.id, this.deps.machineId);
      return where.local ? { ...params, id: where.id } : params;
    };
    return {
      ...route,
      admit: (req, params, url) => {
        const remote = remoteOf(params.id);
        if (remote === null) return route.admit?.(req, localParams(params), url);
        const link = this.deps.link();
        if (link === null) throw new TeleptyError('UNKNOWN_HOST', `session ${params.id as string} is on host ${remote.machine}; this daemon is in no fleet, so it cannot be attached`);
        if (!link.connected) throw new TeleptyError('HOST_OFFLINE', `this machine is not connected to the fleet now, so ${remote.machine} cannot be reached`);
      },
      handOff: (req, socket, head, params) => (remoteOf(params.id) === null && route.handOff !== undefined ? route.handOff(req, socket, head, localParams(params)) : false),
      accept: (ws, req, params, url) => {
        const remote = remoteOf(params.id);
        if (remote === null) return route.accept(ws, req, localParams(params), url);
        this.view(ws, remote.id, remote.machine);
      },
    };
  }

  stop(): void {
    for (const s of [...this.served.values()]) s.viewer.close(VIEWER_CLOSE.HOST_GONE, 'daemon stopping');
    for (const v of this.viewing.values()) v.ws.close(VIEWER_CLOSE.HOST_GONE, 'daemon stopping');
    if (this.beat !== null) clearInterval(this.beat);
    this.beat = null;
  }
}
