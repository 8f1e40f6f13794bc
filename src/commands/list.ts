import os from 'node:os';
import { processEnv, sessionIdFromEnv } from '../util/config.js';
import type { Command } from 'commander';
import { connect } from '../client/daemon-client.js';
import { listSessions } from '../client/sessions.js';
import { listFleetSessions, type FleetSession } from '../client/fleet-list.js';
import type { SessionObject } from '../protocol/session.js';
import { exitCodeOf } from '../ui/exit.js';
import { formatDuration, printJson, printLine, reportError, useColor } from '../ui/print.js';
import { examples } from './command-module.js';
import { renderColumns, shellQuote, type Column } from '../ui/table.js';
import { collectTag, tagsOf } from './tag-options.js';

function homeRelative(dir: string): string {
  const home = os.homedir();
  return dir === home ? '~' : dir.startsWith(`${home}/`) ? `~${dir.slice(home.length)}` : dir;
}

function statusText(s: SessionObject & { reachable?: boolean }): string {
  if (s.reachable === false) return 'unreachable';
  return s.status === 'exited' ? `exited(${s.exit_code ?? '?'})` : s.status;
}

/** The width to fit: $COLUMNS when set (as ls does), else the terminal's; null when piped (keep every character). */
function outputWidth(): number | null {
  const fromEnv = Number(processEnv().COLUMNS);
  if (Number.isInteger(fromEnv) && fromEnv > 0) return fromEnv;
  return process.stdout.isTTY && process.stdout.columns > 0 ? process.stdout.columns : null;
}

export interface TableOptions {
  /** Rows of several machines: a MACHINE column, and an unreachable machine's rows say so. */
  machines?: boolean;
  /** Colour (a TTY without NO_COLOR). */
  color: boolean;
  /** The terminal's width; null: no limit (piped output keeps every character). */
  width: number | null;
  /** The session this command runs in ($TELEPTY_SESSION_ID): marked with `*`. */
  current?: string | undefined;
}

/**
 * The sessions as a table that fits the terminal: COMMAND and CWD are cut with an ellipsis (a path from its start,
 * so its last folders stay), then CLIENTS, TYPE, IDLE, CWD and STATE are dropped in that order (STATE is shown when a session has a state to tell: not only unknown or exited). Arguments are quoted as a
 * shell would need them. The session you are in, when listed, is marked with `*` in a first column.
 */
export async function renderTable(sessions: (SessionObject & { machine?: string; reachable?: boolean })[], opts: TableOptions): Promise<string[]> {
  const paint = opts.color ? (await import('chalk')).default : null;
  const marked = sessions.some((s) => s.id === opts.current);
  type Row = SessionObject & { machine?: string; reachable?: boolean };
  const columns: Column<Row>[] = [
    // Only inside a listed session: outside one the table starts with the id, as scripts expect.
    ...(marked ? [{ key: 'mark', header: ' ', text: (s: SessionObject) => (s.id === opts.current ? '*' : ' ') }] : []),
    { key: 'id', header: 'ID', text: (s) => s.id },
    ...(opts.machines ? [{ key: 'machine', header: 'MACHINE', text: (s: Row) => s.machine ?? '' }] : []),
    { key: 'type', header: 'TYPE', text: (s) => s.type, dropRank: 2 },
    {
      key: 'status',
      header: 'STATUS',
      text: statusText,
      paint: (s, t) => (!paint ? t : s.reachable === false ? paint.red(t) : s.status === 'connected' ? paint.green(t) : s.status === 'disconnected' ? paint.yellow(t) : paint.dim(t)),
    },
    // The agent's state (issue 19), when some session has one to tell (older daemons report none; a shell or any
    // program without rules is `unknown`, an exited one says so in STATUS): dropped last.
    ...(sessions.some((s) => s.state !== undefined && s.state !== 'unknown' && s.state !== 'exited')
      ? [
          {
            key: 'state',
            header: 'STATE',
            text: (s: Row) => s.state ?? '-',
            paint: (s: Row, t: string) => (!paint ? t : s.state === 'blocked' ? paint.red(t) : s.state === 'working' ? paint.cyan(t) : s.state === 'idle' ? paint.green(t) : paint.dim(t)),
            dropRank: 5,
          },
        ]
      : []),
    { key: 'command', header: 'COMMAND', text: (s) => [s.command, ...s.args].map(shellQuote).join(' '), shrink: { min: 24, from: 'end' } },
    { key: 'cwd', header: 'CWD', text: (s) => homeRelative(s.cwd), shrink: { min: 16, from: 'start' }, dropRank: 4 },
    { key: 'idle', header: 'IDLE', text: (s) => formatDuration(s.idleSeconds), align: 'right', dropRank: 3 },
    { key: 'clients', header: 'CLIENTS', text: (s) => String(s.active_clients), align: 'right', dropRank: 1 },
    // Groups (issue 21), when some session has one: dropped first of all.
    ...(sessions.some((s) => (s.tags?.length ?? 0) > 0) ? [{ key: 'tags', header: 'TAGS', text: (s: Row) => (s.tags ?? []).join(','), shrink: { min: 12, from: 'end' as const }, dropRank: 0 }] : []),
  ];
  return renderColumns(sessions, columns, opts.width, paint ? (h) => paint.bold(h) : undefined);
}

