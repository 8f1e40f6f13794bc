import path from 'node:path';
import { parseArgs } from 'node:util';
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
import { addRecordOptions, castFormatOption, maxSizeOption, recordRequestOf, type RecordFlags } from './record-options.js';
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

export function register(program: Command): void {
  const cmd = program
    .command('spawn')
    .description('start a program in a new background session (a detached host owns its PTY) and print its id')
    .argument('<command...>', 'the program and its arguments (put them after --)')
    .option('--id <id>', 'session id (default: <folder>-<command>, made unique)')
    .option('--cwd <dir>', 'working directory (default: the current one)')
    .option('--env <KEY=VALUE>', 'set a variable for the program (repeatable); your environment is passed as well', collectEnv)
    .option('--cols <n>', 'terminal width', intOption('--cols', 2, 1000))
    .option('--rows <n>', 'terminal height', intOption('--rows', 2, 1000))
    .option('--attach', 'attach to the new session right away (detach with Ctrl-])')
    .option('--json', 'print the session object as JSON')
    .option('--machine <machine>', 'start it on another machine of the fleet (its daemon\'s home is the default cwd; only --env travels)')
    .option('--no-hooks', "add no agent hooks (Claude Code's --settings) to the program: its state comes from its screen only")
    .option('--tag <tag>', TAG_OPTION_HELP, collectTag);
  addRecordOptions(cmd)
    .addHelpText(
      'after',
      examples(['telepty spawn -- claude', 'telepty spawn --id dev-001 --cwd ~/proj -- codex --model o4', 'telepty spawn --env DEBUG=1 --json -- bash', 'telepty spawn --attach -- htop', 'telepty spawn --record -- claude']) +
        '\nA missing command or cwd fails before anything is registered (exit 2); an id in use exits 2 (SESSION_EXISTS).\n',
    )
    .action((argv: string[], opts: SpawnOptions) => run(argv, opts));
}

const colsOption = intOption('--cols', 2, 1000);
const rowsOption = intOption('--rows', 2, 1000);

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
 * The options `register` declares, for node:util's parseArgs (the fast path). An option missing here is an unknown
 * option to parseArgs, and the full CLI takes the run over: a new option is never misread, only slower.
 */
const FAST_OPTIONS = {
  id: { type: 'string' },
  cwd: { type: 'string' },
  env: { type: 'string', multiple: true },
  cols: { type: 'string' },
  rows: { type: 'string' },
  attach: { type: 'boolean' },
  json: { type: 'boolean' },
  machine: { type: 'string' },
  'no-hooks': { type: 'boolean' },
  tag: { type: 'string', multiple: true },
  record: { type: 'string' },
  'cast-format': { type: 'string' },
  'record-input': { type: 'boolean' },
  'record-max-size': { type: 'string' },
} as const;

/**
 * The fast path's parse of `spawn`'s arguments (after the word `spawn`), without commander: the ordinary form only,
 * options then `--` then the program. Anything else (no `--`, help, an unknown option or a bad value, `--record FILE`
 * with a space, which commander's optional value reads its own way) is null: the full CLI then parses it, and says
 * what is wrong in its words.
 */
export function parseFast(argv: string[]): [string[], SpawnOptions] | null {
  const dashes = argv.indexOf('--');
  if (dashes < 0 || dashes === argv.length - 1) return null;
  const before = argv.slice(0, dashes);
  if (before.includes('--help') || before.includes('-h')) return null;
  // `--record` alone (no file) is a flag to commander; parseArgs knows no optional values: take it out here.
  const bareRecord = before.includes('--record');
  if (bareRecord) {
    const at = before.indexOf('--record');
    const next = before[at + 1];
    if (next !== undefined && !next.startsWith('-')) return null;
    before.splice(at, 1);
  }
  let values;
  try {
    const parsed = parseArgs({ args: before, options: FAST_OPTIONS, allowPositionals: false, strict: true });
    values = parsed.values;
  } catch (err) {
    if (err instanceof TypeError || (err as NodeJS.ErrnoException).code?.startsWith('ERR_PARSE_ARGS')) return null;
    throw err;
  }
  if (bareRecord && values.record !== undefined) return null;
  const opts: SpawnOptions = {};
  try {
    if (values.id !== undefined) opts.id = values.id;
    if (values.cwd !== undefined) opts.cwd = values.cwd;
    if (values.env) opts.env = values.env.reduce<Record<string, string>>((acc, v) => collectEnv(v, acc), {});
    if (values.cols !== undefined) opts.cols = colsOption(values.cols);
    if (values.rows !== undefined) opts.rows = rowsOption(values.rows);
    if (values.attach) opts.attach = true;
    if (values.json) opts.json = true;
    if (values.machine !== undefined) opts.machine = values.machine;
    opts.hooks = values['no-hooks'] !== true;
    if (values.tag) opts.tag = values.tag.reduce<string[]>((acc, v) => collectTag(v, acc), []);
    if (bareRecord) opts.record = true;
    else if (values.record !== undefined) opts.record = values.record;
    if (values['cast-format'] !== undefined) opts.castFormat = castFormatOption(values['cast-format']);
    if (values['record-input']) opts.recordInput = true;
    if (values['record-max-size'] !== undefined) opts.recordMaxSize = maxSizeOption(values['record-max-size']);
  } catch (err) {
    // A bad value: the full CLI reports it (the same parsers, run by commander).
    if (err instanceof TeleptyError) return null;
    throw err;
  }
  return [argv.slice(dashes + 1), opts];
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
