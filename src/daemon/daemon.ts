import { randomBytes } from 'node:crypto';
import type http from 'node:http';
import { connectHost } from '../wire/discovery.js';
import { httpBase, requestJson } from '../wire/http.js';
import { probeDaemon } from '../wire/probe.js';
import { STATE_FILE_VERSION, type DaemonRecord } from '../protocol/daemon-state.js';
import { isTeleptyError, TeleptyError } from '../protocol/errors.js';
import { isMetaResponse, type MetaResponse } from '../protocol/meta.js';
import { sleep } from '../util/async.js';
import { interfaceAddresses, type TeleptyConfig } from '../util/config.js';
import { homeId } from '../util/paths.js';
import { ensureDir, isErrno } from '../util/files.js';
import type { Logger } from '../util/log.js';
import { createAuthPolicy, type AuthPolicy } from './auth.js';
import { claimState, readState, releaseState } from '../wire/state-file.js';
import { CAPABILITIES } from './capabilities.js';
import { watchClaim } from './claim-watch.js';
import { createCore, type DaemonCore } from './core.js';
import { DirectorySync } from './fleet/directory-sync.js';
import { withForwarding } from './fleet/forward.js';
import { FleetMember } from './fleet/member.js';
import { coreRoutes } from './http/api.js';
import { Router } from './http/router.js';
import { createHttpServer } from './http/server.js';
import { closeServer, listen } from './http/shutdown.js';
import { metaRoutes } from './routes/meta.js';
import { tokenRoutes } from './routes/token.js';
import { createDashboard } from './ui/dashboard.js';
import { settingsFromEnv, type DaemonSettings } from './settings.js';
import type { DaemonTimings } from './timings.js';
import { ensureToken } from './token.js';
import { coreWsRoutes } from './ws/api.js';
import { createUpgradeRouter } from './ws/upgrade.js';

export interface DaemonOptions {
  config: TeleptyConfig;
  version: string;
  log: Logger;
  /** The base environment of spawned sessions; read once (settings.ts) for what the daemon itself takes from it. */
  env: NodeJS.ProcessEnv;
  /** Default: read from `env`. */
  settings?: DaemonSettings;
  timings: DaemonTimings;
  now?: () => number;
}

export interface RunningDaemon {
  record: DaemonRecord;
  /** Graceful, bounded; safe to call more than once. */
  stop(reason: string): Promise<void>;
  /** Settles once the daemon has stopped (for any reason). */
  closed: Promise<void>;
}

export type StartOutcome = { kind: 'serving'; daemon: RunningDaemon } | { kind: 'already-running'; existing: DaemonRecord };

/** Asking who holds our port: a daemon answers meta in milliseconds; anything slower is waited for as before. */
const HOME_PROBE_TIMEOUT_MS = 1_000;
/** Poll interval while waiting for another daemon's claim after a port conflict. */
const CLAIM_POLL_MS = 100;

/** Who this daemon is: fixed at start, shown by `GET /api/meta` and written to the state file. */
interface Identity {
  nonce: string;
  home: string;
  startedAt: string;
}

function authPolicy(config: TeleptyConfig, settings: DaemonSettings, token: string): AuthPolicy {
  return createAuthPolicy({
    listenHost: config.host,
    allowlist: settings.peerAllowlist,
    allowedOrigins: settings.allowedOrigins,
    token,
    hostNames: [config.host, config.machineId, ...settings.allowedHosts],
    localAddresses: interfaceAddresses,
  });
}

