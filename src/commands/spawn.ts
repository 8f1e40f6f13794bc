import path from 'node:path';
import { processEnv } from '../util/config.js';
import type { Command } from 'commander';
import { localTerminal } from '../ui/terminal.js';
import type { DaemonClient } from '../client/daemon-client.js';
import { connect } from '../client/daemon-client.js';
import { spawnSession } from '../client/sessions.js';
import { MACHINE_ID_PATTERN, assertNewSessionId } from '../protocol/ids.js';
import { TeleptyError } from '../protocol/errors.js';
import { DEFAULT_COLS, DEFAULT_ROWS } from '../protocol/session.js';
import { printJson, printLine } from '../ui/print.js';
import { terminalSize } from '../ui/terminal.js';
import { collectEnv, intOption } from './options.js';
import { examples } from './command-module.js';
import { RECORD_OPTIONS, recordRequestOf, type RecordFlags } from './record-options.js';
import { parseWithSpec, registerSpec, type CommandSpec } from './spec.js';
import { collectTag, TAG_OPTION_HELP, tagsOf } from './tag-options.js';

interface SpawnOptions extends RecordFlags {
  id?: string;
  cwd?: string;
  env?: Record<string, string>;
  /** False with --no-hooks. */
  hooks?: boolean;
  cols?: number;
  rows?: number;
  attach?: boolean;
  json?: boolean;
  machine?: string;
  /** --tag values (issue 21). */
  tag?: string[];
}

export const spec: CommandSpec = {
  name: 'spawn',
  description: 'start a program in a new background session (a detached host owns its PTY) and print its id',
  args: ['<command...>'],
  argHelp: { '<command...>': 'the program and its arguments (put them after --)' },
  options: [
    { long: 'id', value: '<id>', description: 'session id (default: <folder>-<command>, made unique)' },
    { long: 'cwd', value: '<dir>', description: 'working directory (default: the current one)' },
    { long: 'env', value: '<KEY=VALUE>', multiple: true, description: 'set a variable for the program (repeatable); your environment is passed as well', parse: collectEnv },
    { long: 'cols', value: '<n>', description: 'terminal width', parse: intOption('--cols', 2, 1000) },
    { long: 'rows', value: '<n>', description: 'terminal height', parse: intOption('--rows', 2, 1000) },
    { long: 'attach', description: 'attach to the new session right away (detach with Ctrl-])' },
    { long: 'json', description: 'print the session object as JSON' },
    { long: 'machine', value: '<machine>', description: "start it on another machine of the fleet (its daemon's home is the default cwd; only --env travels)" },
    { long: 'no-hooks', description: "add no agent hooks (Claude Code's --settings) to the program: its state comes from its screen only" },
    { long: 'tag', value: '<tag>', multiple: true, description: TAG_OPTION_HELP, parse: collectTag },
    ...RECORD_OPTIONS,
  ],
  helpAfter:
    examples(['telepty spawn -- claude', 'telepty spawn --id dev-001 --cwd ~/proj -- codex --model o4', 'telepty spawn --env DEBUG=1 --json -- bash', 'telepty spawn --attach -- htop', 'telepty spawn --record -- claude']) +
    '\nA missing command or cwd fails before anything is registered (exit 2); an id in use exits 2 (SESSION_EXISTS).\n',
};

export function register(program: Command): void {
  registerSpec(program, spec, (argv, opts) => run(argv as string[], opts as SpawnOptions));
}

/**
 * `telepty spawn`, run by commander or by the fast path (src/spawn-fast.ts). What only some spawns need (attaching:
 * ws and the terminal code; --machine: the fleet client) is imported when asked for: `spawn` → the program's first
 * output waits for this CLI's start (issue 24).
 */
