import type { Command } from 'commander';
import { connect } from '../client/daemon-client.js';
import { assertSessionRef } from '../protocol/ids.js';
import { sendKeysOp } from '../protocol/ops/state.js';
import { printJson, printLine } from '../ui/print.js';
import { examples } from './command-module.js';

export function register(program: Command): void {
  program
    .command('keys')
    .description('send keys by tmux name to a session (Enter, Escape, C-c, Up, Down, Tab, BTab, F1…, or "literal text"): to interrupt an agent or move through a dialog')
    .argument('<id>', 'session id')
    .argument('<keys...>', 'key names (a word that is no key name is typed as it is)')
    .option('--json', 'print {session_id, keys[], bytes}')
    .addHelpText('after', examples(['telepty keys dev-001 Down Enter', 'telepty keys dev-001 Escape', 'telepty keys dev-001 C-c']))
    .action(async (id: string, keys: string[], opts: { json?: boolean }) => {
      const r = await (await connect()).call(sendKeysOp, { params: { id: assertSessionRef(id) }, body: { keys } });
      if (opts.json) printJson(r);
      else printLine(`sent ${r.keys.join(' ')} to ${r.session_id} (${r.bytes} ${r.bytes === 1 ? 'byte' : 'bytes'})`);
    });
}
