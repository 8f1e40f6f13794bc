import { TeleptyError } from '../protocol/errors.js';

/**
 * `read_screen`'s cursor: the server keeps the lines it last returned for a session under a short token; a call
 * with that token gets only what changed since (the lines from the first one that differs). Screens are small, so
 * keeping a bounded number of them in memory costs little and needs nothing from the daemon.
 */
export const CURSORS_KEPT = 256;

interface Kept {
  session: string;
  lines: string[];
}

export interface ScreenDelta {
  /** The lines that are new or changed since the cursor, in screen order. */
  lines: string[];
  /** What happened: `new` (only additions), `changed` (lines above the old end were redrawn), `all` (no cursor, or the screen no longer shares any line with it). */
  kind: 'new' | 'changed' | 'all';
}

/** Trailing blank rows (below the cursor) are not news. */
export function trimBlankTail(lines: string[]): string[] {
  let end = lines.length;
  while (end > 0 && (lines[end - 1] as string).trim() === '') end--;
  return lines.slice(0, end);
}

/**
 * What `now` adds to `before`. Output that scrolled (the scrollback grew, or its oldest lines were dropped) is
 * found by aligning the end of the common part; a redraw (a full-screen program) gives every row from the first
 * one that changed.
 */
export function deltaOf(before: string[], now: string[]): ScreenDelta {
  let same = 0;
  while (same < before.length && same < now.length && before[same] === now[same]) same++;
  if (same === before.length) return { lines: now.slice(same), kind: 'new' };
  if (same > 0) return { lines: now.slice(same), kind: 'changed' };
  // Nothing in common at the top: the oldest lines may have been dropped. Find where `before`'s last complete
  // line (not the one being typed on) sits in `now`.
  for (let anchor = before.length - 2; anchor >= 0 && anchor >= before.length - 8; anchor--) {
    const line = before[anchor] as string;
    if (line.trim() === '') continue;
    const at = now.lastIndexOf(line);
    if (at >= 0) return { lines: now.slice(at + 1), kind: 'changed' };
  }
  return { lines: now, kind: 'all' };
}

export class ScreenCursors {
  private readonly kept = new Map<string, Kept>();
  private next = 1;

  /** Keep `lines` as what `session` showed; the token to resume from. */
  save(session: string, lines: string[]): string {
    const token = `c${this.next++}`;
    this.kept.set(token, { session, lines });
    while (this.kept.size > CURSORS_KEPT) {
      const oldest = this.kept.keys().next().value;
      if (oldest === undefined) break;
      this.kept.delete(oldest);
    }
    return token;
  }

  /** The lines kept under `token` for `session`; an unknown or another session's token is an INVALID_FIELD. */
  lines(token: string, session: string): string[] {
    const kept = this.kept.get(token);
    if (!kept) throw new TeleptyError('INVALID_FIELD', `unknown cursor ${JSON.stringify(token.slice(0, 40))} (this server keeps the last ${CURSORS_KEPT}; read without one)`, { field: 'cursor' });
    if (kept.session !== session) throw new TeleptyError('INVALID_FIELD', `cursor ${token} belongs to session ${kept.session}, not ${session}`, { field: 'cursor' });
    return kept.lines;
  }
}
