import type { FleetLink } from '../../fleet/link.js';
import type { BusEvent } from '../../protocol/bus.js';
import type { SessionObject } from '../../protocol/session.js';
import { describeError, type Logger } from '../../util/log.js';

/**
 * Keeps this machine's rows of the fleet directory equal to its sessions: after any session event (debounced) and
 * on joining, every session whose summary changed is put, every one that is gone removed.
 */

/**
 * Session events come in bursts (spawn then register, a kill's exit and removal): one sync for the events of one
 * turn of the loop, and one more for those that come while it runs. A longer wait would only delay the row other
 * machines see (issue 18: convergence p50 < 10 ms).
 */
const SYNC_DEBOUNCE_MS = 0;

/** The events after which a session's row (id, status, command, cwd, clients) may be out of date. */
function changesSessions(ev: BusEvent): boolean {
  return ev.kind.startsWith('session');
}

/** What other machines list of a session: enough for `list --all`, nothing of its screen. */
function summary(s: SessionObject): Record<string, unknown> {
  return { id: s.id, type: s.type, command: s.command, args: s.args, cwd: s.cwd, status: s.status, idleSeconds: s.idleSeconds, active_clients: s.active_clients, pid: s.pid };
}

export class DirectorySync {
  private timer: NodeJS.Timeout | null = null;
  private running: Promise<void> | null = null;
  private again = false;
  private readonly put = new Map<string, string>();

  constructor(private readonly deps: { link: () => FleetLink | null; list: () => Promise<SessionObject[]>; log: Logger }) {}

  /** On every local event: nothing to do (not even a timer) for a daemon in no fleet. */
  observe(ev: BusEvent): void {
    if (this.deps.link() !== null && changesSessions(ev)) this.schedule();
  }

  schedule(): void {
    if (this.timer) return;
    this.timer = setTimeout(() => {
      this.timer = null;
      void this.sync();
    }, SYNC_DEBOUNCE_MS);
    this.timer.unref();
  }

  async sync(): Promise<void> {
    if (this.running) {
      this.again = true;
      return this.running;
    }
    this.running = this.once()
      .catch((err: unknown) => this.deps.log.warn(`fleet: directory update failed: ${describeError(err)}`))
      .finally(() => {
        this.running = null;
        if (this.again) {
          this.again = false;
          this.schedule();
        }
      });
    return this.running;
  }

  private async once(): Promise<void> {
    const link = this.deps.link();
    if (!link || !link.connected) return;
    const now = new Map<string, string>();
    for (const s of await this.deps.list()) {
      const row = summary(s);
      // Idle seconds change every second: they are not a reason to rewrite a row.
      const key = JSON.stringify({ ...row, idleSeconds: undefined });
      now.set(s.id, key);
      if (this.put.get(s.id) !== key) await link.putSession(s.id, row);
    }
    for (const id of this.put.keys()) if (!now.has(id)) await link.removeSession(id);
    this.put.clear();
    for (const [id, key] of now) this.put.set(id, key);
  }
}
