import { randomUUID } from 'node:crypto';
import type { EventSink } from '../../protocol/events.js';
import { TeleptyError, isErrorCode, isTeleptyError } from '../../protocol/errors.js';
import type { HostInjectResult, HostInjectWritten, InjectJobMeta, InjectReply } from '../../protocol/host-link.js';
import { isSessionId } from '../../protocol/ids.js';
import { MAX_PROMPT_CHARS, multicastInjectId, type InjectOptions, type InjectResponse, type InjectStatus, type MulticastResult, type SubmitStrategy, type TimeoutJob } from '../../protocol/inject.js';
import { withTimeout } from '../../util/async.js';
import type { Logger } from '../../util/log.js';
import { replyAddressOf } from '../../protocol/address.js';
import type { HostHandle, InjectOrigin, SessionEntry } from '../target.js';
import type { HeldPrompt, HeldPromptStore } from './held-prompts.js';
import { NEVER_IDLE, type AgentStateInfo, type WaitUntil } from '../../protocol/agent-state.js';
import { injectFailedFields } from './events.js';

export type { InjectOrigin } from '../target.js';

export interface InjectorTimings {
  /** The host answers "queued" at once; a host that does not within this is stuck. */
  hostAckTimeoutMs: number;
  /** Jobs whose host went away are forgotten after this (their result can no longer arrive). */
  pendingTtlMs: number;
}

/** The sessions as the injector needs them (the registry, sessions/registry.ts, is one). */
export interface InjectSessions {
  /** Whether a restart's hosts are still awaited. */
  awaitingHosts(): boolean;
  whenHostsBack(): Promise<void>;
  get(id: string): SessionEntry | undefined;
  list(): SessionEntry[];
  /** The entry with a live host link, or why there is none (a TeleptyError). */
  requireConnected(id: unknown): SessionEntry & { link: HostHandle };
  /** The agent state of each session (issue 19): a `blocked` one is not typed into, `when: "idle"` waits for idle. */
  readonly states: InjectStates;
}

/** The agent states as the injector needs them (sessions/agent-states.ts is them). */
export interface InjectStates {
  get(e: SessionEntry): AgentStateInfo;
  /** The state once `until` is reached, or null after `timeoutMs`. */
  wait(e: SessionEntry, until: WaitUntil, timeoutMs: number): Promise<AgentStateInfo | null>;
  /** Whether the session's host serves a link feature (e.g. `since`). */
  hasFeature(e: SessionEntry, feature: string): boolean;
}

/**
 * A prompt held for `when: "idle"` goes only on an idle reached after the session's last prompt (the idle before
 * that turn is stale); an agent that stays idle this long after a prompt never began a turn for it (a command that
 * answers at once), and is ready. Well above the screen's judgment (75 ms) plus its settle (200 ms).
 */
export const IDLE_AFTER_PROMPT_GRACE_MS = 1_500;

interface Pending {
  injectId: string;
  entry: SessionEntry;
  text: string;
  enterOnly: boolean;
  opts: InjectOptions;
  origin: InjectOrigin;
  createdAt: number;
  waiters: { resolve: (r: HostInjectResult) => void; reject: (e: Error) => void }[];
  /** Handed to the host (false while a `when: "idle"` job is held in the daemon). */
  sent: boolean;
  /** Withdrawn while held in the daemon (its inject_failed is published). */
  withdrawn: boolean;
}

export interface InjectorDeps {
  registry: InjectSessions;
  events: EventSink;
  log: Logger;
  timings: InjectorTimings;
  now: () => number;
  /** A session's last sender changed (persist it). */
  changed: () => void;
  /** Where `when: "idle"` prompts are kept while held, so a daemon killed meanwhile leaves them to the next one. */
  held?: HeldPromptStore;
}

/**
 * Prompts waiting for one session at most (queued or being typed): each takes 50-150 ms to type into an idle program
 * and usually a turn of the agent's after it, so a thousand is hours of work queued; more is a runaway loop.
 */
