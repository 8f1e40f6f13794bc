/**
 * The fast path for `telepty hook` (issue 19): an AI CLI runs it at every turn's start and end, and the agent's state
 * follows as soon as it reports, so its start time is the state's delay. The launcher loads this module bundled into
 * one CommonJS file (scripts/bundle-fast.mjs) without commander; anything unusual goes to the full CLI.
 */
import { parseHookArgs, runHook } from './commands/hook.js';

export async function hookMain(argv: string[]): Promise<number | null> {
  const parsed = parseHookArgs(argv);
  return parsed ? runHook(parsed) : null;
}
