/**
 * The 0.1.5x owner link: the original `telepty allow` bridge registers a wrapped session with
 * `POST /api/sessions/register`, then owns it over a WebSocket to `/api/sessions/<id>` (the first connection
 * after the registration, or any connection with `?owner=1`). The seed's protocol on that socket:
 * daemon → owner `{type:"inject", data}` (keys to type; the text and the Enter as separate messages),
 * owner → daemon `{type:"output", data}` (what its terminal shows). It has no size, no kill and no results.
 *
 * Such a session has no host of ours, so this link stands in for one (it is the entry's HostHandle): it keeps
 * the screen model the host would keep (@xterm/headless, loaded only when a legacy owner connects) so `read`,
 * viewers' replays and the inject queue's checks work, and runs the same inject queue as a host, writing
 * through the owner. What it reports is what it saw: `written` when the text went to the bridge, `submitted`
 * only when the screen reacted to the Enter, `entered` otherwise.
 */
import type { IncomingMessage } from 'node:http';
import type WebSocket from 'ws';
import { TeleptyError } from '../../protocol/errors.js';
import type { DaemonToHost, HostRequestMap, HostRequestOp, InjectJobArgs } from '../../protocol/host-link.js';
import { parseJsonFrame } from '../../protocol/json.js';
import { DEFAULT_COLS, DEFAULT_ROWS } from '../../protocol/session.js';
import { VIEWER_CLOSE } from '../../protocol/viewer.js';
import type { Logger } from '../../util/log.js';
import { InjectQueue, type InjectTimings } from '../../terminal/inject-queue.js';
import { ScreenModel } from '../../terminal/screen.js';
import type { InjectOutcomes } from './host-hub.js';
import type { WsRoute } from '../ws/upgrade.js';
import type { HostHandle, SessionEntry } from '../target.js';
import type { SessionRegistry } from './registry.js';
import { watchHeartbeat } from '../ws/heartbeat.js';
import type { ViewerHub } from './viewer-hub.js';

/**
 * A registration arms the session for its owner: the 0.1.5x bridge opens its WebSocket right after its POST
 * (and re-registers before every reconnect), so 10 s is ample; later, a plain connection is a viewer, never an
 * owner (a viewer that became the owner would swallow every inject).
 */
export const LEGACY_OWNER_ARM_MS = 10_000;

export interface LegacyOwnerTimings {
  /** Ping interval; an owner that misses a whole interval's pong is cut (a half-open bridge is noticed fast). */
  linkHeartbeatMs: number;
}

export interface LegacyOwnerDeps {
  registry: SessionRegistry;
  viewers: ViewerHub;
  injector: InjectOutcomes;
  log: Logger;
  timings: LegacyOwnerTimings;
  /** The inject timings a host would read from its environment (daemon/settings.ts). */
  injectTimings: InjectTimings;
  now: () => number;
}

/** A session announced by `POST /api/sessions/register` that no host of ours has taken: a legacy owner may own it. */
export function isLegacySession(e: SessionEntry): boolean {
  return e.type === 'wrapped' && e.hostPid === null && e.status !== 'exited';
}

/** One owner WebSocket of a legacy session, as the entry's HostHandle. */
export class LegacyOwnerLink implements HostHandle {
  private readonly queue: InjectQueue;
  private closed = false;
  private lastInput = 0;

  constructor(
    private readonly ws: WebSocket,
    private readonly entry: SessionEntry,
    private readonly screen: ScreenModel,
    private readonly deps: LegacyOwnerDeps,
  ) {
    this.queue = new InjectQueue(
      {
        write: (data) => this.toOwner(data),
        writeQueueEmpty: () => this.ws.bufferedAmount === 0,
        bracketedPaste: () => this.screen.modes().bracketedPaste,
        cursorState: () => this.screen.cursorState(),
        lastInputAt: () => this.lastInput,
        exited: () => this.closed,
        // The bridge's terminal settings are not known here: a long line goes as it is.
        canonicalInput: () => Promise.resolve(null),
      },
      {
        written: (id, at) => deps.injector.onWritten(this.entry, { type: 'inject_written', inject_id: id, written_at: at }),
        done: (id, o) => deps.injector.onResult(this.entry, { type: 'inject_result', inject_id: id, ...o }),
      },
      deps.injectTimings,
      (held) => this.toOwner(held),
      deps.now,
    );
  }

