import { afterAll, beforeAll } from 'vitest';
import { spawn, type ChildProcess } from 'node:child_process';
import { promises as fs } from 'node:fs';
import { existsSync } from 'node:fs';
import path from 'node:path';
import { freePort, waitFor } from './env.js';

/** Debian's nats-server (apt-get install nats-server), or NATS_SERVER; null when not installed. */
export function natsServerPath(): string | null {
  for (const p of [process.env.NATS_SERVER, '/usr/sbin/nats-server', '/usr/bin/nats-server', '/usr/local/bin/nats-server']) {
    if (p && existsSync(p)) return p;
  }
  return null;
}

export interface NatsServer {
  url: string;
  port: number;
  proc: ChildProcess;
  log(): string;
  stop(): Promise<void>;
  /** Start it again on the same port with the same configuration (its JetStream data kept). */
  restart(): Promise<void>;
}

/**
 * A real nats-server on a free port of `host` (loopback unless a test's private veth address), run with `config`
 * (its `listen` line is replaced by that address). Stopped by the pid started here.
 */
export async function startNats(dir: string, config: string, host = '127.0.0.1'): Promise<NatsServer> {
  const bin = natsServerPath();
  if (!bin) throw new Error('nats-server is not installed (apt-get install nats-server)');
  const port = await freePort();
  const file = path.join(dir, 'nats-server.conf');
  await fs.writeFile(file, config.replace(/^listen: .*$/m, `listen: "${host}:${port}"`), { mode: 0o600 });
  let out = '';
  let proc: ChildProcess = await launch();
  async function launch(): Promise<ChildProcess> {
    const p = spawn(bin as string, ['-c', file], { stdio: ['ignore', 'pipe', 'pipe'] });
    let mine = '';
    const take = (d: Buffer) => {
      mine += d.toString();
      out += d.toString();
    };
    p.stdout?.on('data', take);
    p.stderr?.on('data', take);
    await waitFor(`nats-server ready on ${port}`, () => /Server is ready/.test(mine) || (p.exitCode !== null ? Promise.reject(new Error(`nats-server exited: ${mine}`)) : false), 10_000);
    return p;
  }
  const server: NatsServer = {
    url: `nats://${host}:${port}`,
    port,
    get proc() {
      return proc;
    },
    log: () => out,
    async stop() {
      if (proc.exitCode !== null || proc.signalCode !== null) return;
      const exited = new Promise<void>((resolve) => proc.once('exit', () => resolve()));
      proc.kill('SIGTERM');
      await exited;
    },
    async restart() {
      await server.stop();
      proc = await launch();
    },
  };
  return server;
}

export interface TestHub {
  server: NatsServer;
  /** One connection per machine named at start, as that machine (its own credentials). */
  conns: Record<string, import('@nats-io/transport-node').NatsConnection>;
  credentials: Record<string, import('../../src/fleet/credentials.js').FleetCredentials>;
  /** The hub's own user (all subjects): what a test uses to play the hub's limits (purge the event stream). */
  admin: import('../../src/fleet/credentials.js').FleetCredentials;
  stop(): Promise<void>;
}

/** A fleet hub as `telepty fleet init` plans it, on a real nats-server, with storage created and every machine connected. */
export async function startHub(machines: string[], host = '127.0.0.1'): Promise<TestHub> {
  const { planHub } = await import('../../src/fleet/hub-config.js');
  const { connectFleet, ensureFleetStorage } = await import('../../src/fleet/connect.js');
  const dir = await fs.mkdtemp(path.join((await import('node:os')).tmpdir(), 'telepty-hub-'));
  const files = planHub({ machines, servers: ['nats://127.0.0.1:4222'], listen: '127.0.0.1:4222', storeDir: dir });
  const server = await startNats(dir, files.config, host);
  const admin = await connectFleet({ credentials: files.admin, servers: [server.url] });
  await ensureFleetStorage(admin);
  await admin.close();
  const conns: TestHub['conns'] = {};
  const credentials: TestHub['credentials'] = {};
  for (const c of files.credentials) {
    credentials[c.machine] = { ...c, servers: [server.url] };
    conns[c.machine] = await connectFleet({ credentials: credentials[c.machine]! });
  }
  return {
    server,
    conns,
    credentials,
    admin: { ...files.admin, servers: [server.url] },
    async stop() {
      await Promise.all(Object.values(conns).map((c) => c.close().catch(() => undefined)));
      await server.stop();
      await fs.rm(dir, { recursive: true, force: true });
    },
  };
}

