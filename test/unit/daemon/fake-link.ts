import { parseDaemonMessage, type DaemonToHost, type HostHello, type HostRequestMap, type HostRequestOp, type HostToDaemon } from '../../../src/protocol/host-link.js';
import type { BusSubscriber, StoredEvent } from '../../../src/daemon/bus/bus.js';
import type { BusEvent, BusFilter } from '../../../src/protocol/bus.js';
import type { HostChannel, HostLinkConnection } from '../../../src/daemon/sessions/host-hub.js';
import { hostHello } from '../../helpers/host-link.js';

/**
 * The host end of a link carried in memory: what the daemon sends is parsed with the link's own guard (a frame
 * that fails it fails the test), and requests are answered as a session host answers them.
 */
export class FakeLinkHost implements HostChannel {
  open = true;
  readonly received: DaemonToHost[] = [];
  closed: { code: number; reason: string } | null = null;
  /** A host that stops answering requests (stuck, or about to go). */
  silent = false;
  /** The connection this channel feeds (set by the test once made). */
  link: HostLinkConnection | null = null;
  /** How requests are answered; default: inject queued, cancel refused, a 80x24 screen, an empty replay. */
  answer: <K extends HostRequestOp>(op: K, args: HostRequestMap[K]['args']) => unknown = (op) => {
    if (op === 'inject') return { queued: true, position: 0 };
    if (op === 'cancel_inject') return { cancelled: false };
    if (op === 'replay') return { data: 'replayed' };
    return { cols: 80, rows: 24, cursor: { x: 0, y: 0 }, alt_screen: false, bracketed_paste: false, lines: ['$ '] };
  };

  send(text: string): void {
    const msg = parseDaemonMessage(text);
    if (!msg) throw new Error(`the daemon sent a frame that is not a daemon link message: ${text}`);
    this.received.push(msg);
    if (msg.type === 'request' && this.link && !this.silent) {
      const reply = { type: 'reply', req_id: msg.req_id, ok: true, result: this.answer(msg.op, msg.args) };
      const link = this.link;
      // A host answers on a later turn.
      setImmediate(() => link.onText(JSON.stringify(reply)));
    }
  }

  close(code: number, reason: string): void {
    if (!this.open) return;
    this.open = false;
    this.closed = { code, reason };
    this.link?.onClosed();
  }

  /** A message from the host. */
  say(msg: HostToDaemon | Record<string, unknown>): void {
    this.link?.onText(JSON.stringify(msg));
  }

  ofType<T extends DaemonToHost['type']>(type: T): Extract<DaemonToHost, { type: T }>[] {
    return this.received.filter((m): m is Extract<DaemonToHost, { type: T }> => m.type === type);
  }
}

/** A hello of today's link version from a spawned session host (an 80x24 bash in /tmp, this process its host). */
export function linkHello(instance: string, id: string, over: Partial<HostHello> = {}, session: Partial<HostHello['session']> = {}): HostHello {
  const at = '2025-03-01T12:00:00.000Z';
  return hostHello(instance, id, Date.parse(at), over, {
    type: 'spawned',
    args: [],
    cwd: '/tmp',
    host_pid: process.pid,
    cols: 80,
    rows: 24,
    created_at: at,
    last_activity_at: at,
    bracketed_paste: false,
    ...session,
  });
}

/** A few turns of the event loop (a hello awaits a liveness check; acks go out on the next turn). */
export async function turns(n = 20): Promise<void> {
  for (let i = 0; i < n; i++) await new Promise((r) => setImmediate(r));
}

/** Everything the bus publishes, as a subscriber gets it. */
export class BusRecorder implements BusSubscriber {
  readonly filter: BusFilter = { kinds: [], target: null, source: null };
  readonly events: BusEvent[] = [];
  deliver(stored: StoredEvent): boolean {
    this.events.push(stored.event);
    return true;
  }
  ofKind(kind: string): BusEvent[] {
    return this.events.filter((e) => e.kind === kind);
  }
}
