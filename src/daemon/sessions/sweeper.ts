import type { EventSink } from '../../protocol/events.js';
import type { Logger } from '../../util/log.js';
import { clientCount, type SessionEntry, type SessionRegistry } from './registry.js';

export interface SweeperTimings {
  /** How often the rules below are checked. */
  sweepIntervalMs: number;
  /** `session_health` for every live session this often (seed: 10 s). */
  healthIntervalMs: number;
  /** `session.idle` once a connected session has had no output or input for this long (seed: 60 s). */
  idleThresholdMs: number;
  /** An exited session stays listed this long (with its exit code), then is removed. */
  exitedRetentionMs: number;
  /** A disconnected session whose host process still exists but has not come back in this long is exited. */
  disconnectedExpireMs: number;
}

/**
 * A host's link closed: look again this soon instead of at the next interval. A host killed -9 closes its socket
 * while the kernel tears the process down; 50 ms later it is a zombie or gone, and if not, the interval sweeps it.
 */
export const SWEEP_SOON_MS = 50;

export interface Sweeper {
  /** Sweep within SWEEP_SOON_MS (a host link just closed: its process may be gone). */
  soon(): void;
  stop(): void;
}

/**
 * The documented rule for sessions whose host is gone: a disconnected session is marked exited as soon as its
 * host process no longer exists (or after disconnectedExpireMs, in case the pid was reused), and an exited
 * session is removed exitedRetentionMs later.
 */
export function startSweeper(
  registry: SessionRegistry,
  events: EventSink,
  timings: SweeperTimings,
  now: () => number,
  isAlive: (pid: number) => Promise<boolean>,
  log: Logger,
  /** A session's host is gone for good: end what it left running (orphans.ts). */
  hostGone: (e: SessionEntry) => Promise<void>,
): Sweeper {
  let running = false;
  let again = false;
  let lastHealth = now();

  const sweep = async (): Promise<void> => {
    const t = now();
    const health = t - lastHealth >= timings.healthIntervalMs;
    if (health) lastHealth = t;
    for (const e of registry.list()) {
      if (e.status === 'connected') {
        const idleMs = t - e.lastActivityAt;
        if (idleMs >= timings.idleThresholdMs && !e.idleNotified) {
          e.idleNotified = true;
          events.emit('session.idle', { session_id: e.id, idleSeconds: Math.floor(idleMs / 1000), lastActivityAt: new Date(e.lastActivityAt).toISOString() });
        }
      } else if (e.status === 'disconnected') {
        const hostIsGone = e.hostPid === null ? t - (e.disconnectedAt ?? t) > timings.disconnectedExpireMs : !(await isAlive(e.hostPid));
        if (hostIsGone) {
          registry.markExited(e, e.exitCode, 'host gone');
          await hostGone(e);
        }
        else if (t - (e.disconnectedAt ?? t) > timings.disconnectedExpireMs) registry.markExited(e, e.exitCode, 'host did not reconnect');
      } else if (t - (e.exitedAt ?? t) >= timings.exitedRetentionMs) {
        registry.remove(e);
        continue;
      }
      if (health && e.status !== 'exited') {
        events.emit('session_health', {
          session_id: e.id,
          payload: { alive: e.status === 'connected', pid: e.pid, type: e.type, clients: clientCount(e), idleSeconds: Math.floor((t - e.lastActivityAt) / 1000) },
        });
      }
    }
  };

  const run = (): void => {
    if (running) {
      again = true;
      return;
    }
    running = true;
    sweep()
      .catch((err: unknown) => log.error('session sweep failed', err))
      .finally(() => {
        running = false;
        if (again) {
          again = false;
          run();
        }
      });
  };
  const timer = setInterval(run, timings.sweepIntervalMs);
  timer.unref();
  let soonTimer: NodeJS.Timeout | undefined;
  return {
    soon: () => {
      if (soonTimer) return;
      soonTimer = setTimeout(() => {
        soonTimer = undefined;
        run();
      }, SWEEP_SOON_MS);
      soonTimer.unref();
    },
    stop: () => {
      clearInterval(timer);
      clearTimeout(soonTimer);
    },
  };
}