/**
 * Start a daemon in `home` as `machine` of `hub` (its credentials written there, 0600); returns the environment
 * every CLI call of that machine gives (machine id and credentials). `daemonEnv` is given to the daemon only
 * (its policy, its HOME).
 */
export async function joinDaemon(hub: TestHub, home: string, machine: string, daemonEnv: Record<string, string> = {}): Promise<Record<string, string>> {
  const { runCli } = await import('./cli.js');
  const file = path.join(home, `${machine}.creds.json`);
  await fs.writeFile(file, JSON.stringify(hub.credentials[machine]), { mode: 0o600 });
  const env = { TELEPTY_MACHINE_ID: machine, TELEPTY_NATS_CREDS: file };
  const r = await runCli(home, ['daemon', 'start', '--json'], { env: { ...env, ...daemonEnv } });
  if (r.exitCode !== 0) throw new Error(`daemon start as ${machine} failed (exit ${r.exitCode}): ${r.stderr}`);
  return env;
}

/** Two machines of one hub, desk and laptop, each a daemon in its own home: what most fleet tests start from. */
export interface TwoMachines {
  hub: TestHub;
  desk: string;
  laptop: string;
  /** The env that makes the CLI speak as each machine (its machine id and credentials). */
  env: { desk: Record<string, string>; laptop: Record<string, string> };
}

/**
 * A hub with desk and laptop joined (each daemon given its own extra env), once desk sees laptop reachable in
 * `fleet status`: a test's first remote request then has a directory and a route to use.
 */
export async function startTwoMachines(newHome: () => string, daemonEnv: { desk?: Record<string, string>; laptop?: (home: string) => Record<string, string> } = {}): Promise<TwoMachines> {
  const { parseJson, runCli } = await import('./cli.js');
  const { waitFor } = await import('./env.js');
  const hub = await startHub(['desk', 'laptop']);
  const desk = newHome();
  const laptop = newHome();
  const env = {
    desk: await joinDaemon(hub, desk, 'desk', daemonEnv.desk),
    laptop: await joinDaemon(hub, laptop, 'laptop', daemonEnv.laptop?.(laptop)),
  };
  await waitFor('desk sees laptop', async () => {
    const st = parseJson<{ state: string; machines: { machine: string; reachable: boolean }[] }>(await runCli(desk, ['fleet', 'status', '--json'], { env: env.desk }));
    return st.state === 'connected' && st.machines.some((m) => m.machine === 'laptop' && m.reachable);
  }, 20_000);
  return { hub, desk, laptop, env };
}

/**
 * startTwoMachines for a describe block: started in its own beforeAll, the hub stopped in its own afterAll (the
 * daemons are `newHome`'s: useHomes stops them). Call it after useHomes, so the hub stops first. The answer reads
 * the running machines; read before the beforeAll ran, it throws.
 */
export function useTwoMachines(newHome: () => string, daemonEnv: Parameters<typeof startTwoMachines>[1] = {}): TwoMachines {
  let started: TwoMachines | null = null;
  beforeAll(async () => {
    started = await startTwoMachines(newHome, daemonEnv);
  }, 60_000);
  afterAll(async () => {
    await started?.hub.stop();
  });
  const running = (): TwoMachines => {
    if (started === null) throw new Error('the two machines are read before their beforeAll started them');
    return started;
  };
  return {
    get hub() {
      return running().hub;
    },
    get desk() {
      return running().desk;
    },
    get laptop() {
      return running().laptop;
    },
    get env() {
      return running().env;
    },
  };
}
