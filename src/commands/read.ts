import type { Command } from 'commander';
import { connect } from '../client/daemon-client.js';
import { readScreen } from '../client/sessions.js';
import { assertSessionRef } from '../protocol/ids.js';
import { SCREEN_LINES_MAX } from '../protocol/session.js';
import { printJson, printLine } from '../ui/print.js';
import { intOption } from './options.js';
import { examples } from './command-module.js';

export function register(program: Command): void {
  program
    .command('read')
    .description("print a session's screen as a terminal renders it (cursor moves, full-screen programs and all)")
    .argument('<id>', 'session id')
    .option('--lines <n>', 'only the last N lines (blank rows below the cursor are skipped)', intOption('--lines', 1, SCREEN_LINES_MAX))
    .option('--scrollback', 'include the scrollback above the screen')
    .option('--ansi', 'keep colours and attributes (SGR escape sequences)')
    .option('--json', 'print {session_id, cols, rows, cursor, alt_screen, bracketed_paste, lines[]}')
    .addHelpText('after', examples(['telepty read dev-001', 'telepty read dev-001 --lines 20', 'telepty read dev-001 --scrollback --json | jq -r ".lines[]"']))
    .action(async (id: string, opts: { lines?: number; scrollback?: boolean; ansi?: boolean; json?: boolean }) => {
      const screen = await readScreen(await connect(), assertSessionRef(id), {
        ...(opts.lines !== undefined ? { lines: opts.lines } : {}),
        scrollback: Boolean(opts.scrollback),
        ansi: Boolean(opts.ansi),
      });
      if (opts.json) printJson(screen);
      else for (const l of screen.lines) printLine(l);
    });
}
