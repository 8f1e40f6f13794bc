import { LAST_SCREEN_SCROLLBACK_LINES, type HostLastScreen } from '../protocol/host-link.js';
import type { SessionScreen } from './parts.js';

/**
 * The screen as the session ended, for the daemon to keep (`read` of the exited session): the visible rows and up
 * to LAST_SCREEN_SCROLLBACK_LINES of scrollback above them, as text and with SGR. Read once every byte is parsed
 * (the program has exited: the three reads see the same rows).
 */
export async function takeLastScreen(screen: SessionScreen): Promise<HostLastScreen> {
  const visible = (await screen.snapshot({ scrollback: false, ansi: false })).lines.length;
  const q = { scrollback: true, lines: visible + LAST_SCREEN_SCROLLBACK_LINES };
  const text = await screen.snapshot({ ...q, ansi: false });
  const ansi = await screen.snapshot({ ...q, ansi: true });
  return { type: 'last_screen', ...text, ansi_lines: ansi.lines, visible };
}
