import { randomUUID } from 'node:crypto';
import type { AgentStateInfo } from '../../protocol/agent-state.js';
import { isTeleptyError } from '../../protocol/errors.js';
import { DEFAULT_INJECT_TIMEOUT_MS, type InjectOptions } from '../../protocol/inject.js';
import { TURN_ANSWER_HEAD_LINES, TURN_ANSWER_MAX_CHARS, TURN_ANSWER_TAIL_LINES, type EventSink, type TurnCompleteFields } from '../../protocol/events.js';
import type { Logger } from '../../util/log.js';
import type { InjectOrigin, SessionEntry } from '../target.js';
import { injectFailedFields } from './events.js';
import { IDLE_AFTER_PROMPT_GRACE_MS, type InjectStates, type Injector } from './injector.js';
import type { FollowedTurn, TurnFollowStore } from './turn-follows.js';

/** A routed turn is followed this long at most; then `turn_complete` says `timed_out` (the agent still works). */
export const TURN_MAX_MS = 60 * 60_000;
/** The host's answer for the turn's text; a host that does not answer within this leaves `answer` null. */
const ANSWER_REQUEST_MS = 5_000;

/** First and last lines of a turn's answer, bounded in lines and characters. */
export function boundedAnswer(lines: readonly string[]): { answer: string; answer_truncated: boolean } {
  const cut = lines.length > TURN_ANSWER_HEAD_LINES + TURN_ANSWER_TAIL_LINES;
  const shown = cut ? [...lines.slice(0, TURN_ANSWER_HEAD_LINES), `… (${lines.length - TURN_ANSWER_HEAD_LINES - TURN_ANSWER_TAIL_LINES} lines left out)`, ...lines.slice(-TURN_ANSWER_TAIL_LINES)] : [...lines];
  let text = shown.join('\n');
  let truncated = cut;
  if (text.length > TURN_ANSWER_MAX_CHARS) {
    const half = Math.floor((TURN_ANSWER_MAX_CHARS - 3) / 2);
    text = `${text.slice(0, half)}\n…\n${text.slice(-half)}`;
    truncated = true;
  }
  return { answer: text, answer_truncated: truncated };
}

async function answerOf(entry: SessionEntry, states: InjectStates, injectId: string, log: Logger): Promise<Pick<TurnCompleteFields, 'answer' | 'answer_lines' | 'answer_truncated'>> {
  const none = { answer: null, answer_lines: 0, answer_truncated: false };
  if (!entry.link || !states.hasFeature(entry, 'since')) return none;
  try {
    const r = await entry.link.request('since', { inject_id: injectId }, ANSWER_REQUEST_MS);
    return { ...boundedAnswer(r.lines), answer_lines: r.total_lines, ...(r.truncated ? { answer_truncated: true } : {}) };
  } catch (err) {
    log.debug(`turn answer of inject ${injectId}: ${err instanceof Error ? err.message : String(err)}`);
    return none;
  }
}

/**
 * Resolves once a turn that began at `after` (epoch ms) has ended: the agent idle, blocked or exited since then, or
 * still idle/blocked `graceMs` after it (no turn ever showed); null when `timeoutMs` passes first.
 */
export async function turnEnded(states: InjectStates, e: SessionEntry, after: number, graceMs: number, timeoutMs: number, now: () => number = Date.now): Promise<AgentStateInfo | null> {
  const deadline = now() + timeoutMs;
  for (;;) {
    const st = states.get(e);
    const t = now();
    if (st.state === 'exited') return st;
    const resting = st.state === 'idle' || st.state === 'blocked';
    if (resting && (st.since >= after || t - after >= graceMs)) return st;
    const left = deadline - t;
    if (left <= 0) return null;
    await states.wait(e, 'any-change', Math.max(1, resting ? Math.min(left, after + graceMs - t) : left));
  }
}

/** A routed turn as the auto-router hands it over: where, what, from whom, and the request's correlation fields. */
export interface RoutedTurn extends Pick<FollowedTurn, 'session_id' | 'target' | 'text' | 'from' | 'reply_to' | 'thread_id'> {
  /** The inject's origin fields (turn_id as given, original_message_id, source_host), echoed in its events. */
  extra: { turn_id: unknown; original_message_id: string; source_host: string; auto_routed: true };
}

