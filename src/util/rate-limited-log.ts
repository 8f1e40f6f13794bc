import type { Logger } from './log.js';

/** How many lines of one kind are logged per window; a flood (a web page retrying, a scan) is summarised. */
const LINES_PER_WINDOW = 30;
const WINDOW_MS = 60_000;

/** A warning log that cannot be flooded: past the limit in a window, the rest are counted and summarised. */
export function rateLimitedWarn(log: Logger, now: () => number = Date.now): (line: string) => void {
  let windowStart = now();
  let lines = 0;
  let suppressed = 0;
  return (line: string) => {
    const t = now();
    if (t - windowStart >= WINDOW_MS) {
      if (suppressed > 0) log.warn(`… and ${suppressed} more like it in the last ${WINDOW_MS / 1000} s`);
      windowStart = t;
      lines = 0;
      suppressed = 0;
    }
    if (lines < LINES_PER_WINDOW) {
      lines++;
      log.warn(line);
    } else suppressed++;
  };
}
