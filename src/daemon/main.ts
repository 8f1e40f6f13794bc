import type { TeleptyConfig } from '../util/config.js';
import { createLogger, fdWriter, logLevelFromEnv, safeLineWriter } from '../util/log.js';
import { packageVersion } from '../util/version.js';
import { startDaemon, type StartOutcome } from './daemon.js';
import { timingsFromEnv } from './timings.js';

export interface ForegroundResult {
  outcome: StartOutcome['kind'];
  exitCode: number;
}

/**
 * `telepty daemon`: run in the foreground, log to stderr, stop gracefully on SIGINT/SIGTERM or a stop request.
 * Resolves when the daemon has stopped; a daemon that already serves this home is not an error.
 */
export async function runDaemonForeground(config: TeleptyConfig, env: NodeJS.ProcessEnv = process.env): Promise<ForegroundResult> {
  // Detached, stderr and stdout are the daemon log: a full disk fails both, and that is counted, never fatal.
  const write = safeLineWriter({ primary: fdWriter(2), fallback: fdWriter(1) });
  const log = createLogger({ write, level: logLevelFromEnv(env) });
  // Anything else written through the streams (a warning from Node itself) must not end the daemon either.
  for (const stream of [process.stdout, process.stderr]) stream.on('error', (err) => write(`stream write failed: ${err.message}\n`));
  const outcome = await startDaemon({ config, version: packageVersion(), log, env, timings: timingsFromEnv(env) });
  if (outcome.kind === 'already-running') {
    const { pid, port, host } = outcome.existing;
    process.stdout.write(`telepty daemon already running (pid ${pid}, port ${port}, host ${host})\n`);
    return { outcome: outcome.kind, exitCode: 0 };
  }
  const { daemon } = outcome;
  const onSignal = (signal: NodeJS.Signals): void => void daemon.stop(`received ${signal}`);
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);
  process.on('SIGHUP', onSignal);
  await daemon.closed;
  process.off('SIGINT', onSignal);
  process.off('SIGTERM', onSignal);
  process.off('SIGHUP', onSignal);
  return { outcome: outcome.kind, exitCode: 0 };
}
