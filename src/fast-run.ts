import { showProgressOnTerminal } from './commands/terminal-progress.js';
import { exitCodeFor } from './ui/exit.js';
import { explainHomeError } from './ui/home-error.js';
import { reportError } from './ui/print.js';

/**
 * Run a command its fast path parsed (src/fast.ts, src/spawn-fast.ts): its exit code, its error reported as the
 * full CLI would (JSON when asked); null when the fast path did not parse it (the full CLI takes over).
 */
export async function runParsed<A extends unknown[]>(parsed: A | null, run: (...args: A) => Promise<void>, json: (args: A) => boolean): Promise<number | null> {
  if (!parsed) return null;
  showProgressOnTerminal();
  try {
    await run(...parsed);
    return typeof process.exitCode === 'number' ? process.exitCode : 0;
  } catch (err) {
    const told = await explainHomeError(err);
    reportError(told, json(parsed));
    return exitCodeFor(told);
  }
}