  /** Keys for the bridge to type into its program (the seed's message). */
  private toOwner(data: string): void {
    if (!this.closed && this.ws.readyState === this.ws.OPEN) this.ws.send(JSON.stringify({ type: 'inject', data }));
  }

  /** What the registry and the viewer hub send a host; the seed's owner protocol knows only keys. */
  send(message: DaemonToHost): void {
    if (message.type === 'input') {
      this.lastInput = this.deps.now();
      if (!this.queue.hold(message.data)) this.toOwner(message.data);
    } else if (message.type === 'kill') {
      // The seed's bridge has no kill: the link is closed (as the seed's DELETE did) and the bridge decides.
      this.close(1000, 'Session destroyed');
    }
    // resize: a wrapped session keeps its user's terminal size (README); subscribe, welcome, rename: the bridge
    // has no use for them (output always comes, the screen model needs it).
  }

  request<K extends HostRequestOp>(op: K, args: HostRequestMap[K]['args']): Promise<HostRequestMap[K]['result']> {
    return this.serve(op, args) as Promise<HostRequestMap[K]['result']>;
  }

  private async serve(op: HostRequestOp, args: unknown): Promise<HostRequestMap[HostRequestOp]['result']> {
    switch (op) {
      case 'screen':
        return this.screen.snapshot(args as HostRequestMap['screen']['args']);
      case 'replay':
        return { data: await this.screen.serialize() };
      case 'inject': {
        if (this.closed) throw new TeleptyError('SESSION_DISCONNECTED', `session ${this.entry.id} is disconnected: its owner is gone`);
        return { queued: true, position: this.queue.enqueue(args as InjectJobArgs) };
      }
      case 'cancel_inject':
        return { cancelled: this.queue.cancel((args as HostRequestMap['cancel_inject']['args']).inject_id) };
      default:
        throw new TeleptyError('BAD_REQUEST', `a 0.1.5x owner cannot serve ${String(op)}`);
    }
  }

  /** A frame from the bridge: output (to the screen and the viewers); anything else of the seed's is ignored. */
  onFrame(data: Buffer, isBinary: boolean): void {
    const msg = isBinary ? null : parseJsonFrame(data.toString('utf8'));
    if (typeof msg !== 'object' || msg === null) {
      this.deps.log.debug(`legacy owner of ${this.entry.id} sent a frame that is not JSON; ignored`);
      return;
    }
    const m = msg as Record<string, unknown>;
    if (m.type !== 'output' || typeof m.data !== 'string' || m.data.length === 0) return;
    const bytes = Buffer.from(m.data, 'utf8');
    this.screen.write(bytes);
    this.deps.registry.updateState(this.entry, { type: 'state', last_activity_at: new Date(this.deps.now()).toISOString() });
    this.deps.viewers.forward(this.entry, bytes);
  }

  /** The socket closed: queued jobs can no longer be typed. */
  onClosed(): void {
    this.closed = true;
  }

  close(code: number, reason: string): void {
    this.closed = true;
    this.ws.close(code, reason);
  }

  terminate(): void {
    this.closed = true;
    this.ws.terminate();
  }
}

type Role = 'owner' | 'viewer';

/** Legacy owners of `/api/sessions/:id`: decides who owns, and serves the owners; viewers go to the viewer hub. */
export class LegacyOwners {
  /** When each legacy session was last registered (armed for its owner's first connection). */
  private readonly armedAt = new WeakMap<SessionEntry, number>();
  /** One screen per session, kept across its owner's reconnects. */
  private readonly screens = new WeakMap<SessionEntry, ScreenModel>();
  private readonly roles = new WeakMap<IncomingMessage, Role>();
  /** Sessions that have had an owner (a later one is a reconnect). */
  private readonly owned = new WeakSet<SessionEntry>();

  constructor(private readonly deps: LegacyOwnerDeps) {}

  /** `POST /api/sessions/register` of a legacy session: its next connection (soon) is its owner. */
  arm(entry: SessionEntry): void {
    if (isLegacySession(entry)) this.armedAt.set(entry, this.deps.now());
  }

  private armed(entry: SessionEntry): boolean {
    const at = this.armedAt.get(entry);
    return at !== undefined && this.deps.now() - at <= LEGACY_OWNER_ARM_MS;
  }

