/**
 * The fast path for hot commands (`inject`): the same command, parsed from the same option spec with node:util
 * instead of commander, whose load alone is a quarter of node's start time here. Anything out of the ordinary
 * (help, an unknown option) returns null and the full CLI (src/cli.ts) takes over.
 */
import { exitCodeFor } from './ui/exit.js';
import { reportError } from './ui/print.js';

export const FAST_COMMANDS = new Set(['inject']);

export async function fastMain(argv: string[]): Promise<number | null> {
  const command = await import('./commands/inject.js');
  const parsed = command.parseFast(argv.slice(1));
  if (!parsed) return null;
  try {
    await command.run(...parsed);
    return typeof process.exitCode === 'number' ? process.exitCode : 0;
  } catch (err) {
    reportError(err, parsed[2].json === true);
    return exitCodeFor(err);
  }
}
