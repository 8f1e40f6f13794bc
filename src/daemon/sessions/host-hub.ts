import { TeleptyError, isTeleptyError } from '../../protocol/errors.js';
import {
  HOST_LINK_MIN_VERSION,
  HOST_LINK_VERSION,
  LINK_CLOSE,
  LINK_FEATURES,
  exitCodeOf,
  isHostRequestResult,
  parseHostMessage,
  type DaemonToHost,
  type HostHello,
  type HostLastScreen,
  type HostReply,
  type HostRequestMap,
  type HostRequestOp,
  type HostToDaemon,
} from '../../protocol/host-link.js';
import type { Logger } from '../../util/log.js';
import type { HostHandle, SessionEntry } from '../target.js';
import type { SessionRegistry } from './registry.js';
import type { ViewerHub } from './viewer-hub.js';

export interface HostHubTimings {
  /** A host that connects must say hello within this. */
  helloTimeoutMs: number;
  /** Ping interval; a host that misses a whole interval's pong is cut (half-open links are replaced fast). */
  linkHeartbeatMs: number;
}

/**
 * One host link as the hub sees it, whatever carries it (a WebSocket in the daemon, an in-memory pair in tests):
 * text frames out, and a way to end it.
 */
export interface HostChannel {
  /** Whether frames sent now still go out. */
  readonly open: boolean;
  send(text: string): void;
  close(code: number, reason: string): void;
}

/** What the hub tells the injector about a host's jobs (the injector implements it). */
export interface InjectOutcomes {
  onWritten(entry: SessionEntry, msg: Extract<HostToDaemon, { type: 'inject_written' }>): void;
  onResult(entry: SessionEntry, msg: Extract<HostToDaemon, { type: 'inject_result' }>): void;
  onHostGone(entry: SessionEntry): void;
}

export interface HostHubDeps {
  registry: SessionRegistry;
  viewers: ViewerHub;
  log: Logger;
  timings: HostHubTimings;
  injector: InjectOutcomes;
  /** The session exited; `killed` when it ended because it was killed. */
  onExit: (entry: SessionEntry) => void;
  /** A host said which spawn request started it. */
  spawnedBy?: (requestId: string, entry: SessionEntry) => void;
}

interface Pending {
  op: HostRequestOp;
  resolve: (v: unknown) => void;
  reject: (e: Error) => void;
  timer: NodeJS.Timeout;
}

/** A HostHandle over one channel: sends messages, correlates requests with replies (each answer checked for its op). */
export class ChannelHostHandle implements HostHandle {
  private nextId = 1;
  private readonly pending = new Map<number, Pending>();

  constructor(private readonly channel: HostChannel) {}

  send(message: DaemonToHost): void {
    if (this.channel.open) this.channel.send(JSON.stringify(message));
  }

  request<K extends HostRequestOp>(op: K, args: HostRequestMap[K]['args'], timeoutMs: number): Promise<HostRequestMap[K]['result']> {
    const reqId = this.nextId++;
    return new Promise<HostRequestMap[K]['result']>((resolve, reject) => {
      const timer = setTimeout(() => {
        this.pending.delete(reqId);
        reject(new TeleptyError('TIMEOUT', `the session host did not answer ${op} within ${timeoutMs} ms`));
      }, timeoutMs);
      const settle = (v: unknown): void => {
        if (isHostRequestResult(op, v)) resolve(v);
        else reject(new TeleptyError('INTERNAL', `the session host answered ${op} with a malformed result`));
      };
      this.pending.set(reqId, { op, resolve: settle, reject, timer });
      this.send({ type: 'request', req_id: reqId, op, args });
    });
  }

  settle(reply: HostReply): void {
    const p = this.pending.get(reply.req_id);
    if (!p) return;
    this.pending.delete(reply.req_id);
    clearTimeout(p.timer);
    if (reply.ok) p.resolve(reply.result);
    else p.reject(TeleptyError.fromBody(reply.error));
  }

