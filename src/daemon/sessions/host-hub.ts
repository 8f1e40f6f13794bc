import type WebSocket from 'ws';
import { TeleptyError, isTeleptyError } from '../../protocol/errors.js';
import {
  HOST_LINK_PATH,
  HOST_LINK_MIN_VERSION,
  HOST_LINK_VERSION,
  LINK_CLOSE,
  exitCodeOf,
  isHostHello,
  parseHostMessage,
  type DaemonToHost,
  type HostReply,
  type HostRequestMap,
  type HostRequestOp,
  type HostToDaemon,
} from '../../protocol/host-link.js';
import type { EventSink } from '../../protocol/events.js';
import type { Logger } from '../../util/log.js';
import type { Injector } from '../inject/injector.js';
import type { WsRoute } from '../ws/upgrade.js';
import type { HostHandle, SessionEntry, SessionRegistry } from './registry.js';
import { watchHeartbeat } from '../ws/heartbeat.js';
import type { ViewerHub } from './viewer-hub.js';


export interface HostHubTimings {
  /** A host that connects must say hello within this. */
  helloTimeoutMs: number;
  /** Ping interval; a host that misses a whole interval's pong is cut (half-open links are replaced fast). */
  linkHeartbeatMs: number;
}

/** Host link frames can carry a scrollback snapshot. */
const HOST_LINK_MAX_PAYLOAD = 64 * 1024 * 1024;

interface Pending {
  resolve: (v: unknown) => void;
  reject: (e: Error) => void;
  timer: NodeJS.Timeout;
}

/** A HostHandle over one WebSocket: sends messages, correlates requests with replies. */
class WsHostHandle implements HostHandle {
  private nextId = 1;
  private readonly pending = new Map<number, Pending>();

  constructor(private readonly ws: WebSocket) {}

  send(message: DaemonToHost): void {
    if (this.ws.readyState === this.ws.OPEN) this.ws.send(JSON.stringify(message));
  }

  request<K extends HostRequestOp>(op: K, args: HostRequestMap[K]['args'], timeoutMs: number): Promise<HostRequestMap[K]['result']> {
    const reqId = this.nextId++;
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        this.pending.delete(reqId);
        reject(new TeleptyError('TIMEOUT', `the session host did not answer ${op} within ${timeoutMs} ms`));
      }, timeoutMs);
      this.pending.set(reqId, { resolve: resolve as (v: unknown) => void, reject, timer });
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
    this.ws.close(code, reason);
  }
}

export interface HostHubDeps {
  registry: SessionRegistry;
  viewers: ViewerHub;
  events: EventSink;
  log: Logger;
  timings: HostHubTimings;
  injector: Injector;
  /** The session exited; `killed` when it ended because it was killed. */
  onExit: (entry: SessionEntry) => void;
  /** A host said which spawn request started it. */
  spawnedBy?: (requestId: string, entry: SessionEntry) => void;
}

