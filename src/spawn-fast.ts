/**
 * The fast path for `telepty spawn` (issue 24: `spawn` → the program's first output waits for this CLI's start):
 * the same command, its ordinary form (`spawn [options] -- program args`) parsed with node:util instead of
 * commander, and bundled into one CommonJS file (scripts/bundle-fast.mjs) that the launcher require()s: no ES module
 * loader, no command table. Anything else (help, an unknown option, a bad value) returns null and the full CLI
 * (src/cli.ts) takes over.
 */
import { parseFast, run } from './commands/spawn.js';
import { showProgressOnTerminal } from './commands/terminal-progress.js';
import { exitCodeFor } from './ui/exit.js';
import { reportError } from './ui/print.js';

export async function spawnMain(argv: string[]): Promise<number | null> {
  const parsed = parseFast(argv.slice(1));
  if (!parsed) return null;
  showProgressOnTerminal();
  try {
    await run(...parsed);
    return typeof process.exitCode === 'number' ? process.exitCode : 0;
  } catch (err) {
    reportError(err, parsed[1].json === true);
    return exitCodeFor(err);
  }
}
