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
}

/**
 * A real nats-server on a free loopback port, run with `config` (its `listen` line is replaced by the port found
 * here). Stopped by the pid started here.
 */
export async function startNats(dir: string, config: string): Promise<NatsServer> {
  const bin = natsServerPath();
  if (!bin) throw new Error('nats-server is not installed (apt-get install nats-server)');
  const port = await freePort();
  const file = path.join(dir, 'nats-server.conf');
  await fs.writeFile(file, config.replace(/^listen: .*$/m, `listen: "127.0.0.1:${port}"`), { mode: 0o600 });
  let out = '';
  const proc = spawn(bin, ['-c', file], { stdio: ['ignore', 'pipe', 'pipe'] });
  proc.stdout?.on('data', (d: Buffer) => (out += d.toString()));
  proc.stderr?.on('data', (d: Buffer) => (out += d.toString()));
  await waitFor(`nats-server ready on ${port}`, () => /Server is ready/.test(out) || (proc.exitCode !== null ? Promise.reject(new Error(`nats-server exited: ${out}`)) : false), 10_000);
  return {
    url: `nats://127.0.0.1:${port}`,
    port,
    proc,
    log: () => out,
    async stop() {
      if (proc.exitCode !== null || proc.signalCode !== null) return;
      const exited = new Promise<void>((resolve) => proc.once('exit', () => resolve()));
      proc.kill('SIGTERM');
      await exited;
    },
  };
}