/** `/api/host`: the WebSocket every session host keeps open to the daemon. */
export function hostLinkRoute(deps: HostHubDeps): WsRoute {
  const { registry, viewers, log, timings } = deps;
  return {
    method: 'GET',
    path: HOST_LINK_PATH,
    maxPayload: HOST_LINK_MAX_PAYLOAD,
    accept(ws) {
      const handle = new WsHostHandle(ws);
      let entry: SessionEntry | null = null;
      let helloSeen = false;
      let linkVersion = HOST_LINK_VERSION;
      // Acks go out on the next turn, after the bus has sent the published events on (it flushes on nextTick):
      // a daemon killed in between has then not told the host to forget an outcome nobody received. Gathered: one
      // frame for a burst of results.
      let acks: string[] = [];
      const ack = (injectId: string): void => {
        if (acks.push(injectId) > 1) return;
        setImmediate(() => {
          const ids = acks;
          acks = [];
          handle.send({ type: 'inject_ack', inject_ids: ids });
        });
      };
      const helloTimer = setTimeout(() => ws.close(LINK_CLOSE.BAD_MESSAGE, 'no hello'), timings.helloTimeoutMs);
      watchHeartbeat(ws, timings.linkHeartbeatMs, () => {
        log.warn(`host link of ${entry?.id ?? '(unregistered)'} missed its heartbeat; closing`);
        ws.terminate();
      });

      const onHello = async (msg: HostToDaemon): Promise<void> => {
        helloSeen = true;
        clearTimeout(helloTimer);
        if (!isHostHello(msg)) {
          ws.close(LINK_CLOSE.BAD_MESSAGE, 'the first message must be a valid hello');
          return;
        }
        if (msg.link_version < HOST_LINK_MIN_VERSION || msg.link_version > HOST_LINK_VERSION) {
          ws.close(LINK_CLOSE.VERSION_MISMATCH, `host link v${msg.link_version}; this daemon speaks v${HOST_LINK_MIN_VERSION}-v${HOST_LINK_VERSION}`);
          return;
        }
        linkVersion = msg.link_version;
        // A killed host whose entry is already gone: end it without registering it again. (One whose entry
        // still exists is attached below and told to end through its entry's killPending.)
        if (!registry.hasInstance(msg.host_instance) && registry.wasKilled(msg.host_instance)) {
          handle.send({ type: 'welcome', link_version: HOST_LINK_VERSION, session_id: msg.session_id });
          handle.send({ type: 'kill', reason: 'the session was killed' });
          return;
        }
        try {
          const attached = await registry.attachHost(msg, handle);
          entry = attached.entry;
        } catch (err) {
          if (isTeleptyError(err) && (err.code === 'SESSION_EXISTS' || err.code === 'INVALID_SESSION_ID')) {
            ws.close(err.code === 'SESSION_EXISTS' ? LINK_CLOSE.ID_CONFLICT : LINK_CLOSE.BAD_MESSAGE, err.message.slice(0, 120));
            return;
          }
          throw err;
        }
        if (ws.readyState !== ws.OPEN) {
          registry.detachHost(entry, handle);
          return;
        }
        handle.send({ type: 'welcome', link_version: HOST_LINK_VERSION, session_id: entry.id });
        if (typeof msg.session.spawn_request_id === 'string') deps.spawnedBy?.(msg.session.spawn_request_id, entry);
        registry.hostReady(entry);
        if (entry.killPending) handle.send({ type: 'kill', reason: 'the session was killed while its host was away' });
      };

      const onMessage = (msg: HostToDaemon): void => {
        if (!entry) return;
        switch (msg.type) {
          case 'state':
            registry.updateState(entry, msg);
            return;
          case 'reply':
            handle.settle(msg);
            return;
          case 'exit':
            registry.markExited(entry, exitCodeOf(msg.code, msg.signal), msg.signal ? `signal ${msg.signal}` : 'exited');
            viewers.endAll(entry, { type: 'exit', code: entry.exitCode });
            deps.onExit(entry);
            return;
          case 'gap':
            viewers.resync(entry);
            return;
          case 'event':
            if (typeof msg.kind === 'string' && typeof msg.fields === 'object' && msg.fields !== null) deps.events.emit(msg.kind, { ...msg.fields, session_id: entry.id });
            return;
          case 'inject_written':
            deps.injector.onWritten(entry, msg);
            return;
          case 'inject_result':
            deps.injector.onResult(entry, msg);
            // Published: the host may forget it (a v2 host keeps no results and knows no ack).
            if (linkVersion >= 3) ack(msg.inject_id);
            return;
          case 'hello':
            ws.close(LINK_CLOSE.BAD_MESSAGE, 'hello sent twice');
            return;
        }
      };

      ws.on('message', (data: Buffer, isBinary: boolean) => {
        if (isBinary) {
          if (entry) viewers.forward(entry, data);
          // Output before the hello belongs to no session: a malformed link, closed at once (not at the hello timeout).
          else if (!helloSeen) ws.close(LINK_CLOSE.BAD_MESSAGE, 'the first message must be a valid hello');
          return;
        }
        const msg = parseHostMessage(data.toString('utf8'));
        if (!msg) {
          ws.close(LINK_CLOSE.BAD_MESSAGE, 'not a host link message');
          return;
        }
        if (!helloSeen) {
          void onHello(msg).catch((err: unknown) => {
            log.error('host hello failed', err);
            ws.close(1011, 'internal error');
          });
          return;
        }
        onMessage(msg);
      });

      ws.on('error', (err) => log.debug(`host link error: ${err.message}`));
      ws.on('close', () => {
        clearTimeout(helloTimer);
        handle.failAll(new TeleptyError('SESSION_DISCONNECTED', `session ${entry?.id ?? ''} disconnected while the request was in flight`));
        if (!entry) return;
        if (entry.link === handle) {
          viewers.endAll(entry, { type: 'error', code: 'SESSION_DISCONNECTED', error: 'the session host disconnected' });
          deps.injector.onHostGone(entry);
        }
        registry.detachHost(entry, handle);
      });
    },
  };
}
