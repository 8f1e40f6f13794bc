import type { ScreenQuery, ScreenSnapshot } from '../../protocol/session.js';
import type { SessionEntry } from '../target.js';

/**
 * An exited session's screen read, answered from the last screen its host sent (null when it has none: a host
 * before `last_screen`, a daemon restarted since, a session not exited). Cut as a host cuts a live screen
 * (terminal/screen.ts snapshot): the visible rows, or the scrollback kept above them too; then the last `lines`.
 */
export function lastScreenAnswer(e: SessionEntry, q: ScreenQuery): ScreenSnapshot | null {
  const kept = e.status === 'exited' ? e.lastScreen : undefined;
  if (!kept) return null;
  const { type: _type, ansi_lines: ansiLines, visible, lines: textLines, ...screen } = kept;
  const rows = q.ansi ? ansiLines : textLines;
  const shown = q.scrollback ? rows : rows.slice(rows.length - visible);
  return { session_id: e.id, ...screen, lines: q.lines !== undefined ? shown.slice(-q.lines) : shown, exited: true, exit_code: e.exitCode };
}