  /** Who this connection is: the owner of a legacy session (first connection after a registration, or `?owner=1`), or a viewer. */
  private role(entry: SessionEntry, url: URL): Role {
    const claim = url.searchParams.get('owner') === '1';
    if (!isLegacySession(entry)) {
      if (claim) throw new TeleptyError('SESSION_EXISTS', `session ${entry.id} is owned by its telepty host; a 0.1.5x owner cannot take it over`, { id: entry.id });
      return 'viewer';
    }
    if (claim) return 'owner';
    if (!entry.link && this.armed(entry)) return 'owner';
    return 'viewer';
  }

  /** `/api/sessions/:id` for owners and viewers: `viewers` is the viewer hub's route. */
  route(viewers: WsRoute): WsRoute {
    return {
      method: 'GET',
      path: viewers.path,
      ...(viewers.maxPayload !== undefined ? { maxPayload: viewers.maxPayload } : {}),
      // The viewer route's wait (the hosts a restart expects back) holds for owners too: it is bounded.
      ...(viewers.before ? { before: viewers.before } : {}),
      admit: (req, params, url) => {
        const entry = this.deps.registry.require(params.id);
        const role = this.role(entry, url);
        this.roles.set(req, role);
        if (role === 'viewer') viewers.admit?.(req, params, url);
      },
      handOff: (req, socket, head, params) => this.roles.get(req) === 'viewer' && viewers.handOff !== undefined && viewers.handOff(req, socket, head, params),
      accept: (ws, req, params, url) => {
        if (this.roles.get(req) === 'owner') this.acceptOwner(ws, params.id as string, url);
        else viewers.accept(ws, req, params, url);
      },
    };
  }

  private screenOf(entry: SessionEntry): ScreenModel {
    let screen = this.screens.get(entry);
    if (!screen) {
      screen = new ScreenModel(entry.cols || DEFAULT_COLS, entry.rows || DEFAULT_ROWS, (m) => {
        entry.bracketedPaste = m.bracketedPaste;
        entry.altScreen = m.altScreen;
      });
      this.screens.set(entry, screen);
    }
    return screen;
  }

  private acceptOwner(ws: WebSocket, id: string, url: URL): void {
    const { registry, viewers, injector, log, timings } = this.deps;
    const entry = registry.get(id);
    if (!entry || !isLegacySession(entry) || (entry.link && url.searchParams.get('owner') !== '1')) {
      ws.close(VIEWER_CLOSE.HOST_GONE, 'the session can no longer be owned');
      return;
    }
    this.armedAt.delete(entry);
    const link = new LegacyOwnerLink(ws, entry, this.screenOf(entry), this.deps);
    const old = entry.link;
    if (old instanceof LegacyOwnerLink) {
      // `?owner=1`: the bridge reconnected while its old socket still looks open (half-open): the new one wins.
      log.info(`legacy owner of ${entry.id} replaced by a newer connection`);
      injector.onHostGone(entry);
      old.terminate();
    }
    registry.attachLegacyOwner(entry, link, this.owned.has(entry));
    this.owned.add(entry);
    log.info(`legacy owner connected for ${entry.id}`);

    watchHeartbeat(ws, timings.linkHeartbeatMs, () => {
      log.warn(`legacy owner of ${entry.id} missed its heartbeat; closing`);
      ws.terminate();
    });
    ws.on('message', (data: Buffer, isBinary: boolean) => link.onFrame(data, isBinary));
    ws.on('error', (err) => log.debug(`legacy owner error on ${entry.id}: ${err.message}`));
    ws.on('close', () => {
      link.onClosed();
      if (entry.link !== link) return;
      viewers.endAll(entry, { type: 'error', code: 'SESSION_DISCONNECTED', error: 'the session owner disconnected' });
      injector.onHostGone(entry);
      registry.detachHost(entry, link);
    });
  }

  /**
   * The session was deleted: its owner is told the seed's way (its socket is closed with 1000 "Session
   * destroyed"; the seed's protocol has no kill) and its screen is dropped. Call before the entry leaves.
   */
  release(entry: SessionEntry): void {
    const link = entry.link;
    if (link instanceof LegacyOwnerLink) link.close(1000, 'Session destroyed');
    this.screens.get(entry)?.dispose();
    this.screens.delete(entry);
  }
}
