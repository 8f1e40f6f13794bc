/**
 * The fast path for `telepty spawn` (issue 24: `spawn` → the program's first output waits for this CLI's start):
 * the same command, its ordinary form (`spawn [options] -- program args`) parsed with node:util instead of
 * commander, and bundled into one CommonJS file (scripts/bundle-fast.mjs) that the launcher require()s: no ES module
 * loader, no command table. Anything else (help, an unknown option, a bad value) returns null and the full CLI
 * (src/cli.ts) takes over.
 */
import { parseFast, run } from './commands/spawn.js';
import { runParsed } from './fast-run.js';

export function spawnMain(argv: string[]): Promise<number | null> {
  return runParsed(parseFast(argv.slice(1)), run, (args) => args[1].json === true);
}