  failAll(err: TeleptyError): void {
    for (const p of this.pending.values()) {
      clearTimeout(p.timer);
      p.reject(err);
    }
    this.pending.clear();
  }

  close(code: number, reason: string): void {
    this.channel.close(code, reason);
  }
}

/**
 * One host's link, from its hello to its close, with no transport in it: the adapter (ws/host-link.ts) passes
 * frames in (`onText`, `onBinary`) and says when the channel closed (`onClosed`).
 */
export class HostLinkConnection {
  readonly handle: ChannelHostHandle;
  private entry: SessionEntry | null = null;
  private helloSeen = false;
  /** The screen its host sent just before its exit report: kept with the exited session. */
  private lastScreen: HostLastScreen | undefined;
  private linkVersion = HOST_LINK_VERSION;
  /** Acks gathered for the next turn (see ack()). */
  private acks: string[] = [];
  private readonly helloTimer: NodeJS.Timeout;

  constructor(
    private readonly channel: HostChannel,
    private readonly deps: HostHubDeps,
  ) {
    this.handle = new ChannelHostHandle(channel);
    this.helloTimer = setTimeout(() => channel.close(LINK_CLOSE.BAD_MESSAGE, 'no hello'), deps.timings.helloTimeoutMs);
  }

  /** The session this link serves, once its hello was taken. */
  get session(): SessionEntry | null {
    return this.entry;
  }

  /** Raw PTY output (binary frame). */
  onBinary(data: Buffer): void {
    if (this.entry) this.deps.viewers.forward(this.entry, data);
    // Output before the hello belongs to no session: a malformed link, closed at once (not at the hello timeout).
    else if (!this.helloSeen) this.channel.close(LINK_CLOSE.BAD_MESSAGE, 'the first message must be a valid hello');
  }

  /** A text frame: one host link message, checked whole; anything else closes the link. */
  onText(text: string): void {
    const msg = parseHostMessage(text);
    if (!this.helloSeen) {
      this.helloSeen = true;
      clearTimeout(this.helloTimer);
      if (!msg || msg.type !== 'hello') {
        this.channel.close(LINK_CLOSE.BAD_MESSAGE, 'the first message must be a valid hello');
        return;
      }
      void this.onHello(msg).catch((err: unknown) => {
        this.deps.log.error('host hello failed', err);
        this.channel.close(1011, 'internal error');
      });
      return;
    }
    if (!msg) {
      this.channel.close(LINK_CLOSE.BAD_MESSAGE, 'not a host link message');
      return;
    }
    this.onMessage(msg);
  }

  /** The channel closed: requests in flight fail, viewers and waiting injects are told, the session is detached. */
  onClosed(): void {
    clearTimeout(this.helloTimer);
    const { entry, handle } = this;
    // A host ends its link right after its exit report: a request still in flight then failed because the session ended.
    handle.failAll(
      entry?.status === 'exited'
        ? new TeleptyError('SESSION_EXITED', `session ${entry.id} has exited (code ${entry.exitCode})`, { id: entry.id })
        : new TeleptyError('SESSION_DISCONNECTED', `session ${entry?.id ?? ''} disconnected while the request was in flight`),
    );
    if (!entry) return;
    // After the exit report no result of its jobs can come any more: those its host did not report end now.
    if (entry.status === 'exited') this.deps.injector.onHostGone(entry);
    else if (entry.link === handle) {
      this.deps.viewers.endAll(entry, { type: 'error', code: 'SESSION_DISCONNECTED', error: 'the session host disconnected' });
      this.deps.injector.onHostGone(entry);
    }
    this.deps.registry.detachHost(entry, handle);
  }

