import { useProgress } from '../client/progress.js';
import { startProgress } from '../ui/progress.js';

/**
 * Give the client the terminal's progress display (ui/progress.ts: a spinner on a TTY's stderr, nothing
 * otherwise): its waits (starting the daemon, a prompt waiting for its session, a stop) show from now on. The
 * program (src/cli.ts, src/fast.ts) calls it once, before any command runs.
 */
export function showProgressOnTerminal(): void {
  useProgress(startProgress);
}
