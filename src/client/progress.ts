/**
 * What the client shows while the user waits (starting the daemon, a prompt waiting for its session, a stop). The
 * client draws nothing itself: the program (src/cli.ts, src/fast.ts) gives it the terminal's display once at
 * start (`useProgress(startProgress)` from ui/progress.ts); without it (tests, library use) nothing is shown.
 */
export interface Progress {
  update(text: string): void;
  /** Stop and clear; with `final`, leave that line behind. */
  done(final?: string): void;
}

export type StartProgress = (text: string) => Progress;

export const noProgress: Progress = { update: () => undefined, done: () => undefined };

let reporter: StartProgress = () => noProgress;

/** Show the client's waits with `start` from now on (the program calls it once, before any command runs). */
export function useProgress(start: StartProgress): void {
  reporter = start;
}

/** Start showing a wait (nothing unless the program gave a display). */
export function startProgress(text: string): Progress {
  return reporter(text);
}
