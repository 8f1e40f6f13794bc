import { afterAll } from 'vitest';
import { probeDaemon } from '../../src/wire/probe.js';
import { readState } from '../../src/wire/state-file.js';
import type { DaemonRecord } from '../../src/protocol/daemon-state.js';
import type { MetaResponse } from '../../src/protocol/meta.js';
import { promises as fs } from 'node:fs';
import path from 'node:path';
import { runCli } from './cli.js';
import { isAlive, makeHome, waitFor } from './env.js';

/** The ids `home`'s sessions.json holds (none when it does not exist yet). */
export async function persistedSessionIds(home: string): Promise<string[]> {
  const text = await fs.readFile(path.join(home, 'sessions.json'), 'utf8').catch((err: NodeJS.ErrnoException) => {
    if (err.code === 'ENOENT') return null;
    throw err;
  });
  return text === null ? [] : (JSON.parse(text) as { sessions: { id: string }[] }).sessions.map((x) => x.id);
}

/** The daemon serving `home`, verified by nonce, or null. */
export async function liveDaemon(home: string): Promise<{ record: DaemonRecord; meta: MetaResponse } | null> {
  const found = await readState(path.join(home, 'daemon.json'));
  if (found.kind !== 'record') return null;
  // With the token: a daemon on a non-loopback address sees even this machine as a remote peer.
  const token = (await fs.readFile(path.join(home, 'token'), 'utf8').catch(() => '')).trim() || undefined;
  const meta = await probeDaemon(found.record, token);
  return meta ? { record: found.record, meta } : null;
}

/** Stop the verified daemon of `home` by the pid it proved to be (never by name); SIGKILL if it lingers. */
export async function stopDaemonIn(home: string): Promise<void> {
  const live = await liveDaemon(home);
  if (!live) return;
  const { pid } = live.record;
  process.kill(pid, 'SIGTERM');
  try {
    await waitFor(`daemon ${pid} to exit`, () => !isAlive(pid), 5_000);
  } catch {
    if (isAlive(pid)) process.kill(pid, 'SIGKILL');
  }
}

/**
 * Processes whose command line satisfies `matches` and whose environment has this TELEPTY_HOME. Identified
 * exactly, so cleanup never touches another test's (or anyone's) processes.
 */
async function processesOf(home: string, matches: (argv: string[]) => boolean): Promise<number[]> {
  const pids: number[] = [];
  for (const e of await fs.readdir('/proc')) {
    if (!/^\d+$/.test(e)) continue;
    try {
      const argv = (await fs.readFile(`/proc/${e}/cmdline`, 'utf8')).split('\0').filter(Boolean);
      if (!matches(argv)) continue;
      const environ = (await fs.readFile(`/proc/${e}/environ`, 'utf8')).split('\0');
      if (environ.includes(`TELEPTY_HOME=${home}`) && isAlive(Number(e))) pids.push(Number(e));
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'ENOENT' && (err as NodeJS.ErrnoException).code !== 'ESRCH') throw err;
    }
  }
  return pids;
}

const isHostArgv = (argv: string[]): boolean => argv.some((a) => a.endsWith('dist/bundle/host.cjs') || a.endsWith('dist/host/main.js'));

/**
 * Whether host process `pid` is a spare (src/daemon/sessions/spare-host.ts): started ahead of a spawn, no session's
 * yet. Its output goes to `hosts/spare-<hex>.log` until a spawn renames that to the session's log.
 */
async function isSpare(pid: number): Promise<boolean> {
  const out = await fs.readlink(`/proc/${pid}/fd/1`).catch(() => '');
  return /\/spare-[0-9a-f]+\.log$/.test(out);
}

/** Every host process of `home` (session hosts and a spare): what cleanup ends. */
function allHostsOf(home: string): Promise<number[]> {
  return processesOf(home, isHostArgv);
}

/** Session hosts started for `home`: processes running the host (bundled, or dist/host/main.js) with this TELEPTY_HOME, spares not counted. */
export async function hostsOf(home: string): Promise<number[]> {
  const pids: number[] = [];
  for (const pid of await allHostsOf(home)) if (!(await isSpare(pid))) pids.push(pid);
  return pids;
}

/** The spare host processes of `home` (started ahead of the next spawn; at most one a daemon). */
export async function sparesOf(home: string): Promise<number[]> {
  const pids: number[] = [];
  for (const pid of await allHostsOf(home)) if (await isSpare(pid)) pids.push(pid);
  return pids;
}

/** Running `telepty daemon` processes (foreground or detached) with this TELEPTY_HOME. */
export function daemonsOf(home: string): Promise<number[]> {
  return processesOf(home, (argv) => argv[1]?.endsWith('bin/telepty.js') === true && argv[2] === 'daemon' && argv[3] === undefined);
}

/** End every session of `home` (through the daemon when it runs), then any host still running. */
export async function killSessionsIn(home: string): Promise<void> {
  if (await liveDaemon(home)) await runCli(home, ['kill', '--all'], { timeout: 20_000 });
  const hosts = await allHostsOf(home);
  for (const pid of hosts) if (isAlive(pid)) process.kill(pid, 'SIGTERM'); // the host ends its child's session
  for (const pid of hosts) {
    await waitFor(`host ${pid} to exit`, () => !isAlive(pid), 6_000).catch(() => {
      if (isAlive(pid)) process.kill(pid, 'SIGKILL');
    });
  }
}

/** Temp homes for one test file; every daemon started in them is stopped and every home removed afterwards. */
export function useHomes(): { newHome(): string; track(pid: number): void } {
  const homes: { home: string; cleanup: () => void }[] = [];
  const pids = new Set<number>();
  afterAll(async () => {
    for (const h of homes) await killSessionsIn(h.home);
    for (const h of homes) await stopDaemonIn(h.home);
    for (const pid of pids) if (isAlive(pid)) process.kill(pid, 'SIGKILL');
    for (const h of homes) h.cleanup();
  });
  return {
    newHome() {
      const h = makeHome();
      homes.push(h);
      return h.home;
    },
    track(pid) {
      pids.add(pid);
    },
  };
}