const MAX_JOBS_PER_SESSION = 1_000;
/**
 * Characters of prompt text waiting for one session at most: 16 of the largest prompts (MAX_PROMPT_CHARS), held by
 * this daemon and by the session's host until typed (150 such prompts took the daemon to 276 MB and the host to 208).
 */
const MAX_WAITING_CHARS_PER_SESSION = 16 * MAX_PROMPT_CHARS;

/** Outcome ids remembered as published (a result is sent again only around a reconnect: this is ample). */
const PUBLISHED_IDS_MAX = 10_000;

function jobMeta(opts: InjectOptions, enterOnly: boolean, origin: InjectOrigin): InjectJobMeta {
  return {
    from: opts.from,
    reply_to: opts.reply_to,
    thread_id: opts.thread_id,
    reply_expected: opts.reply_expected,
    no_enter: opts.no_enter,
    enter_only: enterOnly,
    source_type: origin.source_type,
    ...(origin.extra ? { extra: origin.extra } : {}),
  };
}

/** The answer for a finished job: its status, or its failure as the error (with the inject id). */
function answerFor(base: { success: true; inject_id: string; session_id: string }, result: HostInjectResult): InjectResponse {
  if (result.status === 'failed') {
    throw new TeleptyError(isErrorCode(result.code) ? result.code : 'INTERNAL', result.error ?? 'inject failed', { inject_id: base.inject_id });
  }
  const seen = result.status === 'entered' && typeof result.seen === 'string' ? { seen: result.seen } : {};
  const confirmed = result.status === 'submitted' && result.confirmed_by ? { confirmed_by: result.confirmed_by } : {};
  const ready = typeof result.ready_at === 'string' ? { ready_at: result.ready_at } : {};
  return { ...base, status: result.status as InjectStatus, written_at: result.written_at, submitted_at: result.submitted_at, ...seen, ...confirmed, ...ready };
}

/** A held job as it is kept on disk: the caller that waited for it is not (it goes with this daemon). */
function heldOf(p: Pending): HeldPrompt {
  return { inject_id: p.injectId, session_id: p.entry.id, text: p.text, enter_only: p.enterOnly, opts: { ...p.opts, wait: false }, origin: p.origin, created_at: p.createdAt };
}

/** Add an id to a bounded set of ids (the oldest is forgotten first). */
function remember(ids: Set<string>, id: string): void {
  ids.delete(id);
  ids.add(id);
  if (ids.size > PUBLISHED_IDS_MAX) {
    const oldest = ids.values().next();
    if (!oldest.done) ids.delete(oldest.value);
  }
}

/** Routes inject jobs to the host that owns the session, and reports what happened, honestly. */
export class Injector {
  private readonly pending = new Map<string, Pending>();
  /** Ids whose outcome this daemon published: a result the host sends again (its ack was lost) is not published twice. */
  private readonly published = new Set<string>();
  /** Ids withdrawn on a timeout (their inject_failed published) and not sent again since. */
  private readonly withdrawn = new Set<string>();
  /** When each session last had a prompt typed (epoch ms, from its host's results): `when: "idle"` waits past it. */
  private readonly lastPromptAt = new WeakMap<SessionEntry, number>();
  /** Wakes `when: "idle"` jobs held for a session when one of its jobs ends. */
  private readonly jobEnded = new WeakMap<SessionEntry, Set<() => void>>();

  constructor(private readonly deps: InjectorDeps) {}

  /**
   * Type `prompt` into a session and (unless no_enter) submit it. The answer also carries the seed's
   * `submit: {deferred, strategy}` block: null with no_enter; `deferred` while the Enter is still to come.
   */
  async inject(id: unknown, prompt: string, opts: InjectOptions, origin: InjectOrigin = { source_type: 'api' }): Promise<InjectResponse> {
    const r = await this.run(id, prompt, false, opts, origin);
    return { ...r, submit: opts.no_enter ? null : { deferred: r.status === 'queued', strategy: this.strategyOf(r.session_id) } };
  }

