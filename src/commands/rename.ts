import type { Command } from 'commander';
import { connect } from '../client/daemon-client.js';
import { renameSession } from '../client/sessions.js';
import { assertNewSessionId, assertSessionRef } from '../protocol/ids.js';
import { printJson, printLine } from '../ui/print.js';
import { examples } from './command-module.js';

export function register(program: Command): void {
  program
    .command('rename')
    .description('give a session a new id (persisted; its host learns the new id)')
    .argument('<old>', 'current id')
    .argument('<new>', 'new id')
    .option('--json', 'print the result as JSON')
    .addHelpText('after', examples(['telepty rename tmp-bash dev-001']))
    .action(async (oldId: string, newId: string, opts: { json?: boolean }) => {
      const from = assertSessionRef(oldId);
      const to = assertNewSessionId(newId, 'new id');
      const result = await renameSession(await connect(), from, to);
      if (opts.json) printJson(result);
      else printLine(`${result.old_id} → ${result.new_id}`);
    });
}
