import type { HostInjectResult, HostToDaemon, InjectJobArgs, InjectJobMeta, InjectReply } from '../protocol/host-link.js';
import { InjectQueue, type InjectOutcome, type InjectTarget, type InjectTimings } from '../terminal/inject-queue.js';
import { settlesWithin } from '../util/async.js';
import { InjectMemory } from './inject-memory.js';

/**
 * A host's inject jobs: the queue that types them (terminal/inject-queue.ts) and the memory of their ids, so a
 * repeated id is answered from memory and never typed again, and a result is sent again after a reconnect until
 * a daemon acknowledges it.
 */
export class InjectJobs {
  private readonly memory: InjectMemory;
  private readonly queue: InjectQueue;
  /** Jobs the queue ended whose result waits for its follow-up before it is sent. */
  private readonly following = new Set<Promise<void>>();

  constructor(
    target: InjectTarget,
    /** To the daemon; false when the link is down (the result waits in memory for the next daemon). */
    private readonly send: (message: HostToDaemon) => boolean,
    timings: InjectTimings,
    /** Where keystrokes held while a job wrote go when it releases them. */
    release: (held: string) => void,
    private readonly now: () => number,
    /** A job's text (and Enter) were written: the recording marks it (issue 22). */
    onWritten?: (id: string, meta: InjectJobMeta | undefined) => void,
    /** A job ended: what is known after it (issue 19: where the screen was, a hook's proof) completes its outcome. */
    private readonly follow?: (id: string, outcome: InjectOutcome) => Promise<InjectOutcome & Pick<HostInjectResult, 'confirmed_by'>>,
  ) {
    this.memory = new InjectMemory(now);
    this.queue = new InjectQueue(
      target,
      {
        written: (id, at) => {
          if (onWritten) {
            const job = this.memory.get(id);
            onWritten(id, job?.state === 'running' ? job.meta : undefined);
          }
          this.send({ type: 'inject_written', inject_id: id, written_at: at });
        },
        done: (id, o) => {
          if (!this.follow) return this.done(id, o);
          // A follow-up that fails leaves the queue's outcome as it was: every job still ends in one result.
          const followed: Promise<void> = this.follow(id, o).then(
            (full) => this.done(id, full),
            () => this.done(id, o),
          );
          this.following.add(followed);
          void followed.then(() => this.following.delete(followed));
        },
      },
      timings,
      release,
      now,
    );
  }

  /** Keystrokes from the user or a viewer: true when held (a job is writing), to be released after it. */
  hold(data: string): boolean {
    return this.queue.hold(data);
  }

  /** Whether this id is running or remembered (a repeat: answered from memory). */
  knows(id: string): boolean {
    return this.memory.get(id) !== undefined;
  }

  /** A new job is queued; a repeated id is answered from memory and never typed again. */
  accept(job: InjectJobArgs): InjectReply {
    const known = this.memory.get(job.inject_id);
    if (known?.state === 'running') return { queued: true, position: 0, known: 'running' };
    if (known?.state === 'done') return { queued: true, position: 0, known: 'done', result: known.result, acked: known.acked };
    this.memory.started(job.inject_id, job.meta);
    return { queued: true, position: this.queue.enqueue(job) };
  }

  /** Withdraw a job that has not started: its id may then be used again. */
  cancel(id: string): { cancelled: boolean } {
    const cancelled = this.queue.cancel(id);
    if (cancelled) this.memory.forget(id);
    return { cancelled };
  }

  /**
   * Resolves true once every job has ended and its result was sent (or kept for the next daemon), false after maxMs:
   * a host whose program exited reports its jobs' ends before the exit, so no caller waits on a job that cannot end.
   */
  async settled(maxMs: number): Promise<boolean> {
    const started = this.now();
    if (!(await this.queue.settled(maxMs))) return false;
    return this.following.size === 0 || settlesWithin(Promise.all([...this.following]), maxMs - (this.now() - started));
  }

  /** A daemon has published these results: they are not sent again. */
  ack(ids: readonly string[]): void {
    this.memory.ack(ids);
  }

  /** Results no daemon has acknowledged (the link was down, or the daemon died before it published them). */
  unacked(): HostInjectResult[] {
    return this.memory.unacked();
  }

  /** A job ended: its result is kept (and sent again after a reconnect) until a daemon acknowledges it. */
  private done(id: string, outcome: InjectOutcome & Pick<HostInjectResult, 'confirmed_by'>): void {
    const job = this.memory.get(id);
    const meta = job?.state === 'running' ? job.meta : undefined;
    const result: HostInjectResult = { type: 'inject_result', inject_id: id, ...outcome, ...(meta ? { meta } : {}) };
    this.memory.finished(result);
    this.send(result);
  }
}
