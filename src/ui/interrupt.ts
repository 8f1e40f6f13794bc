/** Exit status of a command stopped by Ctrl-C (SIGINT), as shells report it: 128 + 2. */
export const EXIT_INTERRUPTED = 130;

/**
 * While a command waits on something that goes on without it (a prompt in a session's queue), Ctrl-C says what it
 * leaves behind (`said()`, on stderr) before the command exits with 130, instead of ending without a word. Returns
 * the function that takes the handler away once the wait is over.
 */
export function sayOnInterrupt(said: () => string): () => void {
  const onInterrupt = (): void => {
    process.stderr.write(`\n${said()}\n`);
    process.exit(EXIT_INTERRUPTED);
  };
  process.once('SIGINT', onInterrupt);
  return () => process.off('SIGINT', onInterrupt);
}
