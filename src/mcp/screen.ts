import type { DaemonClient } from '../client/daemon-client.js';
import { getSession, readScreen } from '../client/sessions.js';
import { isTeleptyError } from '../protocol/errors.js';
import { readScreenOp } from '../protocol/ops/sessions.js';
import type { ReadScreenQuery, ScreenSnapshot } from '../protocol/session.js';
import { checkRequest } from './context.js';
import { trimBlankTail } from './screen-cursor.js';

/** A session's screen with its scrollback, as the cursor keeps it: the history the next read is compared with. */
export interface History {
  snapshot: ScreenSnapshot;
  /** Scrollback and screen, without the blank rows below the last written one. */
  lines: string[];
  /** How many of `lines` are the visible screen. */
  visible: number;
}

/**
 * Read the whole history (scrollback and screen) of a local session; `query` checked as the daemon checks it. With
 * `lastScreen`, an exited session answers with its last screen (`snapshot.exited`) where it had one kept, not SESSION_EXITED.
 */
export async function readHistory(c: DaemonClient, id: string, lastScreen = false): Promise<History> {
  const q: ReadScreenQuery = checkRequest(readScreenOp, { query: { scrollback: true, ansi: false, ...(lastScreen ? { last_screen: true } : {}) } });
  const snapshot = await readScreen(c, id, q);
  const lines = trimBlankTail(snapshot.lines);
  const screenTop = Math.max(0, snapshot.lines.length - snapshot.rows);
  return { snapshot, lines, visible: Math.max(0, lines.length - screenTop) };
}

/** Why a session's screen cannot be read any more: it ended (with its code), or it is gone from the list. */
export type Ended = { outcome: 'exited'; exit_code: number | null } | { outcome: 'gone' };

/**
 * After a failed screen read: has the session ended? (null: no, the error stands.) SESSION_EXITED and
 * SESSION_NOT_FOUND are endings a waiter reports; anything else is an error.
 */
export async function endingOf(c: DaemonClient, id: string, err: unknown): Promise<Ended | null> {
  if (!isTeleptyError(err)) return null;
  if (err.code === 'SESSION_NOT_FOUND') return { outcome: 'gone' };
  if (err.code !== 'SESSION_EXITED') return null;
  try {
    const s = await getSession(c, id);
    return { outcome: 'exited', exit_code: s.exit_code };
  } catch (e) {
    if (isTeleptyError(e) && e.code === 'SESSION_NOT_FOUND') return { outcome: 'gone' };
    throw e;
  }
}
