import type { Command } from 'commander';
import { connect } from '../client/daemon-client.js';
import { exitedNote, readScreen } from '../client/sessions.js';
import { TeleptyError } from '../protocol/errors.js';
import { assertSessionRef } from '../protocol/ids.js';
import { LAST_SCREEN_SCROLLBACK_LINES } from '../protocol/host-link.js';
import { isInjectId } from '../protocol/inject.js';
import { readSinceOp } from '../protocol/ops/state.js';
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
    .option('--since <inject-id>', 'only what the session showed after that prompt was submitted (its answer), as text')
    .option('--json', 'print {session_id, cols, rows, cursor, alt_screen, bracketed_paste, lines[]} (of an exited session with exited: true, exit_code; with --since: {session_id, inject_id, submitted_at, lines[], total_lines, truncated, lost})')
    .addHelpText(
      'after',
      `\nA session whose program has exited shows its last screen while it is still listed (with up to ${LAST_SCREEN_SCROLLBACK_LINES} lines of\nscrollback), and a note on stderr; exit 4 (SESSION_EXITED) only when none was kept (a daemon restarted since).\n` +
      examples(['telepty read dev-001', 'telepty read dev-001 --lines 20', 'telepty read dev-001 --scrollback --json | jq -r ".lines[]"', 'telepty read dev-001 --since review-1']),
    )
    .action(async (id: string, opts: { lines?: number; scrollback?: boolean; ansi?: boolean; json?: boolean; since?: string }) => {
      if (opts.since !== undefined) {
        if (!isInjectId(opts.since)) throw new TeleptyError('INVALID_FIELD', `--since takes an inject id (1-200 letters, digits, ".", "_", ":" or "-"), got ${JSON.stringify(String(opts.since).slice(0, 40))}`);
        if (opts.ansi || opts.scrollback) throw new TeleptyError('INVALID_FIELD', '--since gives text from the submission on: it takes neither --ansi nor --scrollback');
        const client = await connect();
        const r = await client.call(readSinceOp, { params: { id: assertSessionRef(id) }, query: { since: opts.since, last_screen: true } });
        if (r.exited) process.stderr.write(`telepty: ${exitedNote(r.session_id, r.exit_code)}\n`);
        const lines = opts.lines !== undefined ? r.lines.slice(-opts.lines) : r.lines;
        if (opts.json) printJson({ ...r, lines });
        else for (const l of lines) printLine(l);
        return;
      }
      const screen = await readScreen(await connect(), assertSessionRef(id), {
        ...(opts.lines !== undefined ? { lines: opts.lines } : {}),
        scrollback: Boolean(opts.scrollback),
        ansi: Boolean(opts.ansi),
        last_screen: true,
      });
      if (screen.exited) process.stderr.write(`telepty: ${exitedNote(screen.session_id, screen.exit_code)}\n`);
      if (opts.json) printJson(screen);
      else for (const l of screen.lines) printLine(l);
    });
}