  /** The seed's name for how the Enter goes: apart from the text, to the PTY by our host or through a 0.1.5x owner. */
  private strategyOf(id: string): SubmitStrategy {
    const e = this.deps.registry.get(id);
    return e && e.hostPid === null ? 'ws_split_cr' : 'pty_split_cr';
  }

  /** Enter alone, through the same queue. */
  submit(id: unknown, opts: InjectOptions): Promise<InjectResponse> {
    return this.run(id, '', true, { ...opts, no_enter: false }, { source_type: 'api' });
  }

  /**
   * The prompt to each of `ids`; the seed's answer: `success` unless every one failed, `failed` lists which did
   * and why. One `injection` event per session that took it (the seed's multicast event).
   */
  async multicast(ids: string[], prompt: string, opts: InjectOptions): Promise<MulticastResult> {
    const result = await this.fanOut(ids, prompt, opts);
    for (const ok of result.results.successful) this.deps.events.emit('injection', { target_agent: ok.id, content: prompt, inject_id: ok.inject_id, from: opts.from });
    return result;
  }

  /**
   * Every session that is not exited: a disconnected one is listed in `failed` (as the seed listed a wrapped
   * session whose bridge was away) rather than left out. One `injection` event for the whole broadcast.
   */
  async broadcast(prompt: string, opts: InjectOptions): Promise<MulticastResult> {
    // After a restart, the hosts expected back count (bounded wait): a live session is not "disconnected" then.
    await this.deps.registry.whenHostsBack();
    const ids = this.deps.registry.list().filter((e) => e.status !== 'exited').map((e) => e.id);
    const result = await this.fanOut(ids, prompt, opts);
    if (result.results.successful.length > 0) {
      this.deps.events.emit('injection', { target_agent: 'all', content: prompt, session_ids: result.results.successful.map((s) => s.id), from: opts.from });
    }
    return result;
  }

  private async fanOut(ids: string[], prompt: string, opts: InjectOptions): Promise<MulticastResult> {
    const settled = await Promise.allSettled(ids.map((id) => this.inject(id, prompt, { ...opts, inject_id: multicastInjectId(opts.inject_id ?? null, id) })));
    const result: MulticastResult = { success: true, results: { successful: [], failed: [] } };
    settled.forEach((s, i) => {
      const id = ids[i] as string;
      if (s.status === 'fulfilled') result.results.successful.push({ id, inject_id: s.value.inject_id, status: s.value.status });
      else {
        const e = isTeleptyError(s.reason) ? s.reason : new TeleptyError('INTERNAL', 'inject failed');
        if (!isTeleptyError(s.reason)) this.deps.log.error(`multicast inject to ${id}`, s.reason);
        const job = e.details?.job;
        const injectId = e.details?.inject_id;
        result.results.failed.push({
          id,
          code: e.code,
          error: e.message,
          ...(typeof injectId === 'string' ? { inject_id: injectId } : {}),
          ...(job === 'pending' || job === 'withdrawn' ? { job } : {}),
        });
      }
    });
    // 0.1.53 answered success with the failed list on a partial failure; only a total failure is not a success.
    result.success = result.results.successful.length > 0 || result.results.failed.length === 0;
    return result;
  }