export function register(program: Command): void {
  program
    .command('list')
    .alias('ls')
    .description('list sessions: id, type, status, agent state, command, cwd, idle time, attached clients')
    .option('--json', 'print the session objects as a JSON array')
    .option('-q, --quiet', 'print only the ids, one per line (for scripts and shell completion)')
    .option('--no-start', 'do not start the daemon when none runs: list nothing (shell completion uses this)')
    .option('--all', 'every machine of the fleet (a MACHINE column; a machine that stopped answering shows as unreachable)')
    .option('--machine <id>', "one machine's sessions (of the fleet)")
    .option('--tag <tag>', 'only the sessions carrying this tag (repeatable or a comma list: any of them)', collectTag)
    .addHelpText('after', examples(['telepty list', 'telepty list --json | jq -r \'.[] | select(.status=="connected") | .id\'', 'for id in $(telepty list -q); do telepty read "$id" --lines 3; done']))
    .action(async (opts: { json?: boolean; quiet?: boolean; start: boolean; all?: boolean; machine?: string; tag?: string[] }) => {
      const tags = tagsOf(opts.tag);
      const client = opts.start ? await connect() : await connect({ autostart: false });
      const fleet = opts.all === true || opts.machine !== undefined;
      const tagged = <T extends SessionObject>(list: T[]): T[] => (tags.length === 0 ? list : list.filter((s) => s.tags?.some((t) => tags.includes(t))));
      const listing = client && fleet ? await listFleetSessions(client, opts.machine) : null;
      const rows: FleetSession[] | null = listing ? tagged(listing.rows) : null;
      // The rows known are printed, and what is missing said on stderr with exit 4: a script must not take this
      // machine's rows for every machine's.
      if (listing?.missing) {
        reportError(listing.missing, false);
        process.exitCode = exitCodeOf(listing.missing.code);
      }
      const sessions: SessionObject[] = rows ?? (client ? tagged(await listSessions(client)) : []);
      if (opts.quiet) {
        // Across machines an id alone is ambiguous: the address (id@machine) is what the other commands take.
        for (const line of rows ? rows.map((r) => r.address) : sessions.map((s) => s.id)) printLine(line);
        return;
      }
      if (opts.json) {
        printJson(sessions);
        return;
      }
      if (sessions.length === 0) {
        // Filtered by tag, "no sessions (start one...)" would be untrue when other sessions run.
        // Nor is it with the fleet out of reach: only this machine is known to have none.
        printLine(tags.length > 0 ? `no session is tagged ${tags.join(' or ')}` : listing?.missing ? 'no sessions on this machine' : 'no sessions (start one with `telepty spawn -- CMD` or `telepty wrap CMD`)');
        return;
      }
      const width = outputWidth();
      for (const l of await renderTable(sessions, { color: useColor(), width, current: sessionIdFromEnv(), machines: fleet })) printLine(l);
    });
}
