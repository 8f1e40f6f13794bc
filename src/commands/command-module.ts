import type { Command } from 'commander';
import type { CommandSpec } from './spec.js';

/** Every command module exports `register`: it adds its subcommand (options, help, action) to the program. */
export interface CommandModule {
  register(program: Command): void;
  /** The command's option spec, for commands declared by one (inject). */
  spec?: CommandSpec;
  /** Its --json output is NDJSON (one object per line), so an error printed with --json is one line too. */
  ndjson?: boolean;
}

/** Examples shown at the end of `--help`. */
export function examples(lines: string[]): string {
  return `\nExamples:\n${lines.map((l) => `  ${l}`).join('\n')}\n`;
}
