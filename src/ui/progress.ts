/** Don't flash a spinner for work that finishes faster than a blink. */
const SPINNER_DELAY_MS = 250;

export interface Progress {
  update(text: string): void;
  /** Stop and clear; with `final`, leave that line behind. */
  done(final?: string): void;
}

export const noProgress: Progress = { update: () => undefined, done: () => undefined };

/** A spinner on stderr when it is a TTY (ora, loaded only if the work is slow); nothing otherwise. */
export function startProgress(text: string, stream: NodeJS.WriteStream = process.stderr): Progress {
  if (!stream.isTTY || process.env.CI) return noProgress;
  let current = text;
  let finished = false;
  let spinner: { text: string; stop(): void; stopAndPersist(o: { symbol: string; text: string }): void } | undefined;
  const timer = setTimeout(() => {
    void import('ora').then(({ default: ora }) => {
      if (!finished) spinner = ora({ text: current, stream }).start();
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
