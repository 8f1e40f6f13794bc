import type { Command } from 'commander';
import { connect } from '../client/daemon-client.js';
import { assertSessionRef } from '../protocol/ids.js';
import { sessionStateOp } from '../protocol/ops/state.js';
import { printJson, printLine } from '../ui/print.js';
import { examples } from './command-module.js';

export function register(program: Command): void {
  program
    .command('state')
    .description("show a session's agent state (idle, working, blocked, exited…), where it came from, and with --explain why")
    .argument('<id>', 'session id')
    .option('--explain', 'every kind of evidence: hooks, terminal signals, the screen rule that matched')
    .option('--json', 'print {session_id, state, since, source, detail, reason, explain[]}')
    .addHelpText('after', examples(['telepty state dev-001', 'telepty state dev-001 --explain']))
    .action(async (id: string, opts: { explain?: boolean; json?: boolean }) => {
      const s = await (await connect()).call(sessionStateOp, { params: { id: assertSessionRef(id) } });
      if (opts.json) {
        printJson(s);
        return;
      }
      printLine(`${s.state}${s.source ? ` (${s.source})` : ''} since ${s.since}${s.detail ? `: ${s.detail}` : ''}`);
      if (!opts.explain) return;
      // The host's first line repeats the head line with the reason: the reason alone, not the state twice.
      const [first, ...rest] = s.explain;
      const lines = first !== undefined && first.startsWith(`${s.state} since ${s.since}`) ? [...(s.reason ? [`why: ${s.reason}`] : []), ...rest] : s.explain;
      for (const l of lines) printLine(`  ${l}`);
    });
}