  private async run(id: unknown, text: string, enterOnly: boolean, opts: InjectOptions, origin: InjectOrigin): Promise<InjectResponse> {
    let entry: SessionEntry & { link: NonNullable<SessionEntry['link']> };
    // After a restart, the session's host may be a moment from reconnecting: wait for it (bounded). Only then: a
    // job must reach the queue in the turn it was asked for, so a repeat right after it joins it.
    if (this.deps.registry.awaitingHosts()) await this.deps.registry.whenHostsBack();
    try {
      entry = this.deps.registry.requireConnected(id);
    } catch (err) {
      // An id that is not a valid session id is not echoed into the event (it came from a URL, unchecked). The
      // request was not accepted, so it carries no inject id: a caller's repeat of it may still be accepted, and
      // each accepted inject ends in exactly one outcome event.
      if (isTeleptyError(err)) this.announceFailure(isSessionId(id) ? id : null, null, err, origin);
      throw err;
    }
    const injectId = opts.inject_id ?? randomUUID();
    const base = { success: true as const, inject_id: injectId, session_id: entry.id };
    const running = this.pending.get(injectId);
    if (running && running.entry !== entry) {
      throw new TeleptyError('CONFLICT', `inject id ${injectId} is already in use for session ${running.entry.id}; choose another id`, { inject_id: injectId });
    }
    let p: Pending;
    let finished: Promise<HostInjectResult> | null;
    if (running) {
      // A repeat of a job this daemon is still running: join it (never type it again).
      p = running;
      finished = opts.wait ? new Promise<HostInjectResult>((resolve, reject) => running.waiters.push({ resolve, reject })) : null;
    } else {
      try {
        this.checkRoom(entry, text);
      } catch (err) {
        if (isTeleptyError(err)) this.announceFailure(entry.id, null, err, origin);
        throw err;
      }
      if (opts.from !== null) {
        entry.lastFrom = opts.from;
        entry.lastReplyTo = replyAddressOf(opts.reply_to, opts.from);
        entry.lastThreadId = opts.thread_id;
        this.deps.changed();
      }
      // A new job under this id (one withdrawn earlier may be sent again): its outcome is still to be published.
      this.withdrawn.delete(injectId);
      const fresh: Pending = { injectId, entry, text, enterOnly, opts, origin, createdAt: this.deps.now(), waiters: [], sent: opts.when !== 'idle', withdrawn: false };
      p = fresh;
      this.pending.set(injectId, fresh);
      finished = opts.wait ? new Promise<HostInjectResult>((resolve, reject) => fresh.waiters.push({ resolve, reject })) : null;
      if (opts.when === 'idle') {
        // Held here until the agent is idle: the answer (queued, or the outcome) is as for any job, once the prompt
        // is on disk (a daemon killed meanwhile leaves it to the next one).
        try {
          await this.deps.held?.keep(heldOf(fresh));
        } catch (err) {
          this.pending.delete(injectId);
          if (isTeleptyError(err)) this.announceFailure(entry.id, null, err, origin);
          throw err;
        }
        void this.holdUntilIdle(fresh);
      } else {
        const known = await this.hand(fresh, entry.link, finished);
        if (known && !finished) return answerFor(base, known);
      }
    }
    if (!finished) return { ...base, status: 'queued', written_at: null, submitted_at: null };
    let timedOut = false;
    const result = await withTimeout(finished, opts.timeout_ms, () => {
      timedOut = true;
      return new TeleptyError('TIMEOUT', `inject ${injectId} timed out`);
    }).catch(async (err: unknown) => {
      throw timedOut ? await this.timedOut(p) : err;
    });
    return answerFor({ ...base, session_id: p.entry.id }, result);
  }

  /**
   * Prompts an earlier daemon held for idle and did not hand on (it was killed, or stopped): held again, their timeout
   * counted from when they were asked. One whose session is gone ends with its inject_failed; nothing is typed.
   */
  restoreHeld(held: readonly HeldPrompt[]): void {
    for (const h of held) {
      if (this.pending.has(h.inject_id)) continue;
      const entry = this.deps.registry.get(h.session_id);
      if (!entry || entry.status === 'exited') {
        this.deps.held?.forget(h.inject_id);
        const e = new TeleptyError(entry ? 'SESSION_EXITED' : 'SESSION_NOT_FOUND', `session ${h.session_id} ${entry ? 'exited' : 'is gone'} while prompt ${h.inject_id} was held for idle across a daemon restart; nothing was typed`, { inject_id: h.inject_id });
        this.announceFailure(h.session_id, h.inject_id, e, h.origin);
        remember(this.withdrawn, h.inject_id);
        continue;
      }
      const p: Pending = { injectId: h.inject_id, entry, text: h.text, enterOnly: h.enter_only, opts: h.opts, origin: h.origin, createdAt: h.created_at, waiters: [], sent: false, withdrawn: false };
      this.pending.set(h.inject_id, p);
      void this.holdUntilIdle(p);
    }
  }

