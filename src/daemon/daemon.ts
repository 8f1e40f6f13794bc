import { randomBytes } from 'node:crypto';
import type http from 'node:http';
import { once } from 'node:events';
import { watch, type FSWatcher } from 'node:fs';
import path from 'node:path';
import { connectHost } from '../wire/discovery.js';
import { requestJson } from '../wire/http.js';
import { probeDaemon } from '../wire/probe.js';
import { STATE_FILE_VERSION, type DaemonRecord } from '../protocol/daemon-state.js';
import { isTeleptyError, TeleptyError } from '../protocol/errors.js';
import { isMetaResponse, type MetaResponse } from '../protocol/meta.js';
import type { TeleptyConfig } from '../util/config.js';
import { homeId } from '../util/paths.js';
import { createExclusive, ensureDir, isErrno } from '../util/files.js';
import type { Logger } from '../util/log.js';
import { createAuthPolicy, interfaceAddresses } from './auth.js';
import { claimState, namesAddress, readState, releaseState, removeStaleState, serializeRecord } from '../wire/state-file.js';
import { Router } from './http/router.js';
import { createHttpServer } from './http/server.js';
import { metaRoutes } from './routes/meta.js';
import { tokenRoutes } from './routes/token.js';
import { CAPABILITIES, createServices } from './services.js';
import type { DaemonTimings } from './timings.js';
import { ensureToken } from './token.js';
import { createUpgradeRouter } from './ws/upgrade.js';

