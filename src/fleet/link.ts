import { Kvm } from '@nats-io/kv';
import type { NatsConnection } from '@nats-io/transport-node';
import type { BusEvent } from '../protocol/bus.js';
import { TeleptyError, isTeleptyError } from '../protocol/errors.js';
import { FLEET_DIRECTORY_BUCKET, parseViewSubject, viewInbox, viewSubject, type FleetOp, type FleetState, type FleetStatus } from '../protocol/fleet.js';
import { sleep } from '../util/async.js';
import { describeError, type Logger } from '../util/log.js';
import { BusBridge } from './bus-bridge.js';
import type { FleetConfig } from './config.js';
import { connectFleet } from './connect.js';
import { FleetDirectory, type DirectoryTimings } from './directory.js';
import type { MachineListing } from '../protocol/fleet.js';
import { followHistory, type HistoryFollower } from './event-history.js';
import { randomBytes } from 'node:crypto';
import { FLEET_REQUEST_TIMEOUT_MS, callMachine, serveMachine, type RpcHandler } from './rpc.js';
import { watchedCall, type WatchedCallOptions } from './watched-call.js';

/**
 * A daemon's membership of the fleet (issue 18): one NATS connection that serves this machine's requests, carries
 * its calls to others, bridges the bus and keeps its directory rows. Joining never holds up the daemon: it connects
 * in the background and reconnects by itself; local sessions never depend on it.
 */

export type { FleetState, FleetStatus };

export interface FleetLinkDeps {
  config: FleetConfig;
  machineId: string;
  log: Logger;
  now: () => number;
  /** Answers another machine's request for this one (its policy and redaction are the handler's). */
  serve: RpcHandler;
  /** An event from another machine for this machine's bus subscribers. */
  deliverEvent(ev: BusEvent): void;
  directoryTimings?: DirectoryTimings;
  /** An attach frame from another machine (its sender proven by the server), for this machine's viewers or sessions. */
  deliverView?(from: string, viewer: string, message: unknown): void;
  /** Joined (and joined again after the hub came back): a time to put this machine's rows. */
  onJoined?: () => void;
  /** How long a call made before the first join waits for it (FIRST_JOIN_WAIT_MS). */
  firstJoinWaitMs?: number;
}


/** A hub that is down when the daemon starts is tried again this often (nats.js reconnects by itself once joined). */
const JOIN_RETRY_MS = 2_000;

/**
 * A request made before this daemon's first join waits for it, until this long after the start, instead of failing
 * at once: the first command after a start (also the one after a crash, which starts the daemon) comes before the
 * join. Joining through a hub on loopback took 100-115 ms after the daemon listened (nats.js loaded, connected, the
 * directory read); a hub across the internet adds a few round trips. A hub that is down is not waited for longer:
 * HOST_OFFLINE (connecting) then.
 */
export const FIRST_JOIN_WAIT_MS = 3_000;

/**
 * Events published while the hub is away are held up to this many bytes (the NATS Go client's default reconnect
 * buffer): ~10,000 typical events (an `inject_written` is ~700 bytes), minutes of a busy machine's traffic.
 */
export const HELD_EVENTS_MAX_BYTES = 8 * 1024 * 1024;

/** Pings to other machines for `fleet status` get this long each: a machine slower than this is listed without a time. */
const PING_TIMEOUT_MS = 2_000;

export class FleetLink {
  private nc: NatsConnection | null = null;
  private state: FleetState = 'connecting';
  private bridge: BusBridge | null = null;
  private directory: FleetDirectory | null = null;
  private stopped = false;
  /** Resolved once the first join is whole (the directory read) or the link stopped. */
  private readonly firstJoin: Promise<void>;
  private firstJoinDone = false;
  /** When start() was called (null before): the first join is waited for only this long after it. */
  private startedAt: number | null = null;
  private endFirstJoin: () => void = () => undefined;
  /** This daemon's instance, in its pings' answers: a caller whose request it took can tell it restarted. */
  private readonly boot = randomBytes(6).toString('hex');
  /** Events held while the hub is away (sent once back), their size, and those dropped over the bound. */
  private away: { bytes: number; events: BusEvent[]; dropped: number } = { bytes: 0, events: [], dropped: 0 };
  /** Told when this machine is back through the hub (followers of the event stream follow again). */
  private readonly reconnectListeners = new Set<() => void>();
  /** Told when this machine loses the hub (pending calls: their answers may be lost). */
  private readonly disconnectListeners = new Set<() => void>();

  constructor(private readonly deps: FleetLinkDeps) {
    this.firstJoin = new Promise((resolve) => {
      this.endFirstJoin = () => {
        this.firstJoinDone = true;
        resolve();
      };
    });
  }

  get connected(): boolean {
    return this.state === 'connected';
  }

  /** Connect in the background (a hub that is down now is retried for ever). Resolves once connected or stopped. */
  async start(): Promise<void> {
    this.startedAt = this.deps.now();
    try {
      await this.join();
    } finally {
      this.endFirstJoin();
    }
  }