  /**
   * A flood of prompts is refused, not held: every job waiting for a session is held whole by this daemon and by the
   * session's host until it is typed, each up to MAX_PROMPT_CHARS. Nothing of a refused prompt is typed.
   */
  private checkRoom(entry: SessionEntry, text: string): void {
    let jobs = 0;
    let chars = 0;
    for (const o of this.pending.values()) {
      if (o.entry !== entry) continue;
      jobs++;
      chars += o.text.length;
    }
    if (jobs < MAX_JOBS_PER_SESSION && chars + text.length <= MAX_WAITING_CHARS_PER_SESSION) return;
    throw new TeleptyError(
      'QUEUE_FULL',
      `session ${entry.id} has ${jobs} prompt${jobs === 1 ? '' : 's'} (${chars} characters) waiting to be typed, and holds at most ${MAX_JOBS_PER_SESSION} prompts or ${MAX_WAITING_CHARS_PER_SESSION} characters; this one was not queued and nothing was typed: send it again once some were submitted`,
      { session_id: entry.id, waiting: jobs },
    );
  }

  /**
   * The job to its host's queue. A host that remembers the id answers its first outcome (returned: it stands).
   * A host that does not take the job: the job fails (published) and the error is thrown.
   */
  private async hand(p: Pending, link: HostHandle, finished: Promise<HostInjectResult> | null): Promise<HostInjectResult | null> {
    const { injectId, entry, text, enterOnly, opts, origin } = p;
    p.sent = true;
    let reply: InjectReply;
    try {
      reply = await link.request(
        'inject',
        // A dialog waiting in the session is the host's to judge (its state now, its memory of the id): never typed into.
        { inject_id: injectId, text, no_enter: opts.no_enter, enter_only: enterOnly, ...(opts.force ? { force: true } : { refuse_blocked: true }), meta: jobMeta(opts, enterOnly, origin) },
        this.deps.timings.hostAckTimeoutMs,
      );
    } catch (err) {
      this.pending.delete(injectId);
      finished?.catch((e: unknown) => this.deps.log.debug(`inject ${injectId}: ${(e as Error).message}`));
      const e = isTeleptyError(err) ? err : new TeleptyError('INTERNAL', 'the session host did not take the job');
      this.failed(p, e);
      for (const w of p.waiters.splice(0)) w.reject(e);
      throw err;
    }
    if (reply.known !== 'done') return null;
    // The host remembers this id: it ran before (under this daemon or an earlier one). Its first outcome stands.
    this.settle(entry, reply.result, !reply.acked);
    if (reply.acked === false) link.send({ type: 'inject_ack', inject_ids: [injectId] });
    return reply.result;
  }

  /**
   * A `when: "idle"` job: handed to the host once the agent is idle after the session's last prompt and no other
   * job of the session is in its host's queue; withdrawn (TIMEOUT, nothing typed) when that does not come within
   * the job's `timeout_ms`.
   */
  private async holdUntilIdle(p: Pending): Promise<void> {
    const deadline = p.createdAt + p.opts.timeout_ms;
    const states = this.deps.registry.states;
    for (;;) {
      if (p.withdrawn) return;
      const now = this.deps.now();
      const st = states.get(p.entry);
      const busy = [...this.pending.values()].some((o) => o !== p && o.entry === p.entry && o.sent);
      const last = this.lastPromptAt.get(p.entry) ?? 0;
      const fresh = st.since >= last || now - last >= IDLE_AFTER_PROMPT_GRACE_MS;
      if (st.state === 'exited') {
        this.withdraw(p, new TeleptyError('SESSION_EXITED', `session ${p.entry.id} exited before its agent was idle; nothing was typed`, { inject_id: p.injectId }));
        return;
      }
      if (!busy && st.state === 'idle' && fresh && p.entry.link) {
        try {
          await this.hand(p, p.entry.link, null);
        } catch (err) {
          if (!isTeleptyError(err)) this.deps.log.error(`inject ${p.injectId}`, err);
        }
        // Handed (its host remembers the id from now on: handed again after a crash, it is never typed twice), or
        // failed and published: either way no longer held.
        this.deps.held?.forget(p.injectId);
        return;
      }
      const left = deadline - now;
      if (left <= 0) {
        this.withdraw(p, this.withdrawnError(p, this.notIdle(p)));
        return;
      }
      // Wake on a state change, a job of the session ending, the grace passing, or the deadline.
      const step = st.state === 'idle' && !fresh ? Math.min(left, last + IDLE_AFTER_PROMPT_GRACE_MS - now) : left;
      await new Promise<void>((resolve) => {
        const set = this.jobEnded.get(p.entry) ?? new Set<() => void>();
        this.jobEnded.set(p.entry, set);
        const done = (): void => {
          set.delete(done);
          resolve();
        };
        set.add(done);
        void states.wait(p.entry, 'any-change', Math.max(1, step)).then(done);
      });
    }
  }