export interface DaemonOptions {
  config: TeleptyConfig;
  version: string;
  log: Logger;
  /** Read for the peer allowlist and allowed origins. */
  env: NodeJS.ProcessEnv;
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

/** During shutdown, how often idle keep-alive sockets are closed (a client's last answer makes its socket idle). */
const SHUTDOWN_IDLE_SWEEP_MS = 20;
/** Asking who holds our port: a daemon answers meta in milliseconds; anything slower is waited for as before. */
const HOME_PROBE_TIMEOUT_MS = 1_000;
/** Events of one write to the state file (create, change) are checked once. */
const STATE_WATCH_COALESCE_MS = 10;
/** Poll interval while waiting for another daemon's claim after a port conflict. */
const CLAIM_POLL_MS = 100;

function listen(server: http.Server, host: string, port: number): Promise<number | 'in-use'> {
  return new Promise((resolve, reject) => {
    const onError = (err: NodeJS.ErrnoException): void => {
      server.off('listening', onListening);
      if (err.code === 'EADDRINUSE') resolve('in-use');
      else reject(err);
    };
    const onListening = (): void => {
      server.off('error', onError);
      const addr = server.address();
      resolve(typeof addr === 'object' && addr ? addr.port : port);
    };
    server.once('error', onError);
    server.once('listening', onListening);
    server.listen({ host, port, exclusive: true });
  });
}

export async function startDaemon(opts: DaemonOptions): Promise<StartOutcome> {
  const { config, log, timings } = opts;
  const now = opts.now ?? Date.now;
  const { paths } = config;
  await Promise.all([ensureDir(paths.dataDir), ensureDir(paths.configDir), ensureDir(paths.logDir)]);
  const token = await ensureToken(paths.tokenFile, log);
  const claimDeps = {
    stateFile: paths.stateFile,
    lockFile: paths.stateLockFile,
    probe: async (r: DaemonRecord) => (await probeDaemon(r, token)) !== null,
    now,
  };

  const nonce = randomBytes(16).toString('hex');
  const home = await homeId(paths);
  const startedAt = new Date(now()).toISOString();
  let port = config.port;
  let stopRequested: ((reason: string) => void) | undefined;

  const meta = (): MetaResponse => ({
    name: 'telepty',
    version: opts.version,
    pid: process.pid,
    host: config.host,
    port,
    machine_id: config.machineId,
    started_at: startedAt,
    uptime_seconds: Math.floor((now() - Date.parse(startedAt)) / 1000),
    nonce,
    home_id: home,
    home: paths.dataDir,
    capabilities: CAPABILITIES,
  });

  const auth = createAuthPolicy({
    listenHost: config.host,
    allowlist: opts.env.TELEPTY_PEER_ALLOWLIST ?? '',
    allowedOrigins: opts.env.TELEPTY_ALLOWED_ORIGINS ?? '',
    token,
    hostNames: [config.host, config.machineId, ...(opts.env.TELEPTY_ALLOWED_HOSTS ?? '').split(',').map((s) => s.trim()).filter(Boolean)],
    localAddresses: interfaceAddresses,
  });
  const services = createServices({ config, env: opts.env, log, timings, now });
  await services.load();
  const router = new Router().add(
    ...metaRoutes({ meta, requestShutdown: (reason) => stopRequested?.(reason) }),
    ...tokenRoutes(paths.tokenFile, auth, now),
    ...services.routes,
  );
  const upgrade = createUpgradeRouter(services.wsRoutes);
  // Listening comes before the claim (the port decides who may claim), but serving comes only after it: a
  // starter that looks for its daemon at a fixed address must not get an answer from one that has not yet
  // written (or may still lose, or fail) its claim, so until then requests wait.
  let settleReady!: (serving: boolean) => void;
  const ready = new Promise<boolean>((resolve) => (settleReady = resolve));
  const server = createHttpServer({ router, auth, log, upgrade: upgrade.handler, nonce, home: paths.dataDir, ready });

  const listened = await listen(server, config.host, config.port).catch((err: unknown) => {
    settleReady(false);
    throw err;
  });
  if (listened === 'in-use') {
    settleReady(false);
    // The daemon of another home there will never be ours: say whose it is at once instead of waiting for a claim.
    const holder = await holderAt(config.host, config.port, token);
    // Another program answered: no daemon of ours will claim that port, so say so now (not after the claim wait).
    if (holder === 'other') throw new TeleptyError('CONFLICT', `port ${config.port} on ${config.host} is in use by another program`);
    if (holder !== null && holder.home_id !== undefined && holder.home_id !== home) {
      throw new TeleptyError('CONFLICT', `port ${config.port} on ${config.host} is held by the telepty daemon of another home (${holder.home ?? `id ${holder.home_id}`}); use another TELEPTY_PORT for ${paths.dataDir}`);
    }
    const existing = await waitForLiveClaim(paths.stateFile, claimDeps.probe, timings.addressInUseWaitMs);
    if (existing) return { kind: 'already-running', existing };
    throw new TeleptyError('CONFLICT', `port ${config.port} on ${config.host} is in use by another program`);
  }
  port = listened;
  // Our port now: a stale record naming it is never probed (the probe would wait on our own held server).
  const claimAtOurAddress = { ...claimDeps, ownAddress: { host: config.host, port } };

  const record: DaemonRecord = {
    state_version: STATE_FILE_VERSION,
    pid: process.pid,
    host: config.host,
    port,
    version: opts.version,
    started_at: startedAt,
    nonce,
  };
  const notServing = (): void => {
    settleReady(false);
    server.close();
    server.closeAllConnections();
  };
  let claim;
  try {
    claim = await claimState(record, claimAtOurAddress);
  } catch (err) {
    notServing();
    throw err;
  }
  if (!claim.claimed) {
    notServing();
    return { kind: 'already-running', existing: claim.existing };
  }
  services.activate();
  settleReady(true);
  log.info(`telepty ${opts.version} listening on ${config.host}:${port} (pid ${process.pid}, machine ${config.machineId})`);

  let resolveClosed!: () => void;
  const closed = new Promise<void>((resolve) => (resolveClosed = resolve));
  let stopping: Promise<void> | undefined;

  let checking = false;
  const runClaimCheck = (): void => {
    if (checking) return;
    checking = true;
    void checkClaim()
      .catch((err: unknown) => log.error('claim check failed', err))
      .finally(() => (checking = false));
  };
  const watchdog = setInterval(runClaimCheck, timings.claimCheckIntervalMs);
  watchdog.unref();
  // A change to the state file is checked at once (a damaged claim is rewritten before a command reads it); the
  // interval stays as the fallback where the folder cannot be watched.
  const stateWatch = watchStateFile(paths.stateFile, runClaimCheck, log);

  /**
   * The state file must keep naming us. We still hold our port, so a file that is missing, damaged, or names a
   * daemon that does not answer is rewritten with our claim; we stop only when another live daemon proves (by
   * answering with its record's nonce) that the file is now its claim.
   */
  async function checkClaim(): Promise<void> {
    if (stopping) return; // a stopping daemon releases its claim: never write it back
    const found = await readState(paths.stateFile);
    if (found.kind === 'record' && found.record.nonce === nonce) return;
    if (found.kind === 'record' && !namesAddress(found.record, claimAtOurAddress.ownAddress) && (await claimDeps.probe(found.record))) {
      await stop(`the state file now names another live daemon (pid ${found.record.pid}, port ${found.record.port})`);
      return;
    }
    // Removed only if it still holds what we read (under the claim lock); a busy lock is retried on the next check.
    if (found.kind !== 'missing' && !(await removeStaleState(found.raw, claimDeps))) return;
    if (await createExclusive(paths.stateFile, serializeRecord(record))) {
      log.warn(found.kind === 'missing' ? 'state file was removed; recreated it' : `state file was ${found.kind === 'invalid' ? 'damaged' : 'naming a daemon that does not answer'}; rewrote our claim`);
    }
  }

  function stop(reason: string): Promise<void> {
    stopping ??= (async () => {
      log.info(`stopping: ${reason}`);
      clearInterval(watchdog);
      stateWatch?.close();
      for (const wss of upgrade.servers) for (const client of wss.clients) client.close(1001, 'daemon stopping');
      const done = once(server, 'close');
      server.close();
      // Keep-alive sockets (including the one that asked us to stop) go idle only after their answer.
      const sweep = setInterval(() => server.closeIdleConnections(), SHUTDOWN_IDLE_SWEEP_MS);
      server.closeIdleConnections();
      const force = setTimeout(() => {
        log.warn(`connections still open after ${timings.shutdownGraceMs} ms; closing them`);
        server.closeAllConnections();
        for (const wss of upgrade.servers) for (const client of wss.clients) client.terminate();
      }, timings.shutdownGraceMs);
      // Bounded even if the server never reports closed (a socket it still counts): stopping must end.
      let giveUp: NodeJS.Timeout | undefined;
      const abandoned = new Promise<'abandoned'>((resolve) => (giveUp = setTimeout(() => resolve('abandoned'), 2 * timings.shutdownGraceMs)));
      try {
        if ((await Promise.race([done, abandoned])) === 'abandoned') log.warn('the HTTP server did not report closed; stopping anyway');
      } finally {
        clearTimeout(force);
        clearTimeout(giveUp);
        clearInterval(sweep);
      }
      await services.stop();
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
  stopRequested = (reason) => {
    // Answer the request first; stop on the next turn of the loop.
    setImmediate(() => void stop(reason));
  };

  return { kind: 'serving', daemon: { record, stop, closed } };
}

/** Call `onChange` (coalesced) whenever the state file changes; null when its folder cannot be watched. */
function watchStateFile(stateFile: string, onChange: () => void, log: Logger): FSWatcher | null {
  const name = path.basename(stateFile);
  let pending: NodeJS.Timeout | undefined;
  try {
    const watcher = watch(path.dirname(stateFile), { persistent: false }, (_event, file) => {
      if ((file !== null && file !== name) || pending) return;
      pending = setTimeout(() => {
        pending = undefined;
        onChange();
      }, STATE_WATCH_COALESCE_MS);
    });
    watcher.on('error', (err) => log.debug(`state file watch ended: ${err.message}`));
    return watcher;
  } catch (err) {
    log.debug(`cannot watch ${path.dirname(stateFile)}: ${(err as Error).message}; checking the claim every interval only`);
    return null;
  }
}

/** The home named by a telepty daemon (0.2 or later) answering at host:port, or null (nothing, or not one). */
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
    await new Promise((resolve) => setTimeout(resolve, CLAIM_POLL_MS));
  }
}
