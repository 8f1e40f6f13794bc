import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

export const ROOT = fileURLToPath(new URL('../..', import.meta.url));
export const BIN = path.join(ROOT, 'bin', 'telepty.js');

/** A fresh TELEPTY_HOME; removed by `cleanup`. */
export function makeHome(): { home: string; cleanup: () => void } {
  const home = mkdtempSync(path.join(os.tmpdir(), 'telepty-test-'));
  return { home, cleanup: () => rmSync(home, { recursive: true, force: true }) };
}

/** The environment a test gives the CLI: its own home, port 0 (any free port), no inherited telepty settings. */
export function testEnv(home: string, extra: Record<string, string> = {}): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = { ...process.env };
  for (const key of Object.keys(env)) if (key.startsWith('TELEPTY_')) delete env[key];
  delete env.CI;
  return { ...env, TELEPTY_HOME: home, TELEPTY_PORT: '0', NO_COLOR: '1', ...extra };
}

/** A port nothing listens on right now (loopback). */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = net.createServer();
    srv.once('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const addr = srv.address();
      const port = typeof addr === 'object' && addr ? addr.port : 0;
      srv.close(() => resolve(port));
    });
  });
}

/** Running (not a zombie: this machine's init reaps orphans late). Sync: fine in tests. */
export function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    return stat.slice(stat.lastIndexOf(')') + 2, stat.lastIndexOf(')') + 3) !== 'Z';
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return false;
    throw err;
  }
}

/**
 * How long a test watches for something that must NOT happen (a prompt typed a second time, a prompt that was
 * refused or withdrawn arriving after all): a local program records what it takes within tens of ms, so this
 * much silence is telling even on a loaded machine. A wait FOR something uses waitFor instead.
 */
export const NOTHING_MORE_MS = 300;

/**
 * Resolve after `ms`. In a test, only to prove that something does NOT happen within `ms` (a named span with a
 * one-line why), or to pace a simulated person; never to wait for something (use waitFor).
 */
export function sleep(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms));
}

/**
 * Poll `fn` until it gives a value (anything but null, undefined or false) and return it; after `timeoutMs`, fail
 * with "timed out ... waiting for WHAT" and the last error `fn` threw.
 */
export async function waitFor<T>(what: string, fn: () => Promise<T | null | undefined | false> | T | null | undefined | false, timeoutMs = 10_000, intervalMs = 25): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let last: unknown;
  for (;;) {
    try {
      const v = await fn();
      if (v !== null && v !== undefined && v !== false) return v;
    } catch (err) {
      last = err;
    }
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}${last ? `: ${String(last)}` : ''}`);
    await sleep(intervalMs);
  }
}