  private async onHello(msg: HostHello): Promise<void> {
    const { registry } = this.deps;
    const { handle } = this;
    if (msg.link_version < HOST_LINK_MIN_VERSION || msg.link_version > HOST_LINK_VERSION) {
      this.channel.close(LINK_CLOSE.VERSION_MISMATCH, `host link v${msg.link_version}; this daemon speaks v${HOST_LINK_MIN_VERSION}-v${HOST_LINK_VERSION}`);
      return;
    }
    this.linkVersion = msg.link_version;
    // A killed host whose entry is already gone: end it without registering it again. (One whose entry still
    // exists is attached below and told to end through its entry's killPending.)
    if (!registry.hasInstance(msg.host_instance) && registry.wasKilled(msg.host_instance)) {
      handle.send({ type: 'welcome', link_version: HOST_LINK_VERSION, session_id: msg.session_id });
      handle.send({ type: 'kill', reason: 'the session was killed' });
      return;
    }
    let entry: SessionEntry;
    try {
      entry = (await registry.attachHost(msg, handle)).entry;
    } catch (err) {
      if (isTeleptyError(err) && (err.code === 'SESSION_EXISTS' || err.code === 'INVALID_SESSION_ID')) {
        this.channel.close(err.code === 'SESSION_EXISTS' ? LINK_CLOSE.ID_CONFLICT : LINK_CLOSE.BAD_MESSAGE, err.message.slice(0, 120));
        return;
      }
      throw err;
    }
    this.entry = entry;
    if (!this.channel.open) {
      registry.detachHost(entry, handle);
      return;
    }
    // Features are told only to a host that announced its own (an older host is sent the welcome it knows).
    handle.send({ type: 'welcome', link_version: HOST_LINK_VERSION, session_id: entry.id, ...(msg.features ? { features: [...LINK_FEATURES] } : {}) });
    if (msg.session.spawn_request_id !== undefined) this.deps.spawnedBy?.(msg.session.spawn_request_id, entry);
    registry.hostReady(entry);
    if (entry.killPending) handle.send({ type: 'kill', reason: 'the session was killed while its host was away' });
  }

  private onMessage(msg: HostToDaemon): void {
    const { entry, deps } = this;
    if (!entry) return;
    switch (msg.type) {
      case 'state':
        deps.registry.updateState(entry, msg);
        return;
      case 'reply':
        this.handle.settle(msg);
        return;
      case 'last_screen':
        this.lastScreen = msg;
        return;
      case 'exit':
        if (entry.status !== 'exited') entry.lastScreen = this.lastScreen;
        deps.registry.markExited(entry, exitCodeOf(msg.code, msg.signal), msg.signal ? `signal ${msg.signal}` : 'exited');
        deps.viewers.endAll(entry, { type: 'exit', code: entry.exitCode });
        deps.onExit(entry);
        return;
      case 'gap':
        deps.viewers.resync(entry);
        return;
      case 'agent_state': {
        const { state, since, source, detail, reason, explain } = msg;
        deps.registry.states.report(entry, { state, since, source, detail, reason }, explain);
        return;
      }
      case 'inject_written':
        deps.injector.onWritten(entry, msg);
        return;
      case 'inject_result':
        deps.injector.onResult(entry, msg);
        // Published: the host may forget it (a v2 host keeps no results and knows no ack).
        if (this.linkVersion >= 3) this.ack(msg.inject_id);
        return;
      case 'hello':
        this.channel.close(LINK_CLOSE.BAD_MESSAGE, 'hello sent twice');
        return;
    }
  }

  /**
   * Acks go out on the next turn, after the bus has sent the published events on (it flushes on nextTick): a
   * daemon killed in between has then not told the host to forget an outcome nobody received. Gathered: one frame
   * for a burst of results.
   */
  private ack(injectId: string): void {
    if (this.acks.push(injectId) > 1) return;
    setImmediate(() => {
      const ids = this.acks;
      this.acks = [];
      this.handle.send({ type: 'inject_ack', inject_ids: ids });
    });
  }
}