/** The HTTP server of the core, its meta and token routes and its sockets; it serves once `ready` says so. */
function buildServer(opts: {
  core: DaemonCore;
  fleet: FleetMember;
  config: TeleptyConfig;
  auth: AuthPolicy;
  log: Logger;
  timings: DaemonTimings;
  identity: Identity;
  meta: () => MetaResponse;
  requestShutdown: (reason: string) => void;
  ready: Promise<boolean>;
  now: () => number;
}): { server: http.Server; upgrade: ReturnType<typeof createUpgradeRouter> } {
  const { core, config, auth, log } = opts;
  const dashboard = createDashboard({ log, now: opts.now, base: () => dashboardBase(opts.meta()) });
  // A rotated token also logs every dashboard out.
  const rotating: AuthPolicy = {
    ...auth,
    setToken: (token) => {
      auth.setToken(token);
      dashboard.logout();
    },
  };
  const router = new Router().add(
    ...metaRoutes({ meta: opts.meta, requestShutdown: opts.requestShutdown }),
    ...tokenRoutes(config.paths.tokenFile, rotating, opts.now),
    ...dashboard.routes,
    ...withForwarding(coreRoutes(core), { machineId: config.machineId, link: () => opts.fleet.current, problem: () => opts.fleet.unusable }),
    ...opts.fleet.routes(),
  );
  const upgrade = createUpgradeRouter(opts.fleet.wsRoutes(coreWsRoutes(core, log, opts.timings)));
  const server = createHttpServer({ router, auth, log, upgrade: upgrade.handler, nonce: opts.identity.nonce, home: config.paths.dataDir, ready: opts.ready, ui: dashboard.http });
  return { server, upgrade };
}

/** Where a local browser reaches this daemon: its own address (a wildcard listen is reached on loopback). */
function dashboardBase(meta: MetaResponse): string {
  return httpBase({ host: connectHost(meta.host), port: meta.port });
}

/** Requests wait until the daemon may serve: `open` once its claim is made, `refuse` when it will not serve. */
function readyGate(): { ready: Promise<boolean>; open(): void; refuse(): void } {
  let settle!: (serving: boolean) => void;
  const ready = new Promise<boolean>((resolve) => (settle = resolve));
  return { ready, open: () => settle(true), refuse: () => settle(false) };
}

interface ClaimDeps {
  stateFile: string;
  lockFile: string;
  probe: (r: DaemonRecord) => Promise<boolean>;
  now: () => number;
}

/**
 * Listen, then claim the state file for that address. Listening comes before the claim (the port decides who may
 * claim), serving only after it (the gate). The port held by another daemon of this home, or a claim lost to one,
 * is `already-running`; a port held by anything else is CONFLICT.
 */
async function listenAndClaim(
  server: http.Server,
  gate: ReturnType<typeof readyGate>,
  opts: { config: TeleptyConfig; version: string; token: string; identity: Identity; claimDeps: ClaimDeps; addressInUseWaitMs: number },
): Promise<{ kind: 'claimed'; record: DaemonRecord } | { kind: 'already-running'; existing: DaemonRecord }> {
  const { config, identity, claimDeps } = opts;
  const listened = await listen(server, config.host, config.port).catch((err: unknown) => {
    gate.refuse();
    throw err;
  });
  if (listened === 'in-use') {
    gate.refuse();
    return { kind: 'already-running', existing: await claimOfPortHolder(config, opts.token, identity.home, claimDeps.probe, opts.addressInUseWaitMs) };
  }
  const record: DaemonRecord = { state_version: STATE_FILE_VERSION, pid: process.pid, host: config.host, port: listened, version: opts.version, started_at: identity.startedAt, nonce: identity.nonce };
  const notServing = (): void => {
    gate.refuse();
    server.close();
    server.closeAllConnections();
  };
  let claim;
  try {
    // Our port now: a stale record naming it is never probed (the probe would wait on our own held server).
    claim = await claimState(record, { ...claimDeps, ownAddress: { host: config.host, port: listened } });
  } catch (err) {
    notServing();
    throw err;
  }
  if (!claim.claimed) {
    notServing();
    return { kind: 'already-running', existing: claim.existing };
  }
  return { kind: 'claimed', record };
}

