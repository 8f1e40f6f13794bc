/**
 * The fast path for the hot command (`inject`): the same command, parsed from the same option spec with node:util
 * instead of commander, whose load alone is a quarter of node's start time here. Anything out of the ordinary
 * (help, an unknown option) returns null and the full CLI (src/cli.ts) takes over. The launcher loads this
 * module bundled into one file (scripts/bundle-fast.mjs), so everything here is imported statically.
 */
import { parseFast, run } from './commands/inject.js';
import { runParsed } from './fast-run.js';

export function fastMain(argv: string[]): Promise<number | null> {
  return runParsed(parseFast(argv.slice(1)), run, (args) => args[2].json === true);
}