export interface TurnFollowerDeps {
  injector: Injector;
  events: EventSink;
  log: Logger;
  now: () => number;
  /** Where followed turns are kept until their turn_complete is published (absent: in memory only). */
  store?: TurnFollowStore;
}

function originOf(t: FollowedTurn, turnId: unknown = t.turn_id): InjectOrigin {
  return { source_type: 'bus_auto_route', extra: { turn_id: turnId, original_message_id: t.original_message_id, source_host: t.source_host, auto_routed: true } };
}

function optionsOf(t: FollowedTurn): InjectOptions {
  return { from: t.from, reply_to: t.reply_to, thread_id: t.thread_id, reply_expected: true, no_enter: false, wait: false, timeout_ms: DEFAULT_INJECT_TIMEOUT_MS, inject_id: t.inject_id };
}

/** A submission's time (epoch ms) from its result, else now. */
function submittedAtOf(r: { submitted_at: string | null; written_at: string | null }, now: () => number): number {
  return Date.parse(r.submitted_at ?? r.written_at ?? '') || now();
}

/**
 * Routed turns, followed to their end (issue 19): once a turn_request's prompt is submitted, wait until the target's
 * agent rests (idle, blocked, exited) and publish `turn_complete` with the answer's first and last lines. An inject
 * that failed has its `inject_failed` already; nothing more is published for it.
 *
 * Each turn is on disk (turn-follows.json) from before its prompt is handed on until its turn_complete is published,
 * so a daemon killed meanwhile leaves it to the next one (restore). Published once: the record is marked published,
 * on disk, before the event goes out, and a record found marked at a start is forgotten, not published again.
 */
export class TurnFollower {
  constructor(private readonly deps: TurnFollowerDeps) {}

  /** A turn_request for a session of this machine: kept on disk, then injected, then followed to its end. */
  async route(t: RoutedTurn): Promise<void> {
    const { store } = this.deps;
    const rec: FollowedTurn = {
      inject_id: randomUUID(),
      session_id: t.session_id,
      target: t.target,
      text: t.text,
      from: t.from,
      reply_to: t.reply_to,
      thread_id: t.thread_id,
      turn_id: typeof t.extra.turn_id === 'string' ? t.extra.turn_id : null,
      original_message_id: t.extra.original_message_id,
      source_host: t.extra.source_host,
      created_at: this.deps.now(),
      submitted_at: null,
      published: false,
    };
    const origin = originOf(rec, t.extra.turn_id);
    if (store) {
      try {
        await store.keep(rec);
      } catch (err) {
        if (!isTeleptyError(err)) throw err;
        // Not followed, so not typed: refused before it became a job (no inject id), like any refused turn_request.
        this.deps.events.emit('inject_failed', injectFailedFields(err, t.target, origin));
        return;
      }
    }
    await this.follow(rec, origin);
  }

  /**
   * Turns the last daemon followed and did not close (it was killed): followed on. A prompt whose submission is not
   * known is handed to its session again under the same inject id, once its host is back: a host that remembers the
   * id answers its outcome (never typing it twice), one that never got it types it now. A session gone or exited
   * closes its turn as `exited`.
   */
  restore(turns: readonly FollowedTurn[]): void {
    for (const t of turns) {
      if (t.published) {
        this.deps.store?.forget(t.inject_id);
        this.deps.log.info(`turn_complete of inject ${t.inject_id} was published before the restart: not again`);
        continue;
      }
      this.resume(t).catch((err: unknown) => this.deps.log.error(`resuming the routed turn of inject ${t.inject_id}`, err));
    }
  }

  private async resume(t: FollowedTurn): Promise<void> {
    const { injector } = this.deps;
    const entry = injector.sessions.get(t.session_id);
    if (!entry) {
      this.publish(t, this.goneFields(t));
      return;
    }
    if (t.submitted_at !== null) {
      await this.complete(t, entry, t.submitted_at);
      return;
    }
    // Handed again only to a host that is back (a job for a session still away would fail as disconnected), and only
    // within TURN_MAX_MS of the request: a host remembers a finished id for an hour after it ended
    // (INJECT_MEMORY_TTL_MS), so within that it answers the first outcome rather than typing the prompt twice.
    const deadline = t.created_at + TURN_MAX_MS;
    if (this.deps.now() >= deadline || !(await this.linked(entry, deadline))) {
      await this.complete(t, entry, t.created_at);
      return;
    }
    await this.follow(t, originOf(t));
  }

