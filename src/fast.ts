/**
 * The fast path for the hot command (`inject`): the same command, parsed from the same option spec with node:util
 * instead of commander, whose load alone is a quarter of node's start time here. Anything out of the ordinary
 * (help, an unknown option) returns null and the full CLI (src/cli.ts) takes over. The launcher loads this
 * module bundled into one file (scripts/bundle-fast.mjs), so everything here is imported statically.
 */
import { parseFast, run } from './commands/inject.js';
import { showProgressOnTerminal } from './commands/terminal-progress.js';
import { exitCodeFor } from './ui/exit.js';
import { reportError } from './ui/print.js';

export async function fastMain(argv: string[]): Promise<number | null> {
  const parsed = parseFast(argv.slice(1));
  if (!parsed) return null;
  showProgressOnTerminal();
  try {
    await run(...parsed);
    return typeof process.exitCode === 'number' ? process.exitCode : 0;
  } catch (err) {
    reportError(err, parsed[2].json === true);
    return exitCodeFor(err);
  }
}
