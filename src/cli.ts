import { Command, CommanderError } from 'commander';
import { COMMANDS } from './commands/index.js';
import { showProgressOnTerminal } from './commands/terminal-progress.js';
import { textFirst, type CommandSpec } from './commands/spec.js';
import { EXIT, exitCodeFor } from './ui/exit.js';
import { explainHomeError } from './ui/home-error.js';
import { reportError } from './ui/print.js';
import { packageVersion } from './util/version.js';

const COMMANDER_OK = new Set(['commander.helpDisplayed', 'commander.version', 'commander.help', 'commander.executeSubCommandAsync']);

function requestedCommand(argv: string[]): string | undefined {
  const first = argv.find((a) => !a.startsWith('-'));
  if (first === 'help') return argv[argv.indexOf('help') + 1];
  return first;
}

/** argv with textFirst applied to the words after the command's name. */
function textFirstAfter(command: string, spec: CommandSpec, argv: string[]): string[] {
  const at = argv.indexOf(command);
  return at < 0 ? argv : [...argv.slice(0, at + 1), ...textFirst(spec, argv.slice(at + 1))];
}

export async function main(argv: string[]): Promise<number> {
  const json = argv.includes('--json');
  // The client shows its waits (starting the daemon, a prompt waiting for its session) on this terminal.
  showProgressOnTerminal();
  const program = new Command('telepty')
    .description('Connect terminals: make sessions addressable, inject prompts that get submitted, follow the event bus.')
    .version(packageVersion(), '-V, --version')
    .showSuggestionAfterError(true)
    // Options belong to the command they follow (`daemon start --port P` is start's --port, not daemon's).
    .enablePositionalOptions()
    .exitOverride()
    .configureOutput({ outputError: (str, write) => write(`telepty: ${str.replace(/^error: /, '')}`) });

  const wanted = requestedCommand(argv);
  let ndjson = false;
  for (const entry of COMMANDS) {
    if (entry.name === wanted || entry.aliases?.includes(wanted ?? '')) {
      const mod = await entry.load();
      mod.register(program);
      ndjson = mod.ndjson === true;
      // A command declared by a spec keeps prompt words that start with '-' as text (`inject d1 "- fix it"`).
      if (mod.spec) argv = textFirstAfter(wanted as string, mod.spec, argv);
    } else program.command(entry.name).aliases(entry.aliases ?? []).description(entry.summary);
  }
  program.addHelpText('after', '\nRun `telepty <command> --help` for options and examples. Manual: `man telepty`.\n');

  try {
    await program.parseAsync(argv, { from: 'user' });
    return typeof process.exitCode === 'number' ? process.exitCode : EXIT.OK;
  } catch (err) {
    if (err instanceof CommanderError) return COMMANDER_OK.has(err.code) ? EXIT.OK : EXIT.USAGE;
    const told = await explainHomeError(err);
    reportError(told, json, ndjson);
    return exitCodeFor(told);
  }
}
