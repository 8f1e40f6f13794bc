import type { HostInjectResult, InjectJobMeta } from '../protocol/host-link.js';

/** Finished ids remembered at most (a repeat of one is answered, not typed again); the oldest are forgotten first. */
export const INJECT_MEMORY_MAX_IDS = 1_000;
/** A finished id is remembered this long: a caller retrying after a crash does so within seconds, not hours. */
export const INJECT_MEMORY_TTL_MS = 60 * 60 * 1000;
/**
 * Results no daemon has acknowledged are kept even past the bounds above, up to this many (a host whose daemon
 * never comes back must not grow without end): beyond it the oldest unacknowledged result is dropped.
 */
export const INJECT_MEMORY_MAX_UNACKED = 10_000;

export type RememberedJob =
  | { state: 'running'; meta: InjectJobMeta | undefined; at: number }
  | { state: 'done'; result: HostInjectResult; acked: boolean; at: number };

/**
 * The host's memory of inject ids: jobs queued or running, and the results of finished ones, kept until a daemon has
 * acknowledged them (and, bounded, a while after) so that a repeated id is answered with the first outcome.
 * Insertion order is age order (a Map keeps it): eviction walks from the oldest.
 */
export class InjectMemory {
  private readonly jobs = new Map<string, RememberedJob>();

  constructor(
    private readonly now: () => number = Date.now,
    private readonly limits = { maxIds: INJECT_MEMORY_MAX_IDS, ttlMs: INJECT_MEMORY_TTL_MS, maxUnacked: INJECT_MEMORY_MAX_UNACKED },
  ) {}

  get(id: string): RememberedJob | undefined {
    const j = this.jobs.get(id);
    if (j?.state === 'done' && j.acked && this.now() - j.at > this.limits.ttlMs) {
      this.jobs.delete(id);
      return undefined;
    }
    return j;
  }

  /** A new job was queued. */
  started(id: string, meta: InjectJobMeta | undefined): void {
    this.jobs.delete(id);
    this.jobs.set(id, { state: 'running', meta, at: this.now() });
    this.prune();
  }

  /** A job was withdrawn before it started: nothing was typed, so the id may be used again. */
  forget(id: string): void {
    this.jobs.delete(id);
  }

  /** A job ended: its result is kept until acked. */
  finished(result: HostInjectResult): void {
    this.jobs.delete(result.inject_id);
    this.jobs.set(result.inject_id, { state: 'done', result, acked: false, at: this.now() });
    this.prune();
  }

  /** A daemon published these results. */
  ack(ids: readonly string[]): void {
    for (const id of ids) {
      const j = this.jobs.get(id);
      if (j?.state === 'done') j.acked = true;
    }
    this.prune();
  }

  /** Results no daemon has acknowledged yet, oldest first (sent again after a reconnect). */
  unacked(): HostInjectResult[] {
    const out: HostInjectResult[] = [];
    for (const j of this.jobs.values()) if (j.state === 'done' && !j.acked) out.push(j.result);
    return out;
  }

  get size(): number {
    return this.jobs.size;
  }

  /** Forget acknowledged results past the age or count bound, and unacknowledged ones past theirs; never running jobs. */
  private prune(): void {
    const now = this.now();
    let done = 0;
    let unacked = 0;
    for (const j of this.jobs.values()) {
      if (j.state !== 'done') continue;
      done++;
      if (!j.acked) unacked++;
    }
    for (const [id, j] of this.jobs) {
      if (j.state !== 'done') continue;
      const drop = j.acked ? done > this.limits.maxIds || now - j.at > this.limits.ttlMs : unacked > this.limits.maxUnacked;
      if (!drop) continue;
      this.jobs.delete(id);
      done--;
      if (!j.acked) unacked--;
    }
  }
}