  /** Why a held prompt was never typed: the state the agent is in, and for `unknown` that it never becomes idle. */
  private notIdle(p: Pending): string {
    const state = this.deps.registry.states.get(p.entry).state;
    const never = state === 'unknown' ? `; ${NEVER_IDLE}: inject without --when-idle` : '';
    return `the agent was not idle within ${p.opts.timeout_ms} ms (it is ${state}${never})`;
  }

  private withdrawnError(p: Pending, why: string): TeleptyError {
    return new TeleptyError('TIMEOUT', `${why}: the prompt was still queued and has been withdrawn (nothing was typed) and will never be typed`, { inject_id: p.injectId, job: 'withdrawn' satisfies TimeoutJob });
  }

  /** A job held in the daemon ends untyped: its callers are told, its one outcome (inject_failed) is published. */
  private withdraw(p: Pending, e: TeleptyError): void {
    if (p.withdrawn) return;
    p.withdrawn = true;
    this.deps.held?.forget(p.injectId);
    this.pending.delete(p.injectId);
    for (const w of p.waiters.splice(0)) w.reject(e);
    this.failed(p, e);
    remember(this.withdrawn, p.injectId);
  }

  /**
   * How a job of this daemon ends: its host's result, or null when it failed before one (refused, withdrawn, the
   * host gone). For the auto-router's turn_complete.
   */
  outcome(injectId: string): Promise<{ entry: SessionEntry; result: HostInjectResult } | null> {
    const p = this.pending.get(injectId);
    if (!p) return Promise.resolve(null);
    return new Promise((resolve) => p.waiters.push({ resolve: (result) => resolve({ entry: p.entry, result }), reject: () => resolve(null) }));
  }

  /** The sessions the injector types into (the turn follower finds a restored turn's session here). */
  get sessions(): InjectSessions {
    return this.deps.registry;
  }

  /** The agent state of a session (auto-router, read by the injector's own registry). */
  get states(): InjectStates {
    return this.deps.registry.states;
  }