export async function run(argv: string[], opts: SpawnOptions): Promise<void> {
  const [command, ...args] = argv as [string, ...string[]];
  const id = opts.id === undefined ? undefined : assertNewSessionId(opts.id);
  const record = recordRequestOf(opts, process.cwd());
  const tags = tagsOf(opts.tag);
  const size = opts.attach ? terminalSize(process.stdout, { cols: DEFAULT_COLS, rows: DEFAULT_ROWS }) : { cols: DEFAULT_COLS, rows: DEFAULT_ROWS };
  if (opts.machine !== undefined) return spawnElsewhere(opts.machine, command, args, { ...opts, ...(id ? { id } : {}) }, size);
  const client = await connect();
  const env: Record<string, string> = {};
  for (const [k, v] of Object.entries(processEnv())) if (v !== undefined) env[k] = v;
  const result = await spawnSession(client, {
    ...(id ? { session_id: id } : {}),
    command,
    args,
    cwd: path.resolve(opts.cwd ?? process.cwd()),
    env: { ...env, ...(opts.env ?? {}), ...(opts.hooks === false ? { TELEPTY_HOOKS: '0' } : {}) },
    cols: opts.cols ?? size.cols,
    rows: opts.rows ?? size.rows,
    ...(record ? { record } : {}),
    ...(tags.length > 0 ? { tags } : {}),
  });
  if (opts.json) printJson(result.session);
  else if (!opts.attach) printLine(result.session_id);
  if (opts.attach) await attachTo(client, result.session_id);
}

async function attachTo(client: DaemonClient, address: string): Promise<void> {
  const { attach, DEFAULT_DETACH_KEY } = await import('../client/attach.js');
  await attach(client, address, { detachKey: DEFAULT_DETACH_KEY, terminal: localTerminal() });
}

/**
 * The fast path's parse of `spawn`'s arguments (after the word `spawn`), without commander, from the same spec: the
 * ordinary form only, options then `--` then the program. Anything else (no `--`, a word before it that is no
 * option, help, an unknown option or a bad value) is null: the full CLI then parses it, and says what is wrong in its
 * words.
 */
export function parseFast(argv: string[]): [string[], SpawnOptions] | null {
  const dashes = argv.indexOf('--');
  if (dashes < 0 || dashes === argv.length - 1) return null;
  const parsed = parseWithSpec(spec, argv);
  if (!parsed || parsed.positionals.length !== argv.length - dashes - 1) return null;
  return [parsed.positionals, parsed.opts as SpawnOptions];
}

/**
 * `spawn --machine M` (issue 18): the spawn goes to M's daemon with only what was given: no cwd of this shell (M's
 * daemon's home unless --cwd, taken as a path on M), no environment of this shell (only --env). Prints `id@M`.
 */
async function spawnElsewhere(machine: string, command: string, args: string[], opts: SpawnOptions, size: { cols: number; rows: number }): Promise<void> {
  if (!MACHINE_ID_PATTERN.test(machine)) throw new TeleptyError('INVALID_FIELD', `--machine ${JSON.stringify(machine)} is not a machine id`);
  if (typeof opts.record === 'string' && !path.isAbsolute(opts.record)) throw new TeleptyError('INVALID_FIELD', 'with --machine, --record FILE is a path on that machine: give it absolute');
  const record = recordRequestOf(opts, '/');
  const tags = tagsOf(opts.tag);
  const client = await connect();
  const { spawnOnMachine } = await import('../client/fleet.js');
  const result = await spawnOnMachine(client, machine, {
    ...(opts.id ? { session_id: opts.id } : {}),
    command,
    args,
    ...(opts.cwd !== undefined ? { cwd: opts.cwd } : {}),
    env: { ...(opts.env ?? {}), ...(opts.hooks === false ? { TELEPTY_HOOKS: '0' } : {}) },
    cols: opts.cols ?? size.cols,
    rows: opts.rows ?? size.rows,
    ...(record ? { record } : {}),
    ...(tags.length > 0 ? { tags } : {}),
  });
  const address = `${result.session_id}@${machine}`;
  if (opts.json) printJson({ ...result.session, address });
  else if (!opts.attach) printLine(address);
  if (opts.attach) await attachTo(client, address);
}
