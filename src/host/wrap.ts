import { createWriteStream } from 'node:fs';
import { randomBytes } from 'node:crypto';
import path from 'node:path';
import { connect } from '../client/daemon-client.js';
import { listSessions } from '../client/sessions.js';
import { isTeleptyError, TeleptyError } from '../protocol/errors.js';
import { deriveSessionId, uniqueSessionId } from '../protocol/ids.js';
import { DEFAULT_COLS, DEFAULT_ROWS } from '../protocol/session.js';
import { enterRawMode, terminalSize } from '../ui/terminal.js';
import { checkCwd, resolveCommand } from '../util/command.js';
import { loadConfig } from '../util/config.js';
import { ensureDir } from '../util/files.js';
import { createLogger, logLevelFromEnv } from '../util/log.js';
import { resolveDaemonEndpoint } from './daemon-link.js';
import { DEFAULT_TERM, sessionEnv } from './env.js';
import { LocalOutput } from './local-output.js';
import { SessionHost } from './session-host.js';
import { hostTimingsFromEnv } from './timings.js';

export interface WrapOptions {
  id?: string;
  quiet: boolean;
  command: string;
  args: string[];
  cols?: number;
  rows?: number;
}

interface Stdio {
  stdin: NodeJS.ReadStream;
  /** Its fd, when it has one, is written to directly and never blocks (LocalOutput). */
  stdout: NodeJS.WriteStream & { fd?: number };
  stderr: NodeJS.WriteStream;
}

/**
 * Run CMD as a session bound to this terminal: every byte passes through both ways, the size follows the
 * terminal, and the session is addressable through the daemon. The daemon going away never disturbs the program:
 * the host reconnects in the background. Resolves with the child's exit status (128+signal when signalled).
 */
export async function runWrap(opts: WrapOptions, env: NodeJS.ProcessEnv = process.env, io: Stdio = process): Promise<number> {
  const { stdin, stdout, stderr } = io;
  const config = await loadConfig(env);
  const cwd = await checkCwd(process.cwd());
  const file = await resolveCommand(opts.command, cwd, env.PATH);
  const tty = Boolean(stdin.isTTY && stdout.isTTY);

  // Best effort: a daemon that cannot start must not stop the user's program (the host keeps trying).
  let id = opts.id ?? deriveSessionId(cwd, opts.command);
  let daemonNote = '';
  try {
    const client = await connect({ env });
    const live = await listSessions(client);
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

  await ensureDir(config.paths.hostLogDir);
  const logStream = createWriteStream(path.join(config.paths.hostLogDir, `${id}.log`), { flags: 'a', mode: 0o600 });
  const log = createLogger({ write: (l) => logStream.write(l), level: logLevelFromEnv(env), scope: `wrap ${id}` });

  const size = terminalSize(stdout, { cols: opts.cols ?? DEFAULT_COLS, rows: opts.rows ?? DEFAULT_ROWS });
  if (!opts.quiet) {
    stderr.write(`telepty: this terminal is session "${id}"${daemonNote}; inject with: telepty inject ${id} "…"  (--quiet hides this)\n`);
  }
  let killedBy: string | undefined;
  // Output to this terminal never blocks the host (a terminal that stops reading would freeze it): see local-output.ts.
  const screenNow = (): Promise<string> => host.serializeScreen();
  const local = typeof stdout.fd === 'number' ? new LocalOutput(stdout.fd, screenNow, log) : null;
  const host: SessionHost = new SessionHost(
    {
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
      term: env.TERM && env.TERM !== 'dumb' ? env.TERM : DEFAULT_TERM,
    },
    {
      endpoint: () => resolveDaemonEndpoint(config, env, log),
      log,
      timings: hostTimingsFromEnv(env),
      local: { write: (d) => (local ? local.write(d) : stdout.write(d)) },
      onKilled: (reason) => (killedBy = reason),
    },
  );

  const raw = tty ? enterRawMode(stdin, stdout, () => host.modes()) : null;
  if (tty) stdin.setEncoding('utf8');
  const onInput = (d: Buffer | string): void => host.input(typeof d === 'string' ? d : d.toString('utf8'));
  stdin.on('data', onInput);
  stdin.on('error', (err) => log.warn(`stdin: ${err.message}`));
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
  // The program's last output reaches the terminal before its modes are restored (bounded: it may not read).
  await local?.drain();
  local?.close();
  raw?.restore();
  if (killedBy) stderr.write(`\r\ntelepty: session ${host.id} ended: ${killedBy}\r\n`);
  await new Promise<void>((resolve) => logStream.end(resolve));
  return exit.code ?? 128 + (exit.signal ?? 0);
}