/** The serving daemon: its claim watched, and a stop that closes the server, flushes the core and releases the claim. */
function runDaemon(opts: { record: DaemonRecord; server: http.Server; upgrade: ReturnType<typeof createUpgradeRouter>; core: DaemonCore; fleet: FleetMember; claimDeps: ClaimDeps; timings: DaemonTimings; log: Logger }): RunningDaemon {
  const { record, server, upgrade, core, fleet, claimDeps, timings, log } = opts;
  let resolveClosed!: () => void;
  const closed = new Promise<void>((resolve) => (resolveClosed = resolve));
  let stopping: Promise<void> | undefined;
  const claimWatch = watchClaim({
    ...claimDeps,
    record,
    ownAddress: { host: record.host, port: record.port },
    intervalMs: timings.claimCheckIntervalMs,
    log,
    stopping: () => stopping !== undefined,
    lost: (reason) => void stop(reason),
  });

  function stop(reason: string): Promise<void> {
    stopping ??= (async () => {
      log.info(`stopping: ${reason}`);
      claimWatch.stop();
      await closeServer(server, upgrade.servers, timings.shutdownGraceMs, log);
      await fleet.stop();
      await core.stop();
      try {
        await releaseState(record, claimDeps);
      } catch (err) {
        if (!isErrno(err, 'ENOENT')) log.error('could not release the state file', err);
      }
      log.info('stopped');
      resolveClosed();
    })();
    return stopping;
  }
  return { record, stop, closed };
}

/**
 * The fleet around the core: requests from other machines run through the core's own (unforwarded) routes, events
 * from them go to the local bus, local events go out, and the directory follows the sessions.
 */
function joinableFleet(opts: { core: DaemonCore; env: NodeJS.ProcessEnv; machineId: string; allow: DaemonSettings['fleetAllow']; log: Logger; now: () => number; viewerCatchUpMs: number }): FleetMember {
  const { core } = opts;
  let member: FleetMember | null = null;
  const sync = new DirectorySync({ link: () => member?.current ?? null, list: () => core.sessions.list(), log: opts.log });
  member = new FleetMember({
    env: opts.env,
    machineId: opts.machineId,
    log: opts.log,
    now: opts.now,
    allow: opts.allow,
    routes: coreRoutes(core),
    deliverEvent: (ev) => core.bus.deliverRemote(ev),
    onJoined: () => sync.schedule(),
    views: { registry: core.sessions.registry, viewers: core.sessions.viewers, catchUpMs: opts.viewerCatchUpMs },
  });
  core.bus.onEvent((ev) => {
    if (core.bus.isRemote(ev)) return;
    member?.current?.publishEvent(ev);
    sync.observe(ev);
  });
  return member;
}

/** The composition root: the core, its adapters (HTTP routes, sockets), the server, the claim. */
export async function startDaemon(opts: DaemonOptions): Promise<StartOutcome> {
  const { config, log, timings } = opts;
  const now = opts.now ?? Date.now;
  const settings = opts.settings ?? settingsFromEnv(opts.env);
  const { paths } = config;
  await Promise.all([ensureDir(paths.dataDir), ensureDir(paths.configDir), ensureDir(paths.logDir)]);
  const token = await ensureToken(paths.tokenFile, log);
  const probe = async (r: DaemonRecord): Promise<boolean> => (await probeDaemon(r, token)) !== null;
  const claimDeps: ClaimDeps = { stateFile: paths.stateFile, lockFile: paths.stateLockFile, probe, now };
  const identity: Identity = { nonce: randomBytes(16).toString('hex'), home: await homeId(paths), startedAt: new Date(now()).toISOString() };
  let port = config.port;
  let running: RunningDaemon | undefined;

  const meta = (): MetaResponse => ({
    name: 'telepty',
    version: opts.version,
    pid: process.pid,
    host: config.host,
    port,
    machine_id: config.machineId,
    started_at: identity.startedAt,
    uptime_seconds: Math.floor((now() - Date.parse(identity.startedAt)) / 1000),
    nonce: identity.nonce,
    home_id: identity.home,
    home: paths.dataDir,
    capabilities: CAPABILITIES,
  });
  // Answer the request first; stop on the next turn of the loop.
  const requestShutdown = (reason: string): void => {
    const daemon = running;
    if (daemon) setImmediate(() => void daemon.stop(reason));
  };

  let fleet: FleetMember | null = null;
  // Agent hooks post to this daemon's own address (a wildcard listen is reached on loopback), known once it listens.
  const core = createCore({ config, env: opts.env, settings, log, timings, now, fleet: () => fleet?.current ?? null, fleetProblem: () => fleet?.unusable ?? null, ownUrl: () => dashboardBase(meta()) });
  await core.load();
  fleet = joinableFleet({ core, env: opts.env, machineId: config.machineId, allow: settings.fleetAllow, log, now, viewerCatchUpMs: timings.viewerCatchUpMs });
  const gate = readyGate();
  const auth = authPolicy(config, settings, token);
  const { server, upgrade } = buildServer({ core, fleet, config, auth, log, timings, identity, meta, requestShutdown, ready: gate.ready, now });
  const claimed = await listenAndClaim(server, gate, { config, version: opts.version, token, identity, claimDeps, addressInUseWaitMs: timings.addressInUseWaitMs });
  if (claimed.kind === 'already-running') return claimed;
  port = claimed.record.port;
  core.activate();
  running = runDaemon({ record: claimed.record, server, upgrade, core, fleet, claimDeps, timings, log });
  await fleet.start();
  gate.open();
  log.info(`telepty ${opts.version} listening on ${config.host}:${port} (pid ${process.pid}, machine ${config.machineId})`);
  return { kind: 'serving', daemon: running };
}

