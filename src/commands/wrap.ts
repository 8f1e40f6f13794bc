import type { Command } from 'commander';
import { processEnv } from '../util/config.js';
import { assertNewSessionId } from '../protocol/ids.js';
import { intOption } from './options.js';
import { examples } from './command-module.js';
import { addRecordOptions, recordRequestOf, type RecordFlags } from './record-options.js';
import { collectTag, TAG_OPTION_HELP, tagsOf } from './tag-options.js';

export function register(program: Command): void {
  const cmd = program
    .command('wrap')
    .description('run a program in this terminal as an addressable session (CMD defaults to $SHELL)')
    .argument('[command...]', 'the program and its arguments (put them after --)')
    .option('--id <id>', 'session id (default: <folder>-<command>, made unique)')
    .option('-q, --quiet', 'no banner on stderr')
    .option('--cols <n>', 'terminal width when stdout is not a terminal (default 80)', intOption('--cols', 2, 1000))
    .option('--rows <n>', 'terminal height when stdout is not a terminal (default 24)', intOption('--rows', 2, 1000))
    .option('--tag <tag>', TAG_OPTION_HELP, collectTag);
  addRecordOptions(cmd)
    .addHelpText(
      'after',
      examples(['telepty wrap claude', 'telepty wrap --id dev-001 -- codex --full-auto', 'telepty wrap            # your $SHELL']) +
        '\nEvery byte passes through; the size follows your terminal; modes are restored on exit. If the daemon\n' +
        'goes away the program keeps running and the session reconnects. Exit status: the program\'s (128+N when\n' +
        'killed by signal N).\n',
    )
    .action(async (argv: string[], opts: { id?: string; quiet?: boolean; cols?: number; rows?: number; tag?: string[] } & RecordFlags) => {
      const record = recordRequestOf(opts, process.cwd());
      const tags = tagsOf(opts.tag);
      // The CLI half (daemon, terminal, signals) and the host half it runs in this process (the one import of host/
      // the commands make: `telepty wrap` is a session host).
      const [{ runWrap }, { startWrappedHost }] = await Promise.all([import('./wrap-run.js'), import('../host/wrapped.js')]);
      const env = processEnv();
      const [command, ...args] = argv.length > 0 ? argv : [env.SHELL || '/bin/sh'];
      process.exitCode = await runWrap(
        {
          ...(opts.id !== undefined ? { id: assertNewSessionId(opts.id) } : {}),
          quiet: Boolean(opts.quiet),
          command: command as string,
          args,
          ...(opts.cols !== undefined ? { cols: opts.cols } : {}),
          ...(opts.rows !== undefined ? { rows: opts.rows } : {}),
          ...(record ? { record } : {}),
          ...(tags.length > 0 ? { tags } : {}),
        },
        startWrappedHost,
        env,
      );
    });
}
