import { fleetConfigFrom } from '../../fleet/config.js';
import type { FleetLink } from '../../fleet/link.js';
import type { BusEvent } from '../../protocol/bus.js';
import type { FleetStatus } from '../../protocol/fleet.js';
import { describeError, type Logger } from '../../util/log.js';
import type { Route } from '../http/router.js';
import { fleetRoutes } from './routes.js';
import { fleetServer } from './serve.js';
import { fleetBusRoute } from './tail.js';
import { RemoteViews, type RemoteViewDeps } from './remote-view.js';
import { VIEWER_PATH } from '../../protocol/operations.js';
import type { WsRoute } from '../ws/upgrade.js';
import type { FleetOp } from '../../protocol/fleet.js';

/**
 * This daemon's place in the fleet: nothing without TELEPTY_NATS_CREDS (local only); otherwise a link that joins in
 * the background. A configuration that cannot be used (a missing or foreign credentials file) is logged and shown
 * by `fleet status`; the daemon serves its local sessions all the same.
 */
export class FleetMember {
  private link: FleetLink | null = null;
  private problem: string | null = null;
  private readonly remoteViews: RemoteViews;

  constructor(
    private readonly deps: {
      env: NodeJS.ProcessEnv;
      machineId: string;
      log: Logger;
      now: () => number;
      allow: ReadonlySet<FleetOp>;
      /** The daemon's own routes, unforwarded: what a request from another machine runs. */
      routes: Route[];
      /** An event from another machine, for this machine's bus subscribers. */
      deliverEvent(ev: BusEvent): void;
      /** Joined (again): this machine's directory rows are due. */
      onJoined(): void;
      /** This machine's sessions as remote viewers need them (attach id@machine). */
      views: Pick<RemoteViewDeps, 'registry' | 'viewers' | 'catchUpMs'>;
    },
  ) {
    this.remoteViews = new RemoteViews({ ...deps.views, machineId: deps.machineId, log: deps.log, link: () => this.link });
  }

  /** The joined link, or null (no fleet, or not usable): forwarding and the bus ask this. */
  get current(): FleetLink | null {
    return this.link;
  }

  /** Why a configured fleet is not usable (logged at start, shown by `fleet status`); null otherwise. */
  get unusable(): string | null {
    return this.problem;
  }

  async start(): Promise<void> {
    const { deps } = this;
    let config;
    try {
      config = await fleetConfigFrom(deps.env, deps.machineId);
    } catch (err) {
      this.problem = err instanceof Error ? err.message : String(err);
      deps.log.error(`fleet: not joining: ${this.problem}`);
      return;
    }
    if (config === null) return;
    // The NATS client loads only for a daemon that joins a fleet: a local daemon's start does not pay for it.
    const { FleetLink } = await import('../../fleet/link.js');
    this.link = new FleetLink({
      config,
      machineId: deps.machineId,
      log: deps.log,
      now: deps.now,
      serve: fleetServer(deps.routes, { allow: deps.allow, log: deps.log, attach: (caller, body) => this.remoteViews.open(caller, body) }),
      deliverEvent: (ev) => deps.deliverEvent(ev),
      deliverView: (from, viewer, message) => this.remoteViews.receive(from, viewer, message),
      onJoined: () => deps.onJoined(),
    });
    void this.link.start().catch((err: unknown) => deps.log.error(`fleet: joining failed: ${describeError(err)}`));
  }

  async status(opts: { rtt: boolean } = { rtt: true }): Promise<FleetStatus> {
    if (this.link) return this.link.status(opts);
    const base = { machine: this.deps.machineId, server: null, hub_rtt_ms: null, machines: [] };
    return this.problem === null ? { ...base, state: 'off' } : { ...base, state: 'error', error: this.problem };
  }

  async stop(): Promise<void> {
    this.remoteViews.stop();
    await this.link?.stop();
  }

  routes(): Route[] {
    return fleetRoutes((opts) => this.status(opts));
  }

  /**
   * The daemon's WebSocket routes with the fleet's: the session viewer route also views `id@<another machine>`
   * (attach), and the fleet's event stream (`tail --all-machines`).
   */
  wsRoutes(core: WsRoute[]): WsRoute[] {
    return [
      ...core.map((r) => (r.path === VIEWER_PATH ? this.remoteViews.wrapViewerRoute(r) : r)),
      fleetBusRoute({ link: () => this.link, machineId: this.deps.machineId, log: this.deps.log }),
    ];
  }
}
