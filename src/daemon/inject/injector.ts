import { randomUUID } from 'node:crypto';
import type { EventSink } from '../../protocol/events.js';
import { TeleptyError, isErrorCode, isTeleptyError } from '../../protocol/errors.js';
import type { HostInjectResult, HostInjectWritten } from '../../protocol/host-link.js';
import { isSessionId } from '../../protocol/ids.js';
import type { InjectOptions, InjectResponse, InjectStatus, MulticastResult } from '../../protocol/inject.js';
import { withTimeout } from '../../util/async.js';
import type { Logger } from '../../util/log.js';
import type { SessionEntry, SessionRegistry } from '../sessions/registry.js';

export interface InjectorTimings {
  /** The host answers "queued" at once; a host that does not within this is stuck. */
  hostAckTimeoutMs: number;
  /** Jobs whose host went away are forgotten after this (their result can no longer arrive). */
  pendingTtlMs: number;
}

/** Where an inject came from, carried into its events (the bus auto-router adds turn_id and friends). */
export interface InjectOrigin {
  source_type: 'api' | 'bus_auto_route';
  extra?: Record<string, unknown>;
}

interface Pending {
  injectId: string;
  entry: SessionEntry;
  text: string;
  enterOnly: boolean;
  opts: InjectOptions;
  origin: InjectOrigin;
  createdAt: number;
  waiters: { resolve: (r: HostInjectResult) => void; reject: (e: Error) => void }[];
}

export interface InjectorDeps {
  registry: SessionRegistry;
  events: EventSink;
  log: Logger;
  timings: InjectorTimings;
  now: () => number;
  /** A session's last sender changed (persist it). */
  changed: () => void;
}

/** Routes inject jobs to the host that owns the session, and reports what happened, honestly. */
export class Injector {
  private readonly pending = new Map<string, Pending>();

  constructor(private readonly deps: InjectorDeps) {}

  /** Type `prompt` into a session and (unless no_enter) submit it. */
  inject(id: unknown, prompt: string, opts: InjectOptions, origin: InjectOrigin = { source_type: 'api' }): Promise<InjectResponse> {
    return this.run(id, prompt, false, opts, origin);
  }

  /** Enter alone, through the same queue. */
  submit(id: unknown, opts: InjectOptions): Promise<InjectResponse> {
    return this.run(id, '', true, { ...opts, no_enter: false }, { source_type: 'api' });
  }

  async multicast(ids: string[], prompt: string, opts: InjectOptions): Promise<MulticastResult> {
    const settled = await Promise.allSettled(ids.map((id) => this.inject(id, prompt, opts)));
    const result: MulticastResult = { success: true, results: { successful: [], failed: [] } };
    settled.forEach((s, i) => {
      const id = ids[i] as string;
      if (s.status === 'fulfilled') result.results.successful.push({ id, inject_id: s.value.inject_id, status: s.value.status });
      else {
        const e = isTeleptyError(s.reason) ? s.reason : new TeleptyError('INTERNAL', 'inject failed');
        if (!isTeleptyError(s.reason)) this.deps.log.error(`multicast inject to ${id}`, s.reason);
        result.results.failed.push({ id, code: e.code, error: e.message });
      }
    });
    result.success = result.results.failed.length === 0;
    return result;
  }

  /** Every connected session. */
  async broadcast(prompt: string, opts: InjectOptions): Promise<MulticastResult> {
    await this.deps.registry.whenHostsBack();
    const ids = this.deps.registry.list().filter((e) => e.status === 'connected' && e.link).map((e) => e.id);
    return this.multicast(ids, prompt, opts);
  }

  private async run(id: unknown, text: string, enterOnly: boolean, opts: InjectOptions, origin: InjectOrigin): Promise<InjectResponse> {
    let entry: SessionEntry & { link: NonNullable<SessionEntry['link']> };
    // After a restart, the session's host may be a moment from reconnecting: wait for it (bounded).
    await this.deps.registry.whenHostsBack();
    try {
      entry = this.deps.registry.requireConnected(id);
    } catch (err) {
      // An id that is not a valid session id is not echoed into the event (it came from a URL, unchecked).
      if (isTeleptyError(err)) this.announceFailure(isSessionId(id) ? id : null, null, err, origin);
      throw err;
    }
    const injectId = randomUUID();
    if (opts.from !== null) {
      entry.lastFrom = opts.from;
      entry.lastReplyTo = opts.reply_to ?? opts.from;
      entry.lastThreadId = opts.thread_id;
      this.deps.changed();
    }
    const p: Pending = { injectId, entry, text, enterOnly, opts, origin, createdAt: this.deps.now(), waiters: [] };
    this.pending.set(injectId, p);
    const finished = opts.wait ? new Promise<HostInjectResult>((resolve, reject) => p.waiters.push({ resolve, reject })) : null;
    try {
      await entry.link.request('inject', { inject_id: injectId, text, no_enter: opts.no_enter, enter_only: enterOnly }, this.deps.timings.hostAckTimeoutMs);
    } catch (err) {
      this.pending.delete(injectId);
      finished?.catch((e: unknown) => this.deps.log.debug(`inject ${injectId}: ${(e as Error).message}`));
      this.failed(p, isTeleptyError(err) ? err : new TeleptyError('INTERNAL', 'the session host did not take the job'));
      throw err;
    }
    const base = { success: true as const, inject_id: injectId, session_id: entry.id };
    if (!finished) return { ...base, status: 'queued', written_at: null, submitted_at: null };
    let timedOut = false;
    const result = await withTimeout(finished, opts.timeout_ms, () => {
      timedOut = true;
      return new TeleptyError('TIMEOUT', `inject ${injectId} timed out`);
    }).catch(async (err: unknown) => {
      throw timedOut ? await this.timedOut(p) : err;
    });
    if (result.status === 'failed') {
      throw new TeleptyError(isErrorCode(result.code) ? result.code : 'INTERNAL', result.error ?? 'inject failed', { inject_id: injectId });
    }
    return { ...base, session_id: p.entry.id, status: result.status as InjectStatus, written_at: result.written_at, submitted_at: result.submitted_at };
  }

