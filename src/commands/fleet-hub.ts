import { spawn } from 'node:child_process';
import path from 'node:path';
import { connectFleet, ensureFleetStorage } from '../fleet/connect.js';
import { readCredentials } from '../fleet/credentials.js';
import { ADMIN_CREDENTIALS_FILE, HUB_CONFIG_FILE } from '../fleet/init-files.js';
import { requireNatsServer } from '../fleet/nats-server.js';
import { TeleptyError } from '../protocol/errors.js';
import { sleep } from '../util/async.js';
import { isWildcardHost, processEnv } from '../util/config.js';
import { readTextIfExists } from '../util/files.js';
import { portTaken } from '../util/port.js';
import { printLine } from '../ui/print.js';
import { defaultFleetDir } from './fleet-init.js';

/** nats-server starts in well under a second; past this it is not coming up (a port taken, a bad config). */
const HUB_READY_TIMEOUT_MS = 10_000;
/** Pause between connection attempts while the hub starts. */
const HUB_READY_POLL_MS = 100;

/** The host and port of a `listen` line (nats-server's default port when it names none). */
function listenAddress(listen: string): { host: string; port: number } {
  const m = /^(.*):(\d+)$/.exec(listen);
  return { host: m ? (m[1] as string).replace(/^\[(.*)\]$/, '$1') : listen, port: m ? Number(m[2]) : 4222 };
}

/** The local URL of a `listen` line: a wildcard address is reached on loopback. */
function localUrl(listen: string): string {
  const { host, port } = listenAddress(listen);
  const local = host === '' || isWildcardHost(host) ? '127.0.0.1' : host;
  return `nats://${local.includes(':') ? `[${local}]` : local}:${port}`;
}

export async function runFleetHub(opts: { dir?: string }): Promise<number> {
  const dir = path.resolve(opts.dir ?? (await defaultFleetDir()));
  const configFile = path.join(dir, HUB_CONFIG_FILE);
  const config = await readTextIfExists(configFile);
  if (config === null) throw new TeleptyError('NOT_FOUND', `no hub configuration at ${configFile}; write one with: telepty fleet init --machines desk,laptop`);
  const admin = await readCredentials(path.join(dir, ADMIN_CREDENTIALS_FILE));
  const { bin, version } = await requireNatsServer(processEnv());
  const listen = /^listen:\s*"?([^"\n]+)"?/m.exec(config)?.[1] ?? '0.0.0.0:4222';
  const { host, port } = listenAddress(listen);
  // Another hub there (or any program) would answer the readiness check below in this one's place: say so instead.
  if (await portTaken(host, port)) {
    throw new TeleptyError('CONFLICT', `${listen} is in use (another hub running, or another program): stop it, or choose another address with telepty fleet init --listen HOST:PORT --force`);
  }
  const child = spawn(bin, ['-c', configFile], { stdio: ['ignore', 'inherit', 'inherit'] });
  const exited = new Promise<number>((resolve) => child.once('exit', (code, signal) => resolve(code ?? (signal ? 128 + 15 : 1))));
  const forward = (sig: NodeJS.Signals) => () => child.kill(sig);
  process.once('SIGINT', forward('SIGINT'));
  process.once('SIGTERM', forward('SIGTERM'));

  const url = localUrl(listen);
  const deadline = Date.now() + HUB_READY_TIMEOUT_MS;
  for (;;) {
    if (child.exitCode !== null) return exited;
    try {
      const nc = await connectFleet({ credentials: admin, servers: [url], timeoutMs: 1_000 });
      await ensureFleetStorage(nc);
      await nc.close();
      break;
    } catch (err) {
      if (Date.now() > deadline) {
        child.kill('SIGTERM');
        throw new TeleptyError('DAEMON_START_FAILED', `the hub did not come up on ${url} within ${HUB_READY_TIMEOUT_MS / 1000} s (${err instanceof Error ? err.message : String(err)})`);
      }
      await sleep(HUB_READY_POLL_MS);
    }
  }
  const machines = [...config.matchAll(/^ {4}# ([^:\n]+)$/gm)].map((m) => m[1]);
  printLine(`telepty fleet hub: nats-server ${version} ready on ${listen} for ${machines.join(', ')} (JetStream in ${path.join(dir, 'jetstream')})`);
  return exited;
}
