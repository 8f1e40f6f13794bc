import { createWriteStream } from 'node:fs';
import path from 'node:path';
import type { HostSpec } from '../protocol/host-spec.js';
import type { ScreenModes } from '../terminal/screen.js';
import type { TeleptyConfig } from '../util/config.js';
import { ensureDir } from '../util/files.js';
import { createLogger, logLevelFromEnv } from '../util/log.js';
import { createSessionHost } from './create.js';
import { agentHookArgs } from '../terminal/agent-hooks.js';
import { programFor } from '../terminal/programs.js';
import { LocalOutput } from './local-output.js';
import { openTerminalWriter } from './terminal-writer.js';
import type { PtyExit } from './parts.js';

/** What `telepty wrap` gives the host it runs in the foreground (commands/wrap-run.ts is the CLI half). */
export interface WrappedHostOptions {
  config: TeleptyConfig;
  /** Where the host reads its token and timings from. */
  env: NodeJS.ProcessEnv;
  /** The user's terminal: written through its fd when it has one (never blocks, LocalOutput), else with write(). */
  terminal: { fd?: number; write(data: Buffer): unknown };
  /** The daemon ended the session (kill): why, for the user. */
  onKilled(reason: string): void;
  /** Where the daemon was reached (`http://127.0.0.1:3848`): Claude Code's hooks post there. Absent: `telepty hook`. */
  daemonUrl?: string;
}

/** A session running in this process, bound to the user's terminal. */
export interface WrappedSession {
  readonly id: string;
  readonly exited: Promise<PtyExit>;
  /** Connect to the daemon (in the background, reconnecting forever). */
  start(): void;
  input(data: string): void;
  resize(cols: number, rows: number): void;
  signal(signal: NodeJS.Signals): void;
  /** The child's terminal modes as its output left them (to restore the user's terminal on exit). */
  modes(): ScreenModes;
  /** A line for the session's host log. */
  warn(message: string): void;
  /**
   * After the exit: the last output, then `last` (what switches off the modes the program left on), reach the terminal
   * (bounded: it may not read), then the log is closed.
   */
  close(last?: string): Promise<void>;
}

/**
 * How long wrap's exit waits for a daemon that is away to come back and hear the program's exit code. A person waits
 * on it (their shell's prompt comes back after it), where a background host waits 5 s for nobody: with no daemon that
 * can start (its port held by another program) every wrapped shell's exit took 5 s. A daemon killed with -9 is back,
 * and its sessions connected, within 0.3-0.5 s here (bench: daemon kill -9 → connected).
 */
const WRAP_EXIT_REPORT_WAIT_MS = 500;

/**
 * The host half of `telepty wrap`: the session host with the user's terminal as one more output sink, logging to
 * the session's host log.
 */
export async function startWrappedHost(spec: HostSpec, opts: WrappedHostOptions): Promise<WrappedSession> {
  const { config, env, terminal } = opts;
  await ensureDir(config.paths.hostLogDir);
  const logStream = createWriteStream(path.join(config.paths.hostLogDir, `${spec.session_id}.log`), { flags: 'a', mode: 0o600 });
  const log = createLogger({ write: (l) => logStream.write(l), level: logLevelFromEnv(env), scope: `wrap ${spec.session_id}` });
  // Output to this terminal never blocks the host (a terminal that stops reading would freeze it): see local-output.ts.
  const local = typeof terminal.fd === 'number' ? new LocalOutput(await openTerminalWriter(terminal.fd, log), () => host.serializeScreen(), log, { hold: (held) => host.holdForTerminal(held) }) : null;
  const toTerminal = (d: Buffer): void => {
    if (local) local.write(d);
    else terminal.write(d);
  };
  // Claude Code's hooks report the agent's state (issue 19); TELEPTY_HOOKS=0 in the environment turns them off.
  const hookArgs = process.argv[1]
    ? await agentHookArgs({ args: spec.args, env: spec.env, dir: path.join(config.paths.dataDir, 'hooks'), sessionId: spec.session_id, instance: spec.host_instance, telepty: [process.execPath, process.argv[1]], daemonUrl: opts.daemonUrl }, programFor(spec.command, spec.args).name)
    : [];
  const host = createSessionHost(hookArgs.length > 0 ? { ...spec, hook_args: hookArgs } : spec, {
    config,
    env,
    log,
    sinks: [{ write: toTerminal }],
    onKilled: opts.onKilled,
    timings: { exitReportWaitMs: WRAP_EXIT_REPORT_WAIT_MS },
  });
  return {
    get id() {
      return host.id;
    },
    exited: host.exited,
    start: () => host.start(),
    input: (d) => host.input(d),
    resize: (cols, rows) => host.resize(cols, rows),
    signal: (s) => host.signal(s),
    modes: () => host.modes(),
    warn: (message) => log.warn(message),
    close: async (last = '') => {
      if (last) toTerminal(Buffer.from(last));
      await local?.drain();
      await local?.close();
      await new Promise<void>((resolve) => logStream.end(resolve));
    },
  };
}
