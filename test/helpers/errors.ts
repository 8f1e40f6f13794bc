import { TeleptyError } from '../../src/protocol/errors.js';

/** The TeleptyError code a call throws (fails the test when it throws something else or nothing). */
export function codeOf(fn: () => unknown): string {
  const code = codeOrNull(fn);
  if (code === null) throw new Error('expected a TeleptyError, nothing was thrown');
  return code;
}

/** The TeleptyError code a call throws, or null when it returns (fails the test when it throws something else). */
export function codeOrNull(fn: () => unknown): string | null {
  try {
    fn();
    return null;
  } catch (err) {
    if (err instanceof TeleptyError) return err.code;
    throw err;
  }
}
