/** Exit status of a command stopped by Ctrl-C (SIGINT), as shells report it: 128 + 2. */
export const EXIT_INTERRUPTED = 130;

/**
 * Run `work`, a wait on something that goes on without the command (a prompt in a session's queue): Ctrl-C
 * meanwhile says what it leaves behind (`said()`, on stderr) and exits with 130, instead of ending without a word.
 * With `said` null (nothing is waited for) `work` just runs.
 */
export async function sayingOnInterrupt<T>(said: (() => string) | null, work: () => Promise<T>): Promise<T> {
  if (!said) return work();
  const onInterrupt = (): void => {
    process.stderr.write(`\n${said()}\n`);
    process.exit(EXIT_INTERRUPTED);
  };
  process.once('SIGINT', onInterrupt);
  try {
    return await work();
  } finally {
    process.off('SIGINT', onInterrupt);
  }
}
