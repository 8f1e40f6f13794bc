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
  const kept = visible + LAST_SCREEN_SCROLLBACK_LINES;
  // Every row as text, once: the kept rows are its last ones (a snapshot cut to `lines` is that tail), and each
  // remembered inject's answer is found among all of them.
  const whole = await screen.snapshot({ scrollback: true, ansi: false });
  const lines = whole.lines.slice(-kept);
  const ansi = await screen.snapshot({ scrollback: true, lines: kept, ansi: true });
  return { type: 'last_screen', ...whole, lines, ansi_lines: ansi.lines, visible, answers: answers(whole.lines, whole.lines.length - lines.length) };
}
