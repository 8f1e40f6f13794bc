/**
 * Entry point of a detached session host (started by the daemon for `spawn`): reads its HostSpec as JSON on
 * stdin, runs the session, and exits when the child has exited. Its stdout/stderr go to the host's log file.
 */
import { loadConfig } from '../util/config.js';
import { createLogger, logLevelFromEnv } from '../util/log.js';
import { resolveDaemonEndpoint } from './daemon-link.js';
import { SessionHost, type HostSpec } from './session-host.js';
import { hostTimingsFromEnv } from './timings.js';

async function readStdin(): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const chunk of process.stdin as AsyncIterable<Buffer>) chunks.push(chunk);
  return Buffer.concat(chunks).toString('utf8');
}

function isHostSpec(v: unknown): v is HostSpec {
  if (typeof v !== 'object' || v === null) return false;
  const s = v as Record<string, unknown>;
  return (
    typeof s.session_id === 'string' &&
    typeof s.host_instance === 'string' &&
    typeof s.command === 'string' &&
    Array.isArray(s.args) &&
    typeof s.cwd === 'string' &&
    typeof s.env === 'object' &&
    Number.isInteger(s.cols) &&
    Number.isInteger(s.rows)
  );
}

async function main(): Promise<number> {
  const env = process.env;
  const spec: unknown = JSON.parse(await readStdin());
  if (!isHostSpec(spec)) throw new Error('invalid host spec on stdin');
  const log = createLogger({ write: (l) => process.stderr.write(l), level: logLevelFromEnv(env), scope: `host ${spec.session_id}` });
  const config = await loadConfig(env);
  // A detached host outlives the terminal and the daemon that started it.
  process.on('SIGHUP', () => log.info('ignoring SIGHUP'));
  const host = new SessionHost(spec, { endpoint: () => resolveDaemonEndpoint(config, env), log, timings: hostTimingsFromEnv(env) });
  for (const sig of ['SIGTERM', 'SIGINT'] as const) process.on(sig, () => void host.kill(`host received ${sig}`));
  log.info(`started ${spec.command} (pid ${host.childPid}) in ${spec.cwd}`);
  host.start();
  await host.exited;
  return 0;
}

main().then(
  (code) => process.exit(code),
  (err: unknown) => {
    process.stderr.write(`telepty host failed: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`);
    process.exit(1);
  },
);
