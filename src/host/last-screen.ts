import { LAST_SCREEN_SCROLLBACK_LINES, type HostLastScreen, type LastScreenAnswer } from '../protocol/host-link.js';
import type { SessionScreen } from './parts.js';

/**
 * The screen as the session ended, for the daemon to keep (`read` of the exited session): the visible rows and up
 * to LAST_SCREEN_SCROLLBACK_LINES of scrollback above them, as text and with SGR. Read once every byte is parsed
 * (the program has exited: the reads see the same rows). With it, where the answer of each inject the host remembers
 * starts in those rows (`read --since` of the exited session).
 */
export async function takeLastScreen(screen: SessionScreen, answers: (all: readonly string[], keptFrom: number) => LastScreenAnswer[]): Promise<HostLastScreen> {
  const visible = (await screen.snapshot({ scrollback: false, ansi: false })).lines.length;
  const q = { scrollback: true, lines: visible + LAST_SCREEN_SCROLLBACK_LINES };
  const text = await screen.snapshot({ ...q, ansi: false });
  const ansi = await screen.snapshot({ ...q, ansi: true });
  // Every row, to find where each remembered inject's answer starts (the kept rows are the last of them).
  const all = (await screen.snapshot({ scrollback: true, ansi: false })).lines;
  return { type: 'last_screen', ...text, ansi_lines: ansi.lines, visible, answers: answers(all, all.length - text.lines.length) };
}