  /**
   * Until the first join is done, at most until FIRST_JOIN_WAIT_MS after the start: a request right after the start
   * finds the fleet as a later one would, and one to a hub that has been down since does not wait at all.
   */
  private async afterFirstJoin(): Promise<void> {
    if (this.firstJoinDone || this.startedAt === null) return;
    const left = this.startedAt + (this.deps.firstJoinWaitMs ?? FIRST_JOIN_WAIT_MS) - this.deps.now();
    if (left <= 0) return;
    let timer: NodeJS.Timeout | undefined;
    const bound = new Promise<void>((resolve) => {
      timer = setTimeout(resolve, left);
    });
    await Promise.race([this.firstJoin, bound]);
    clearTimeout(timer);
  }

  private async join(): Promise<void> {
    const { config, log } = this.deps;
    for (;;) {
      if (this.stopped) return;
      try {
        this.nc = await connectFleet({ credentials: config.credentials, servers: config.servers });
        break;
      } catch (err) {
        log.warn(`fleet: cannot reach ${config.servers.join(', ')} yet (${describeError(err)}); retrying`);
        await sleep(JOIN_RETRY_MS);
      }
    }
    if (this.stopped) {
      await this.nc.close();
      return;
    }
    const nc = this.nc;
    this.state = 'connected';
    log.info(`fleet: joined as ${this.deps.machineId} through ${nc.getServer()}`);
    void this.watchStatus(nc);
    serveMachine(nc, this.deps.machineId, (route, body) => (route.op === 'ping' ? Promise.resolve({ pong: this.deps.machineId, boot: this.boot }) : this.deps.serve(route, body)), log);
    this.serveViews(nc);
    this.bridge = new BusBridge({ nc, self: this.deps.machineId, log, deliver: (ev) => this.deps.deliverEvent(ev) });
    this.bridge.start();
    const kv = await new Kvm(nc).open(FLEET_DIRECTORY_BUCKET);
    this.directory = new FleetDirectory(kv, this.deps.machineId, { now: this.deps.now, log, ...(this.deps.directoryTimings ? { timings: this.deps.directoryTimings } : {}) });
    await this.directory.start();
    await this.directory.follow();
    this.deps.onJoined?.();
  }

  private serveViews(nc: NatsConnection): void {
    const sub = nc.subscribe(viewInbox(this.deps.machineId));
    void (async () => {
      for await (const m of sub) {
        const route = parseViewSubject(m.subject);
        if (route === null || route.to !== this.deps.machineId) continue;
        let v: unknown;
        try {
          v = JSON.parse(new TextDecoder().decode(m.data));
        } catch (err) {
          this.deps.log.warn(`fleet: an attach frame from ${route.from} is not JSON (${describeError(err)}); dropped`);
          continue;
        }
        this.deps.deliverView?.(route.from, route.viewer, v);
      }
    })().catch((err: unknown) => this.deps.log.error('fleet: the attach subscription ended', err));
  }

  /**
   * One attach frame to `to`: a message, or its JSON text when already encoded (best effort, like a WebSocket
   * frame: the attach's own acks and beats notice losses).
   */
  sendView(to: string, viewer: string, message: unknown): boolean {
    if (!this.nc || this.state !== 'connected') return false;
    try {
      this.nc.publish(viewSubject(to, this.deps.machineId, viewer), new TextEncoder().encode(typeof message === 'string' ? message : JSON.stringify(message)));
      return true;
    } catch (err) {
      this.deps.log.warn(`fleet: an attach frame to ${to} was not sent: ${describeError(err)}`);
      return false;
    }
  }

  private async watchStatus(nc: NatsConnection): Promise<void> {
    for await (const s of nc.status()) {
      if (s.type === 'disconnect') {
        this.state = 'reconnecting';
        this.deps.log.warn('fleet: lost the hub; local sessions go on, reconnecting');
        for (const f of [...this.disconnectListeners]) f();
      } else if (s.type === 'reconnect') {
        this.state = 'connected';
        this.deps.log.info(`fleet: back through ${nc.getServer()}`);
        this.sendHeld();
        for (const f of [...this.reconnectListeners]) f();
        // Its presence may have lapsed meanwhile (15 s): beat now, not at the next beat (up to 5 s later).
        void this.directory?.beatNow().catch((err: unknown) => this.deps.log.warn(`fleet: presence beat failed: ${describeError(err)}`));
        this.deps.onJoined?.();
      }
    }
  }

  private conn(target: string): NatsConnection {
    if (!this.nc || this.state !== 'connected') {
      throw new TeleptyError('HOST_OFFLINE', `this machine is not connected to the fleet now (${this.state}), so ${target} cannot be reached`, { machine: target });
    }
    return this.nc;
  }