  /** The caller stopped waiting: withdraw the job if it has not started, and say which it was (`job`). */
  private async timedOut(p: Pending): Promise<TeleptyError> {
    const ms = p.opts.timeout_ms;
    if (!p.sent) {
      const e = this.withdrawnError(p, this.notIdle(p));
      this.withdraw(p, e);
      return e;
    }
    let cancelled = false;
    try {
      cancelled = p.entry.link ? (await p.entry.link.request('cancel_inject', { inject_id: p.injectId }, this.deps.timings.hostAckTimeoutMs)).cancelled : false;
    } catch (err) {
      this.deps.log.warn(`could not withdraw inject ${p.injectId}: ${(err as Error).message}`);
    }
    if (cancelled) {
      this.pending.delete(p.injectId);
      const e = new TeleptyError('TIMEOUT', `the session was busy: the prompt was still queued after ${ms} ms and has been withdrawn (nothing was typed) and will never be typed`, { inject_id: p.injectId, job: 'withdrawn' satisfies TimeoutJob });
      // Callers that joined it are told the same.
      for (const w of p.waiters.splice(0)) w.reject(e);
      this.failed(p, e);
      // Its one outcome (inject_failed) is published: a stray late result must not make a second.
      remember(this.withdrawn, p.injectId);
      return e;
    }
    return new TeleptyError(
      'TIMEOUT',
      `not confirmed within ${ms} ms; the prompt may still be typed: its outcome will be published on the bus (inject ${p.injectId}); retry only with the same inject id`,
      { inject_id: p.injectId, job: 'pending' satisfies TimeoutJob },
    );
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

  /** From the host: how a job ended (also a result sent again after a reconnect: published once). */
  onResult(entry: SessionEntry, msg: HostInjectResult): void {
    this.settle(entry, msg, true);
  }

  /** A job's outcome: published once (unless `publish` is false: already published), callers waiting are answered. */
  private settle(entry: SessionEntry, msg: HostInjectResult, publish: boolean): void {
    const p = this.pending.get(msg.inject_id);
    if (p) this.pending.delete(msg.inject_id);
    const typedAt = Date.parse(msg.submitted_at ?? msg.written_at ?? '');
    if (Number.isFinite(typedAt)) this.lastPromptAt.set(entry, Math.max(this.lastPromptAt.get(entry) ?? 0, typedAt));
    for (const wake of [...(this.jobEnded.get(entry) ?? [])]) wake();
    if (publish && !this.published.has(msg.inject_id) && !(this.withdrawn.has(msg.inject_id) && !p)) {
      const origin: InjectOrigin = p?.origin ?? { source_type: msg.meta?.source_type === 'bus_auto_route' ? 'bus_auto_route' : 'api', ...(msg.meta?.extra ? { extra: msg.meta.extra } : {}) };
      this.publishOutcome(entry.id, msg, origin);
    }
    remember(this.published, msg.inject_id);
    for (const w of p?.waiters.splice(0) ?? []) w.resolve(msg);
  }

  /** Exactly one outcome event per job: `submitted`, `entered`, `written` or `inject_failed`. */
  private publishOutcome(target: string, msg: HostInjectResult, origin: InjectOrigin): void {
    if (msg.status === 'failed') {
      this.announceFailure(target, msg.inject_id, new TeleptyError(isErrorCode(msg.code) ? msg.code : 'INTERNAL', msg.error ?? 'inject failed'), origin);
      return;
    }
    // `entered` says what the screen showed instead of the submission.
    const seen = msg.status === 'entered' ? { seen: typeof msg.seen === 'string' ? msg.seen : null } : {};
    const confirmed = msg.status === 'submitted' && msg.confirmed_by ? { confirmed_by: msg.confirmed_by } : {};
    this.deps.events.emit(msg.status, { inject_id: msg.inject_id, target_agent: target, written_at: msg.written_at, submitted_at: msg.submitted_at, ...seen, ...confirmed, ...origin.extra });
  }

  /**
   * The host link of `entry` closed: callers waiting on its jobs are told; late results are still published. After
   * the session exited no result can come any more: a job its host did not report ends here, failed (SESSION_EXITED).
   */
  onHostGone(entry: SessionEntry): void {
    const now = this.deps.now();
    for (const p of [...this.pending.values()]) {
      // A job still held here (`when: "idle"`) is not the host's: holdUntilIdle ends it (on the exit, its bound), or
      // hands it to the host once it is back.
      if (!p.sent) continue;
      if (p.entry === entry && entry.status === 'exited') {
        this.withdraw(p, new TeleptyError('SESSION_EXITED', `session ${entry.id} exited (code ${entry.exitCode}) before inject ${p.injectId} finished; it was not submitted`, { inject_id: p.injectId }));
        continue;
      }
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
    this.deps.events.emit('inject_failed', injectFailedFields(e, target, origin, injectId));
  }
}
