import { TeleptyError } from '../../protocol/errors.js';
import { boundedSince, type SinceAnswer } from '../../protocol/ops/state.js';
import type { ScreenQuery, ScreenSnapshot } from '../../protocol/session.js';
import type { SessionEntry } from '../target.js';

/** The last screen its host sent, while the session is listed as exited (a session back to life has none). */
function keptScreen(e: SessionEntry): SessionEntry['lastScreen'] {
  return e.status === 'exited' ? e.lastScreen : undefined;
}

/**
 * An exited session's screen read, answered from the last screen its host sent (null when it has none: a host
 * before `last_screen`, a daemon restarted since, a session not exited). Cut as a host cuts a live screen
 * (terminal/screen.ts snapshot): the visible rows, or the scrollback kept above them too; then the last `lines`.
 */
export function lastScreenAnswer(e: SessionEntry, q: ScreenQuery): ScreenSnapshot | null {
  const kept = keptScreen(e);
  if (!kept) return null;
  const { type: _type, ansi_lines: ansiLines, visible, lines: textLines, ...screen } = kept;
  const rows = q.ansi ? ansiLines : textLines;
  const shown = q.scrollback ? rows : rows.slice(rows.length - visible);
  return { session_id: e.id, ...screen, lines: q.lines !== undefined ? shown.slice(-q.lines) : shown, exited: true, exit_code: e.exitCode };
}

/**
 * `read --since` of an exited session, answered from its last screen: the rows from where its host found the answer
 * to start (null when it kept no answers: a host before them, a daemon restarted since, a session not exited). An
 * answer that began above the rows kept is cut (truncated); one whose start was not found is the rows kept (lost).
 */
export function lastScreenSince(e: SessionEntry, injectId: string): SinceAnswer | null {
  const kept = keptScreen(e);
  if (!kept?.answers) return null;
  const a = kept.answers.find((x) => x.inject_id === injectId);
  if (!a) throw new TeleptyError('NOT_FOUND', `session ${e.id} has exited, and its host did not remember a submitted inject ${injectId}`, { inject_id: injectId });
  const start = a.start === null ? 0 : Math.min(Math.max(a.start, 0), kept.lines.length);
  const before = a.start !== null && a.start < 0 ? -a.start : 0;
  return { session_id: e.id, inject_id: a.inject_id, submitted_at: a.submitted_at, ...boundedSince(kept.lines.slice(start), before), lost: a.start === null, exited: true, exit_code: e.exitCode };
}
