import { Command } from 'commander';
import { describe, expect, it } from 'vitest';
import { parseFast, register } from '../../../src/commands/spawn.js';

/** What commander gives spawn's action for `argv` (the words after `spawn`). */
async function viaCommander(argv: string[]): Promise<[string[], Record<string, unknown>]> {
  const program = new Command('telepty').exitOverride().enablePositionalOptions();
  register(program);
  const cmd = program.commands[0] as Command;
  let got: [string[], Record<string, unknown>] | null = null;
  cmd.exitOverride().action((words: string[], opts: Record<string, unknown>) => {
    got = [words, { ...opts }];
  });
  await program.parseAsync(['spawn', ...argv], { from: 'user' });
  if (!got) throw new Error('commander did not run the action');
  return got;
}

// The fast path (src/spawn-fast.ts) parses spawn's ordinary form without commander: it must read every option as
// commander does, and leave anything else to commander.
describe('spawn fast path parse', () => {
  const same: string[][] = [
    ['--', 'claude'],
    ['--id', 'dev-001', '--cwd', '/tmp', '--', 'codex', '--model', 'o4'],
    ['--env', 'A=1', '--env=B=x=y', '--json', '--', 'bash', '-l'],
    ['--cols', '120', '--rows=40', '--attach', '--', 'htop'],
    ['--no-hooks', '--tag', 'a,b', '--tag', 'c', '--machine', 'box-2', '--', 'sh'],
    ['--record', '--cast-format', '3', '--record-input', '--record-max-size', '50M', '--', 'claude'],
    ['--record=/tmp/x.cast', '--', 'claude'],
    ['--id', 'a', '--id', 'b', '--', 'sh', '--', '-c', 'x'],
    ['--record', '--json', '--', 'sh'], // an optional value's option alone, then another option
    ['--json', '--record', '--', 'sh', '--record', 'x'], // the program's own words after -- are not spawn's
    ['--env', 'A=1', '--env', 'A=2', '--', 'sh'], // the last value of a key wins
  ];
  for (const argv of same) {
    it(`reads ${argv.join(' ')} as commander does`, async () => {
      const fast = parseFast(argv);
      expect(fast).not.toBeNull();
      expect(fast).toEqual(await viaCommander(argv));
    });
  }

  const others: string[][] = [
    ['claude'], // no --: commander's own reading
    ['--id', 'x', '--'], // no program
    ['--help', '--', 'sh'],
    ['--cols', '1', '--', 'sh'], // a bad value: commander reports it
    ['--cast-format', '4', '--', 'sh'],
    ['--env', 'NOEQUALS', '--', 'sh'],
    ['--record', 'file.cast', '--', 'sh'], // commander's optional value
    ['--no-such-option', '--', 'sh'],
    ['stray', '--', 'sh'],
    ['--record=a.cast', '--record', '--', 'sh'], // both forms: commander's reading
    ['--id', '--', 'sh'], // a value option with no value
  ];
  for (const argv of others) {
    it(`leaves ${argv.join(' ')} to commander`, () => {
      expect(parseFast(argv)).toBeNull();
    });
  }
});