/**
 * Our port is taken: the claim of the daemon of this home that holds it (waited for, bounded: it may be just
 * writing it), or CONFLICT saying who holds it instead.
 */
async function claimOfPortHolder(config: TeleptyConfig, token: string, home: string, probe: (r: DaemonRecord) => Promise<boolean>, waitMs: number): Promise<DaemonRecord> {
  const { host, port, paths } = config;
  // The daemon of another home there will never be ours: say whose it is at once instead of waiting for a claim.
  const holder = await holderAt(host, port, token);
  // Another program answered: no daemon of ours will claim that port, so say so now (not after the claim wait).
  if (holder === 'other') throw new TeleptyError('CONFLICT', `port ${port} on ${host} is in use by another program`);
  if (holder !== null && holder.home_id !== undefined && holder.home_id !== home) {
    throw new TeleptyError('CONFLICT', `port ${port} on ${host} is held by the telepty daemon of another home (${holder.home ?? `id ${holder.home_id}`}); use another TELEPTY_PORT for ${paths.dataDir}`);
  }
  const existing = await waitForLiveClaim(paths.stateFile, probe, waitMs);
  if (existing) return existing;
  throw new TeleptyError('CONFLICT', `port ${port} on ${host} is in use by another program`);
}

/**
 * What holds the port: a telepty daemon's meta (with its home), `other` when something answered that is not a
 * telepty daemon (no daemon of ours will ever claim it: no reason to wait), or null when it cannot tell (no answer
 * in time: a daemon that has not yet made its claim holds requests; or it has just gone).
 */
async function holderAt(host: string, port: number, token: string): Promise<{ home_id?: string; home?: string } | 'other' | null> {
  let meta: unknown;
  try {
    meta = await requestJson<unknown>({ host: connectHost(host), port, token }, { path: '/api/meta', timeoutMs: HOME_PROBE_TIMEOUT_MS });
  } catch (err) {
    if (!isTeleptyError(err)) throw err;
    if (err.code === 'TIMEOUT' || err.code === 'DAEMON_UNREACHABLE') return null;
    // An answer, and not a telepty daemon's (not HTTP, or an error a daemon's meta never gives).
    return err.code === 'UNAUTHORIZED' || err.code === 'FORBIDDEN' || err.code === 'FORBIDDEN_HOST' || err.code === 'DAEMON_MISMATCH' ? null : 'other';
  }
  if (!isMetaResponse(meta)) return 'other';
  if (meta.home_id === undefined) return {};
  return meta.home === undefined ? { home_id: meta.home_id } : { home_id: meta.home_id, home: meta.home };
}

/** After EADDRINUSE: the port may belong to a daemon that is just writing its claim. Wait a bounded time for it. */
async function waitForLiveClaim(stateFile: string, probe: (r: DaemonRecord) => Promise<boolean>, waitMs: number): Promise<DaemonRecord | null> {
  const deadline = Date.now() + waitMs;
  for (;;) {
    const found = await readState(stateFile);
    if (found.kind === 'record' && (await probe(found.record))) return found.record;
    if (Date.now() >= deadline) return null;
    await sleep(CLAIM_POLL_MS);
  }
}
