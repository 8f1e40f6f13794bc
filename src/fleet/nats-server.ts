import { execFile } from 'node:child_process';
import { promises as fs } from 'node:fs';
import path from 'node:path';
import { TeleptyError } from '../protocol/errors.js';

/** The oldest nats-server the fleet runs on: Debian's package (2.9.10). */
export const MIN_NATS_SERVER = [2, 9, 0] as const;

/** Where nats-server is when it is not on the PATH: Debian/Ubuntu put it in /usr/sbin. */
const EXTRA_DIRS = ['/usr/sbin', '/usr/local/sbin', '/opt/homebrew/bin', '/usr/local/bin'];

export const INSTALL_HINT = 'install nats-server 2.9 or newer: Debian/Ubuntu `sudo apt-get install nats-server`, macOS `brew install nats-server`, or a release from https://github.com/nats-io/nats-server/releases';

async function executable(file: string): Promise<boolean> {
  return fs.access(file, fs.constants.X_OK).then(
    () => true,
    () => false,
  );
}

/** The nats-server binary: NATS_SERVER, the PATH, then the usual system folders; null when none is installed. */
export async function findNatsServer(env: NodeJS.ProcessEnv): Promise<string | null> {
  if (env.NATS_SERVER) return (await executable(env.NATS_SERVER)) ? env.NATS_SERVER : null;
  const dirs = [...(env.PATH ?? '').split(path.delimiter).filter((d) => d.length > 0), ...EXTRA_DIRS];
  for (const d of dirs) {
    const f = path.join(d, 'nats-server');
    if (await executable(f)) return f;
  }
  return null;
}

export function parseNatsVersion(text: string): [number, number, number] | null {
  const m = /v?(\d+)\.(\d+)\.(\d+)/.exec(text);
  return m ? [Number(m[1]), Number(m[2]), Number(m[3])] : null;
}

export function versionAtLeast(v: readonly number[], min: readonly number[]): boolean {
  for (let i = 0; i < min.length; i++) {
    const a = v[i] ?? 0;
    const b = min[i] ?? 0;
    if (a !== b) return a > b;
  }
  return true;
}

/** The installed nats-server and its version, or a NOT_FOUND saying how to install one. */
export async function requireNatsServer(env: NodeJS.ProcessEnv): Promise<{ bin: string; version: string }> {
  const bin = await findNatsServer(env);
  if (!bin) throw new TeleptyError('NOT_FOUND', `nats-server is not installed: ${INSTALL_HINT}`);
  const out = await new Promise<string>((resolve, reject) =>
    execFile(bin, ['--version'], { timeout: 5_000 }, (err, stdout) => (err ? reject(err) : resolve(stdout))),
  ).catch((err: unknown) => {
    throw new TeleptyError('NOT_FOUND', `${bin} --version failed (${err instanceof Error ? err.message : String(err)}): ${INSTALL_HINT}`);
  });
  const v = parseNatsVersion(out);
  if (!v || !versionAtLeast(v, MIN_NATS_SERVER)) {
    throw new TeleptyError('NOT_FOUND', `${bin} is ${out.trim() || 'of an unknown version'}; the fleet needs ${MIN_NATS_SERVER.join('.')} or newer: ${INSTALL_HINT}`);
  }
  return { bin, version: v.join('.') };
}
