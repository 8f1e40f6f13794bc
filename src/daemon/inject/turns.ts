import type { AgentStateInfo } from '../../protocol/agent-state.js';
import { TURN_ANSWER_HEAD_LINES, TURN_ANSWER_MAX_CHARS, TURN_ANSWER_TAIL_LINES, type EventSink, type TurnCompleteFields } from '../../protocol/events.js';
import type { Logger } from '../../util/log.js';
import type { SessionEntry } from '../target.js';
import { IDLE_AFTER_PROMPT_GRACE_MS, type InjectStates, type Injector } from './injector.js';

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

/**
 * After a routed turn_request's inject (issue 19): once its prompt is submitted, wait until the target's agent
 * rests (idle, blocked, exited) and publish `turn_complete` with the answer's first and last lines. An inject that
 * failed has its `inject_failed` already; nothing more is published for it.
 */
export async function followTurn(
  injector: Injector,
  events: EventSink,
  log: Logger,
  turn: { injectId: string; target: string; extra: { turn_id: unknown; original_message_id: unknown; source_host: unknown } },
  now: () => number = Date.now,
): Promise<void> {
  const done = await injector.outcome(turn.injectId);
  if (!done || (done.result.status !== 'submitted' && done.result.status !== 'entered')) return;
  const { entry, result } = done;
  const submittedAt = Date.parse(result.submitted_at ?? result.written_at ?? '') || now();
  const end: AgentStateInfo | null = await turnEnded(injector.states, entry, submittedAt, IDLE_AFTER_PROMPT_GRACE_MS, TURN_MAX_MS, now);
  const st = end ?? injector.states.get(entry);
  const fields: TurnCompleteFields = {
    turn_id: typeof turn.extra.turn_id === 'string' ? turn.extra.turn_id : null,
    target: turn.target,
    session_id: entry.id,
    inject_id: turn.injectId,
    state: st.state,
    detail: st.detail,
    duration_ms: Math.max(0, (end ? Math.max(st.since, submittedAt) : now()) - submittedAt),
    timed_out: end === null,
    ...(await answerOf(entry, injector.states, turn.injectId, log)),
    original_message_id: turn.extra.original_message_id,
    source_host: turn.extra.source_host,
  };
  events.emit('turn_complete', { ...fields });
}
