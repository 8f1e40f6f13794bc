import type { Command } from 'commander';

/** Every command module exports `register`: it adds its subcommand (options, help, action) to the program. */
export interface CommandModule {
  register(program: Command): void;
}

/** Examples shown at the end of `--help`. */
export function examples(lines: string[]): string {
  return `\nExamples:\n${lines.map((l) => `  ${l}`).join('\n')}\n`;
}