  /** The caller stopped waiting: withdraw the job if it has not started, and say which it was. */
  private async timedOut(p: Pending): Promise<TeleptyError> {
    const ms = p.opts.timeout_ms;
    let cancelled = false;
    try {
      cancelled = p.entry.link ? (await p.entry.link.request('cancel_inject', { inject_id: p.injectId }, this.deps.timings.hostAckTimeoutMs)).cancelled : false;
    } catch (err) {
      this.deps.log.warn(`could not withdraw inject ${p.injectId}: ${(err as Error).message}`);
    }
    if (cancelled) {
      this.pending.delete(p.injectId);
      const e = new TeleptyError('TIMEOUT', `the session was busy: the prompt was still queued after ${ms} ms and has been withdrawn (nothing was typed)`, { inject_id: p.injectId });
      this.failed(p, e);
      return e;
    }
    return new TeleptyError('TIMEOUT', `not confirmed within ${ms} ms; the job is still running and its outcome will be published on the bus`, { inject_id: p.injectId });
  }

  /** From the host: the text (and Enter) of a job is written. */
  onWritten(entry: SessionEntry, msg: HostInjectWritten): void {
    const p = this.pending.get(msg.inject_id);
    if (!p || p.enterOnly) return;
    const { opts } = p;
    this.deps.events.emit('inject_written', {
      inject_id: p.injectId,
      target_agent: entry.id,
      content: p.text,
      from: opts.from,
      reply_to: opts.reply_to,
      thread_id: opts.thread_id,
      reply_expected: opts.reply_expected,
      no_enter: opts.no_enter,
      delivered: true,
      source_type: p.origin.source_type,
      written_at: msg.written_at,
      ...p.origin.extra,
    });
    if (opts.from !== null) {
      this.deps.events.emit('message_routed', {
        message_id: p.injectId,
        from: opts.from,
        to: entry.id,
        reply_to: opts.reply_to,
        inject_id: p.injectId,
        deliberation_session_id: null,
        thread_id: opts.thread_id,
      });
    }
  }

  /** From the host: how a job ended. */
  onResult(entry: SessionEntry, msg: HostInjectResult): void {
    const p = this.pending.get(msg.inject_id);
    if (!p) return;
    this.pending.delete(msg.inject_id);
    if (msg.status === 'submitted') {
      this.deps.events.emit('submitted', { inject_id: p.injectId, target_agent: entry.id, written_at: msg.written_at, submitted_at: msg.submitted_at, ...p.origin.extra });
    } else if (msg.status === 'failed') {
      this.failed(p, new TeleptyError(isErrorCode(msg.code) ? msg.code : 'INTERNAL', msg.error ?? 'inject failed'));
    }
    for (const w of p.waiters.splice(0)) w.resolve(msg);
  }

  /** The host link of `entry` closed: callers waiting on its jobs are told; late results are still published. */
  onHostGone(entry: SessionEntry): void {
    const now = this.deps.now();
    for (const p of this.pending.values()) {
      if (p.entry === entry) {
        for (const w of p.waiters.splice(0)) {
          w.reject(new TeleptyError('SESSION_DISCONNECTED', `session ${entry.id} disconnected before the inject finished; it may still complete (watch the bus for inject ${p.injectId})`, { inject_id: p.injectId }));
        }
      }
      if (now - p.createdAt > this.deps.timings.pendingTtlMs) this.pending.delete(p.injectId);
    }
  }

  private failed(p: Pending, e: TeleptyError): void {
    this.announceFailure(p.entry.id, p.injectId, e, p.origin);
  }

  /** Every inject that fails is published as `inject_failed`, with its code (and the router's correlation fields). */
  private announceFailure(target: string | null, injectId: string | null, e: TeleptyError, origin: InjectOrigin): void {
    this.deps.events.emit('inject_failed', { inject_id: injectId, target_agent: target, code: e.code, error: e.message, delivered: false, source_type: origin.source_type, ...origin.extra });
  }
}