  /** Injected (or handed again), then, once submitted, followed to its end; forgotten when nothing was submitted. */
  private async follow(t: FollowedTurn, origin: InjectOrigin): Promise<void> {
    const { injector, store, now } = this.deps;
    let submitted: { entry: SessionEntry; at: number } | null = null;
    try {
      const r = await injector.inject(t.session_id, t.text, optionsOf(t), origin);
      if (r.status === 'queued') {
        const done = await injector.outcome(t.inject_id);
        if (done && (done.result.status === 'submitted' || done.result.status === 'entered')) submitted = { entry: done.entry, at: submittedAtOf(done.result, now) };
      } else if (r.status === 'submitted' || r.status === 'entered') {
        // A host that remembered the id answered its first outcome.
        const entry = injector.sessions.get(r.session_id);
        if (entry) submitted = { entry, at: submittedAtOf(r, now) };
      }
    } catch (err) {
      // The injector published inject_failed (with this turn's fields) for every failure it met.
      store?.forget(t.inject_id);
      if (!isTeleptyError(err)) throw err;
      return;
    }
    if (!submitted) {
      store?.forget(t.inject_id);
      return;
    }
    store?.submitted(t.inject_id, submitted.at);
    await this.complete(t, submitted.entry, submitted.at);
  }

  /** Resolves true once the session's host is linked, false when it exited or `deadline` (epoch ms) passed first. */
  private async linked(entry: SessionEntry, deadline: number): Promise<boolean> {
    const { injector, now } = this.deps;
    await injector.sessions.whenHostsBack();
    for (;;) {
      if (entry.status === 'exited') return false;
      if (entry.status === 'connected' && entry.link) return true;
      const left = deadline - now();
      if (left <= 0) return false;
      // A host that links again reports its agent's state (a change from `unknown`); an exit ends every wait.
      await injector.states.wait(entry, 'any-change', left);
    }
  }

  /** Waits for the agent to rest after `submittedAt` (TURN_MAX_MS at most from it) and publishes turn_complete. */
  private async complete(t: FollowedTurn, entry: SessionEntry, submittedAt: number): Promise<void> {
    const { injector, log, now } = this.deps;
    const left = Math.max(0, submittedAt + TURN_MAX_MS - now());
    const end: AgentStateInfo | null = await turnEnded(injector.states, entry, submittedAt, IDLE_AFTER_PROMPT_GRACE_MS, left, now);
    const st = end ?? injector.states.get(entry);
    this.publish(t, {
      turn_id: t.turn_id,
      target: t.target,
      session_id: entry.id,
      inject_id: t.inject_id,
      state: st.state,
      detail: st.detail,
      duration_ms: Math.max(0, (end ? Math.max(st.since, submittedAt) : now()) - submittedAt),
      timed_out: end === null,
      ...(await answerOf(entry, injector.states, t.inject_id, log)),
      original_message_id: t.original_message_id,
      source_host: t.source_host,
    });
  }

  /** A turn whose session is no longer known (removed while the daemon was down): closed as exited, no answer. */
  private goneFields(t: FollowedTurn): TurnCompleteFields {
    const start = t.submitted_at ?? t.created_at;
    return {
      turn_id: t.turn_id,
      target: t.target,
      session_id: t.session_id,
      inject_id: t.inject_id,
      state: 'exited',
      detail: `session ${t.session_id} is gone`,
      duration_ms: Math.max(0, this.deps.now() - start),
      timed_out: false,
      answer: null,
      answer_lines: 0,
      answer_truncated: false,
      original_message_id: t.original_message_id,
      source_host: t.source_host,
    };
  }

  /** Marked published on disk, then published, then forgotten: a restart in between never publishes it twice. */
  private publish(t: FollowedTurn, fields: TurnCompleteFields): void {
    const { store, events, log } = this.deps;
    const send = (): void => {
      events.emit('turn_complete', { ...fields });
      store?.forget(t.inject_id);
    };
    if (!store) {
      send();
      return;
    }
    store.publishing(t.inject_id).then(send, (err: unknown) => {
      // The disk refused the mark: published all the same (the orchestrator waits for it now); the mark is retried.
      log.warn(`turn_complete of inject ${t.inject_id}: not marked published on disk (${err instanceof Error ? err.message : String(err)}); published anyway`);
      send();
    });
  }
}
