import { Command, CommanderError } from 'commander';
import type { CommandModule } from './commands/types.js';
import { EXIT, exitCodeFor } from './ui/exit.js';
import { reportError } from './ui/print.js';
import { packageVersion } from './util/version.js';

interface CommandEntry {
  name: string;
  aliases?: string[];
  summary: string;
  load: () => Promise<CommandModule>;
}

/** Every subcommand, one line each; a module is imported only when its command runs (start time matters). */
const COMMANDS: CommandEntry[] = [
  { name: 'daemon', summary: 'run the daemon in the foreground, or start|stop|restart|status it', load: () => import('./commands/daemon.js') },
  { name: 'token', summary: 'print or --rotate the API token for peers on other machines', load: () => import('./commands/token.js') },
  { name: 'meta', summary: "show the daemon's version, address, machine id, uptime and capabilities", load: () => import('./commands/meta.js') },
  { name: 'wrap', summary: 'run a program in this terminal as an addressable session', load: () => import('./commands/wrap.js') },
  { name: 'inject', summary: 'type a prompt into sessions and submit it', load: () => import('./commands/inject.js') },
  { name: 'enter', summary: 'press Enter alone in a session', load: () => import('./commands/enter.js') },
  { name: 'reply', summary: 'answer whoever last injected into this session', load: () => import('./commands/reply.js') },
  { name: 'publish', summary: 'publish events on the bus', load: () => import('./commands/publish.js') },
  { name: 'tail', summary: 'follow the event bus (filters, replay)', load: () => import('./commands/tail.js') },
  { name: 'spawn', summary: 'start a program in a new background session', load: () => import('./commands/spawn.js') },
  { name: 'list', aliases: ['ls'], summary: 'list sessions', load: () => import('./commands/list.js') },
  { name: 'read', summary: "print a session's rendered screen", load: () => import('./commands/read.js') },
  { name: 'attach', summary: 'connect this terminal to a session (detach with Ctrl-])', load: () => import('./commands/attach.js') },
  { name: 'rename', summary: 'give a session a new id', load: () => import('./commands/rename.js') },
  { name: 'kill', summary: 'end sessions (their whole process group)', load: () => import('./commands/kill.js') },
];

const COMMANDER_OK = new Set(['commander.helpDisplayed', 'commander.version', 'commander.help', 'commander.executeSubCommandAsync']);

function requestedCommand(argv: string[]): string | undefined {
  const first = argv.find((a) => !a.startsWith('-'));
  if (first === 'help') return argv[argv.indexOf('help') + 1];
  return first;
}

export async function main(argv: string[]): Promise<number> {
  const json = argv.includes('--json');
  const program = new Command('telepty')
    .description('Connect terminals: make sessions addressable, inject prompts that get submitted, follow the event bus.')
    .version(packageVersion(), '-V, --version')
    .showSuggestionAfterError(true)
    .exitOverride()
    .configureOutput({ outputError: (str, write) => write(`telepty: ${str.replace(/^error: /, '')}`) });

  const wanted = requestedCommand(argv);
  for (const entry of COMMANDS) {
    if (entry.name === wanted || entry.aliases?.includes(wanted ?? '')) (await entry.load()).register(program);
    else program.command(entry.name).aliases(entry.aliases ?? []).description(entry.summary);
  }
  program.addHelpText('after', '\nRun `telepty <command> --help` for options and examples. Manual: `man telepty`.\n');

  try {
    await program.parseAsync(argv, { from: 'user' });
    return typeof process.exitCode === 'number' ? process.exitCode : EXIT.OK;
  } catch (err) {
    if (err instanceof CommanderError) return COMMANDER_OK.has(err.code) ? EXIT.OK : EXIT.USAGE;
    reportError(err, json);
    return exitCodeFor(err);
  }
}
