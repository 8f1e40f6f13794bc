import { randomBytes } from 'node:crypto';
import { promises as fs } from 'node:fs';
import { connect } from '../client/daemon-client.js';
import { listSessions } from '../client/sessions.js';
import { isTeleptyError, TeleptyError } from '../protocol/errors.js';
import type { HostSpec } from '../protocol/host-spec.js';
import { deriveSessionId, uniqueSessionId } from '../protocol/ids.js';
import type { RecordRequest } from '../protocol/recording.js';
import { resolveRecordSpec } from '../util/recording-file.js';
import { DEFAULT_COLS, DEFAULT_ROWS } from '../protocol/session.js';
import { closeHungUpTerminals, enterRawMode, hungUpTerminals, restoreSequence, standardTerminals, terminalSize } from '../ui/terminal.js';
import { checkCwd, resolveCommand } from '../util/command.js';
import { loadConfig, type TeleptyConfig } from '../util/config.js';
import { ensureDir } from '../util/files.js';
import { sessionEnv, sessionTerm } from '../util/session-env.js';

export interface WrapOptions {
  id?: string;
  quiet: boolean;
  command: string;
  args: string[];
  cols?: number;
  rows?: number;
  /** Record the session (wrap --record): the person's keystrokes only with `input`. */
  record?: RecordRequest;
  /** Its groups (wrap --tag, issue 21): told to the daemon in the host's hello. */
  tags?: string[];
}

interface Stdio {
  stdin: NodeJS.ReadStream;
  /** Its fd, when it has one, is written to directly and never blocks (the host's LocalOutput). */
  stdout: NodeJS.WriteStream & { fd?: number };
  stderr: NodeJS.WriteStream;
}

/** The session host running in this process, as this command drives it (host/wrapped.ts provides it). */
export interface WrappedSession {
  readonly id: string;
  readonly exited: Promise<{ code: number | null; signal: number | null }>;
  start(): void;
  input(data: string): void;
  resize(cols: number, rows: number): void;
  signal(signal: NodeJS.Signals): void;
  modes(): { altScreen: boolean };
  /** A line for the session's host log. */
  warn(message: string): void;
  /** The last output, then `last`, reach the terminal (bounded: it may not read); then the host's log is closed. */
  close(last?: string): Promise<void>;
}

/** Starts the host half (host/wrapped.ts startWrappedHost), passed in by commands/wrap.ts. */
export type StartWrappedHost = (
  spec: HostSpec,
  opts: { config: TeleptyConfig; env: NodeJS.ProcessEnv; terminal: { fd?: number; write(data: Buffer): unknown }; onKilled(reason: string): void; daemonUrl?: string },
) => Promise<WrappedSession>;

/**
 * Run CMD as a session bound to this terminal: every byte passes through both ways, the size follows the
 * terminal, and the session is addressable through the daemon. The daemon going away never disturbs the program:
 * the host reconnects in the background. Resolves with the child's exit status (128+signal when signalled).
 */
