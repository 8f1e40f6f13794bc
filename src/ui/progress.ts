/** Don't flash a spinner for work that finishes faster than a blink. */
const SPINNER_DELAY_MS = 250;

export interface Progress {
  update(text: string): void;
  /** Stop and clear; with `final`, leave that line behind. */
  done(final?: string): void;
}

export const noProgress: Progress = { update: () => undefined, done: () => undefined };

/**
 * A spinner on stderr when it is a terminal with a size (ora, loaded only if the work is slow); nothing otherwise.
 *
 * - A terminal that reports 0 columns (a pty nobody sized, e.g. Python's `pty.fork()`) gets no spinner: ora counts
 *   the spinner's lines as width / 0 = Infinity and then erases lines forever, blocking on the terminal or, once it
 *   is gone, growing without bound (a `wrap` that was starting the daemon reached 4.6 GB).
 * - What the person types meanwhile stays for the program that reads next (`wrap` passes it to the session): ora's
 *   stdin discarder only watches for Ctrl-C (test/e2e/progress-terminal.test.ts).
 * - The cursor stays shown: ora's hiding it also registers a handler that shows it again at the process's exit, a
 *   synchronous write to the terminal, and a `wrap` whose program exited while its terminal did not read then waited
 *   in that write until the terminal read again (test/e2e/wrap-blocked.test.ts).
 */
export function startProgress(text: string, stream: NodeJS.WriteStream = process.stderr): Progress {
  if (!stream.isTTY || process.env.CI || !(stream.columns > 0)) return noProgress;
  let current = text;
  let finished = false;
  let spinner: { text: string; stop(): void; stopAndPersist(o: { symbol: string; text: string }): void } | undefined;
  const timer = setTimeout(() => {
    void import('ora').then(({ default: ora }) => {
      if (!finished) spinner = ora({ text: current, stream, hideCursor: false }).start();
    });
  }, SPINNER_DELAY_MS);
  timer.unref();
  return {
    update(t) {
      current = t;
      if (spinner) spinner.text = t;
    },
    done(final) {
      finished = true;
      clearTimeout(timer);
      if (!spinner) return;
      if (final) spinner.stopAndPersist({ symbol: '✔', text: final });
      else spinner.stop();
    },
  };
}
