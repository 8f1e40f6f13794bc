import type { HostHandle } from '../../src/daemon/sessions/registry.js';
import { TeleptyError } from '../../src/protocol/errors.js';
import { HOST_LINK_VERSION, type DaemonToHost, type HostHello, type HostRequestMap, type HostRequestOp, type InjectJobArgs } from '../../src/protocol/host-link.js';

let instanceSeq = 0;
/** A fresh host instance (hosts use 32 hex chars; the hub wants at least 16). */
export function newHostInstance(): string {
  instanceSeq += 1;
  return `instance-${String(instanceSeq).padStart(16, '0')}`;
}

/**
 * The hello a wrapped bash host of today's link version sends, created a minute before `t0` and active 5 s before
 * it. A test of an older host passes `{ link_version: n }` in `over`, so that the old version is written out there.
 */
export function hostHello(instance: string, id: string, t0: number, over: Partial<HostHello> = {}, session: Partial<HostHello['session']> = {}): HostHello {
  return {
    type: 'hello',
    link_version: HOST_LINK_VERSION,
    host_instance: instance,
    session_id: id,
    id_flexible: false,
    ...over,
    session: {
      type: 'wrapped',
      command: 'bash',
      args: ['-l'],
      cwd: '/home/me/projects/telepty',
      pid: 4242,
      host_pid: 4241,
      cols: 120,
      rows: 40,
      term: 'xterm-256color',
      created_at: new Date(t0 - 60_000).toISOString(),
      last_activity_at: new Date(t0 - 5_000).toISOString(),
      bracketed_paste: true,
      alt_screen: false,
      ...session,
    },
  };
}

/**
 * The host end of a link, as a session host of today's link version (v3) behaves on it: it takes an inject job into
 * its queue and answers "queued" at once, answers a repeated id from memory (`known`) instead of queueing it again,
 * and withdraws a job that has not started. How a job ends is reported by the test, through the
 * injector's onWritten/onResult, exactly as the host hub passes the host's messages on.
 */
export class QueueingHost implements HostHandle {
  readonly jobs: InjectJobArgs[] = [];
  readonly cancelled: string[] = [];
  /** Whether a cancel_inject finds the job still queued (true) or already running (false). */
  stillQueued = true;
  /** A host that does not take jobs (stuck or broken) fails the request with this. */
  refuse: TeleptyError | null = null;

  /** What a real host remembers: an inject with one of these ids is answered so, and not queued. */
  readonly remembered = new Map<string, HostRequestMap['inject']['result']>();
  readonly sent: DaemonToHost[] = [];

  send(message: DaemonToHost): void {
    this.sent.push(message);
  }

  async request<K extends HostRequestOp>(op: K, args: HostRequestMap[K]['args'], _timeoutMs: number): Promise<HostRequestMap[K]['result']> {
    if (op === 'inject') {
      if (this.refuse) throw this.refuse;
      const job = args as InjectJobArgs;
      const known = this.remembered.get(job.inject_id);
      if (known) return known as HostRequestMap[K]['result'];
      // A v3 host never types an id twice: one it holds (queued, not withdrawn) is answered as still running.
      if (this.jobs.some((j) => j.inject_id === job.inject_id) && !this.cancelled.includes(job.inject_id)) {
        return { queued: true, position: 0, known: 'running' } as HostRequestMap[K]['result'];
      }
      this.jobs.push(job);
      return { queued: true, position: this.jobs.length - 1 } as HostRequestMap[K]['result'];
    }
    if (op === 'cancel_inject') {
      const id = (args as HostRequestMap['cancel_inject']['args']).inject_id;
      if (this.stillQueued) this.cancelled.push(id);
      return { cancelled: this.stillQueued } as HostRequestMap[K]['result'];
    }
    throw new Error(`the injector should not ask a host for ${op}`);
  }

  close(_code: number, _reason: string): void {}

  /** The jobs once there are `n` (the injector sends a job after its synchronous checks, a few turns later). */
  async jobsAt(n: number): Promise<InjectJobArgs[]> {
    for (let turn = 0; turn < 100 && this.jobs.length < n; turn++) await new Promise((r) => setImmediate(r));
    if (this.jobs.length !== n) throw new Error(`expected ${n} inject jobs on the host, it has ${this.jobs.length}`);
    return this.jobs;
  }
}

/** A QueueingHost that answers a replay request with its screen (`replayWith`), or fails it with that error. */
export class ReplayingHost extends QueueingHost {
  replayWith: string | TeleptyError = 'SCREEN';
  override async request<K extends Parameters<QueueingHost['request']>[0]>(op: K, args: Parameters<QueueingHost['request']>[1], timeoutMs: number): ReturnType<QueueingHost['request']> {
    if (op !== 'replay') return super.request(op, args, timeoutMs);
    if (this.replayWith instanceof TeleptyError) throw this.replayWith;
    return { data: this.replayWith } as Awaited<ReturnType<QueueingHost['request']>>;
  }
}
