import { afterAll } from 'vitest';
import { probeDaemon } from '../../src/client/probe.js';
import { readState } from '../../src/daemon/claim.js';
import type { DaemonRecord } from '../../src/protocol/daemon-state.js';
import type { MetaResponse } from '../../src/protocol/meta.js';
import { isAlive, makeHome, waitFor } from './env.js';
import path from 'node:path';

/** The daemon serving `home`, verified by nonce, or null. */
export async function liveDaemon(home: string): Promise<{ record: DaemonRecord; meta: MetaResponse } | null> {
  const found = await readState(path.join(home, 'daemon.json'));
  if (found.kind !== 'record') return null;
  const meta = await probeDaemon(found.record, undefined);
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

/** Temp homes for one test file; every daemon started in them is stopped and every home removed afterwards. */
export function useHomes(): { newHome(): string; track(pid: number): void } {
  const homes: { home: string; cleanup: () => void }[] = [];
  const pids = new Set<number>();
  afterAll(async () => {
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