export async function runWrap(opts: WrapOptions, startHost: StartWrappedHost, env: NodeJS.ProcessEnv, io: Stdio = process): Promise<number> {
  const { stdin, stdout, stderr } = io;
  const config = await loadConfig(env);
  const cwd = await checkCwd(process.cwd());
  const file = await resolveCommand(opts.command, cwd, env.PATH);
  const tty = Boolean(stdin.isTTY && stdout.isTTY);

  // Best effort: a daemon that cannot start must not stop the user's program (the host keeps trying).
  let id = opts.id ?? deriveSessionId(cwd, opts.command, opts.args);
  let daemonNote = '';
  let daemonUrl: string | undefined;
  try {
    const client = await connect({ env });
    const live = await listSessions(client);
    daemonUrl = await client.baseUrl();
    const taken = new Set(live.map((s) => s.id));
    const holder = live.find((s) => s.id === id);
    if (opts.id !== undefined && holder && holder.status !== 'exited') {
      throw new TeleptyError('SESSION_EXISTS', `session id ${JSON.stringify(id)} is already in use (${holder.status}); choose another --id`);
    }
    if (opts.id === undefined) id = uniqueSessionId(id, (x) => taken.has(x));
  } catch (err) {
    // Another home's daemon at this address is a setup error, not a daemon that is away: say so, run nothing.
    if (!isTeleptyError(err) || err.code === 'SESSION_EXISTS' || err.code === 'DAEMON_MISMATCH') throw err;
    daemonNote = ` (daemon not reachable: ${err.message.split('\n')[0]}; will keep trying)`;
  }

  // The host logs there (host/wrapped.ts): a folder that cannot be made fails here, before the banner.
  await ensureDir(config.paths.hostLogDir);
  const size = terminalSize(stdout, { cols: opts.cols ?? DEFAULT_COLS, rows: opts.rows ?? DEFAULT_ROWS });
  if (!opts.quiet) {
    stderr.write(`telepty: this terminal is session "${id}"${daemonNote}; inject with: telepty inject ${id} "…"  (--quiet hides this)\n`);
  }
  let killedBy: string | undefined;
  const spec: HostSpec = {
    session_id: id,
    id_flexible: opts.id === undefined,
    host_instance: randomBytes(16).toString('hex'),
    type: 'wrapped',
    command: opts.command,
    file,
    args: opts.args,
    cwd,
    env: sessionEnv(env, {}, id),
    cols: size.cols,
    rows: size.rows,
    term: sessionTerm(env.TERM),
    ...(opts.record ? { record: await resolveRecordSpec(opts.record, config.paths.recordDir, id, new Date()) } : {}),
    ...(opts.tags && opts.tags.length > 0 ? { tags: opts.tags } : {}),
  };
  // A recording never overwrites a file: said here, before the program starts, not only in the host's log.
  if (spec.record && (await fs.lstat(spec.record.file).then(() => true, () => false))) {
    throw new TeleptyError('CONFLICT', `${spec.record.file} exists already: a recording never overwrites a file`);
  }
  const host = await startHost(spec, { config, env, terminal: stdout, onKilled: (reason) => (killedBy = reason), ...(daemonUrl ? { daemonUrl } : {}) });

  /** Which of this process's standard descriptors are the terminal: at the end, whether it hung up meanwhile. */
  const terminals = standardTerminals();
  const raw = tty ? enterRawMode(stdin, stdout, () => host.modes()) : null;
  if (tty) stdin.setEncoding('utf8');
  const onInput = (d: Buffer | string): void => host.input(typeof d === 'string' ? d : d.toString('utf8'));
  stdin.on('data', onInput);
  stdin.on('error', (err) => host.warn(`stdin: ${err.message}`));
  const onResize = (): void => host.resize(stdout.columns, stdout.rows);
  if (tty) stdout.on('resize', onResize);

  // Signals sent to wrap itself reach the child as they would without telepty: through its terminal when that is
  // how they are made (Ctrl-C without a TTY here), to its process group otherwise.
  const forward: [NodeJS.Signals, () => void][] = [
    ['SIGINT', () => host.input('\x03')],
    ['SIGQUIT', () => host.input('\x1c')],
    ['SIGTERM', () => host.signal('SIGTERM')],
    ['SIGHUP', () => host.signal('SIGHUP')],
  ];
  for (const [sig, fn] of forward) process.on(sig, fn);

  host.start();
  const exit = await host.exited;
  for (const [sig, fn] of forward) process.off(sig, fn);
  stdin.off('data', onInput);
  stdin.pause();
  stdout.off('resize', onResize);
  // The program's last output, then what switches off the modes it left on, reach the terminal through the host's
  // output (never blocking: a terminal that stopped reading gets them within a bound, or not at all) before the
  // terminal's own modes are restored.
  // A terminal that hung up (its window closed: the program got SIGHUP through wrap) has no modes left to restore.
  const hungUp = hungUpTerminals(terminals);
  await host.close(raw && hungUp.length === 0 ? restoreSequence(host.modes()) : '');
  if (hungUp.length > 0) {
    raw?.forget();
    closeHungUpTerminals(hungUp);
  } else {
    raw?.restoreMode();
    if (killedBy) stderr.write(`\r\ntelepty: session ${host.id} ended: ${killedBy}\r\n`);
  }
  return exit.code ?? 128 + (exit.signal ?? 0);
}