  /**
   * Ask another machine's daemon; the same errors as a local operation, plus HOST_OFFLINE / HOST_TIMEOUT. An answer
   * lost on the way (the hub or that daemon went away meanwhile) is noticed within seconds (watched-call.ts): a
   * repeatable request is sent again once the target answers again, any other ends in `opts.lost`'s error.
   */
  async call(target: string, op: FleetOp, body: unknown, timeoutMs = FLEET_REQUEST_TIMEOUT_MS, opts: Omit<WatchedCallOptions, 'timeoutMs'> = {}): Promise<unknown> {
    await this.afterFirstJoin();
    const nc = this.conn(target);
    if (op === 'ping') return callMachine(nc, this.deps.machineId, target, op, body, timeoutMs);
    return watchedCall(
      {
        self: this.deps.machineId,
        now: this.deps.now,
        connection: () => (this.state === 'connected' ? this.nc : null),
        onDisconnect: (f) => {
          this.disconnectListeners.add(f);
          return () => this.disconnectListeners.delete(f);
        },
      },
      target,
      op,
      body,
      { ...opts, timeoutMs },
    );
  }

  /** Whether `machine`'s daemon answers now (a ping, bounded). */
  async reachable(machine: string): Promise<boolean> {
    return this.call(machine, 'ping', null, PING_TIMEOUT_MS).then(
      () => true,
      () => false,
    );
  }

  /**
   * A local bus event, out to the other machines. While the hub is away it is held here and sent, in order, once
   * back (nats.js discards what was published while it reconnects: the fleet's stream would miss it, and no gap
   * would say so), up to HELD_EVENTS_MAX_BYTES; beyond that events are dropped and counted in the log.
   */
  publishEvent(ev: BusEvent): void {
    if (this.bridge === null) return;
    if (this.state === 'connected') {
      this.bridge.publish(ev);
      return;
    }
    if (this.state !== 'reconnecting') return;
    if (this.away.bytes >= HELD_EVENTS_MAX_BYTES) {
      if (this.away.dropped++ === 0) this.deps.log.warn(`fleet: more than ${HELD_EVENTS_MAX_BYTES} bytes of events held while the hub is away; dropping the rest until it is back`);
      return;
    }
    // Its size as it will travel (measured only while the hub is away).
    this.away.bytes += JSON.stringify(ev).length;
    this.away.events.push(ev);
  }

  /** Back through the hub: the events held meanwhile go out first, in order. */
  private sendHeld(): void {
    const { events, dropped } = this.away;
    this.away = { bytes: 0, events: [], dropped: 0 };
    for (const ev of events) this.bridge?.publish(ev);
    if (events.length > 0 || dropped > 0) this.deps.log.info(`fleet: ${events.length} event(s) held while the hub was away sent${dropped > 0 ? `, ${dropped} dropped (over the bound)` : ''}`);
  }

  /** Follow the fleet's event stream after `since` (tail --all-machines); HOST_OFFLINE while not connected. */
  async followEvents(since: number | null, follower: HistoryFollower): Promise<{ stop(): void }> {
    await this.afterFirstJoin();
    return followHistory(this.conn('the fleet\'s event stream'), since, follower, this.deps.log, (f) => {
      this.reconnectListeners.add(f);
      return () => this.reconnectListeners.delete(f);
    });
  }

  async putSession(id: string, summary: Record<string, unknown>): Promise<void> {
    await this.directory?.putSession(id, summary);
  }

  async removeSession(id: string): Promise<void> {
    await this.directory?.removeSession(id);
  }

  async listAll(): Promise<MachineListing[]> {
    await this.afterFirstJoin();
    if (!this.directory) throw new TeleptyError('HOST_OFFLINE', `this machine has not joined the fleet yet (${this.state})`);
    this.conn('the directory');
    return this.directory.listAll();
  }

  async status(opts: { rtt: boolean } = { rtt: true }): Promise<FleetStatus> {
    await this.afterFirstJoin();
    const base = { machine: this.deps.machineId, state: this.state, server: this.nc?.getServer() ?? null };
    if (!this.nc || this.state !== 'connected' || !this.directory) return { ...base, hub_rtt_ms: null, machines: [] };
    const nc = this.nc;
    const hubRtt = opts.rtt ? await nc.rtt() : null;
    const listing = await this.directory.listAll();
    const machines = await Promise.all(
      listing.map(async (m) => {
        if (!opts.rtt || m.machine === this.deps.machineId || !m.reachable) return { ...m, rtt_ms: null };
        const t0 = performance.now();
        const answer = await this.call(m.machine, 'ping', null, PING_TIMEOUT_MS).then(
          () => 'ok' as const,
          (err: unknown) => (isTeleptyError(err) && err.code === 'HOST_OFFLINE' ? ('absent' as const) : ('silent' as const)),
        );
        // No daemon of it is connected now (it died, or lost the hub): unreachable at once, not after its presence lapses.
        if (answer === 'absent') return { ...m, reachable: false, rtt_ms: null };
        return { ...m, rtt_ms: answer === 'ok' ? Math.round((performance.now() - t0) * 100) / 100 : null };
      }),
    );
    return { ...base, hub_rtt_ms: hubRtt, machines };
  }

  async stop(): Promise<void> {
    this.stopped = true;
    this.bridge?.stop();
    await this.directory?.stop(true).catch((err: unknown) => this.deps.log.warn(`fleet: could not say goodbye: ${describeError(err)}`));
    await this.nc?.drain().catch((err: unknown) => this.deps.log.warn(`fleet: closing: ${describeError(err)}`));
    this.state = 'closed';
  }
}
