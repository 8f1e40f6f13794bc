import os from 'node:os';
import type { Command } from 'commander';
import { connect } from '../client/daemon-client.js';
import { listSessions } from '../client/sessions.js';
import type { SessionObject } from '../protocol/session.js';
import { formatDuration, printJson, printLine, useColor } from '../ui/print.js';
import { examples } from './types.js';

/** Widest the command column gets before it is cut with an ellipsis. */
const COMMAND_WIDTH = 40;

function shorten(text: string, width: number): string {
  return text.length <= width ? text : `${text.slice(0, width - 1)}…`;
}

function homeRelative(dir: string): string {
  const home = os.homedir();
  return dir === home ? '~' : dir.startsWith(`${home}/`) ? `~${dir.slice(home.length)}` : dir;
}

export async function renderTable(sessions: SessionObject[], color: boolean): Promise<string[]> {
  const paint = color ? (await import('chalk')).default : null;
  const statusText = (s: SessionObject): string => {
    const text = s.status === 'exited' ? `exited(${s.exit_code ?? '?'})` : s.status;
    if (!paint) return text;
    return s.status === 'connected' ? paint.green(text) : s.status === 'disconnected' ? paint.yellow(text) : paint.dim(text);
  };
  const rows = sessions.map((s) => ({
    id: s.id,
    type: s.type,
    status: statusText(s),
    statusWidth: (s.status === 'exited' ? `exited(${s.exit_code ?? '?'})` : s.status).length,
    command: shorten([s.command, ...s.args].join(' '), COMMAND_WIDTH),
    cwd: homeRelative(s.cwd),
    idle: formatDuration(s.idleSeconds),
    clients: String(s.active_clients),
  }));
  const head = { id: 'ID', type: 'TYPE', status: 'STATUS', statusWidth: 6, command: 'COMMAND', cwd: 'CWD', idle: 'IDLE', clients: 'CLIENTS' };
  const w = {
    id: Math.max(2, ...rows.map((r) => r.id.length)),
    type: Math.max(4, ...rows.map((r) => r.type.length)),
    status: Math.max(6, ...rows.map((r) => r.statusWidth)),
    command: Math.max(7, ...rows.map((r) => r.command.length)),
    cwd: Math.max(3, ...rows.map((r) => r.cwd.length)),
    idle: Math.max(4, ...rows.map((r) => r.idle.length)),
  };
  const line = (r: typeof head): string =>
    [r.id.padEnd(w.id), r.type.padEnd(w.type), r.status + ' '.repeat(w.status - r.statusWidth), r.command.padEnd(w.command), r.cwd.padEnd(w.cwd), r.idle.padStart(w.idle), r.clients.padStart(7)].join('  ');
  const header = line(head);
  return [paint ? paint.bold(header) : header, ...rows.map(line)];
}

export function register(program: Command): void {
  program
    .command('list')
    .alias('ls')
    .description('list sessions: id, type, status, command, cwd, idle time, attached clients')
    .option('--json', 'print the session objects as a JSON array')
    .addHelpText('after', examples(['telepty list', 'telepty list --json | jq -r \'.[] | select(.status=="connected") | .id\'']))
    .action(async (opts: { json?: boolean }) => {
      const client = await connect();
      const sessions = await listSessions(client);
      if (opts.json) {
        printJson(sessions);
        return;
      }
      if (sessions.length === 0) {
        printLine('no sessions (start one with `telepty spawn -- CMD` or `telepty wrap CMD`)');
        return;
      }
      for (const l of await renderTable(sessions, useColor())) printLine(l);
    });
}
