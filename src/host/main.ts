/**
 * Entry point of a detached session host (started by the daemon for `spawn`): reads its HostSpec as JSON on
 * stdin, runs the session, and exits when the child has exited. Its stdout/stderr go to the host's log file.
 */
import { Socket, type SocketConstructorOpts } from 'node:net';
import { parseHostSpecText } from '../protocol/host-spec.js';
import { parseViewerHandoff } from '../protocol/viewer-handoff.js';
import { loadConfig } from '../util/config.js';
import { createLogger, fdWriter, logLevelFromEnv, safeLineWriter, type Logger } from '../util/log.js';
import { PtyProcess, loadNodePty, ptyOptionsOf } from './pty.js';
import { QuietCleanup, fullCollection } from './quiet-cleanup.js';
import type { SessionHost } from './session-host.js';

async function readStdin(): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const chunk of process.stdin as AsyncIterable<Buffer>) chunks.push(chunk);
  return Buffer.concat(chunks).toString('utf8');
}

/**
 * The daemon that spawned this host hands viewers over on the IPC channel it opened (viewer-handoff.ts). The
 * channel must not keep the host alive, and its end (the daemon stopped) ends nothing: viewers are relayed then.
 */
function acceptHandoffs(host: SessionHost, log: Logger): void {
  if (!process.channel) return;
  process.channel.unref();
  process.on('disconnect', () => log.info('the daemon that started this host closed its channel; viewers come relayed now'));
  process.on('message', (msg: unknown, handle: unknown) => {
    const handoff = parseViewerHandoff(msg);
    // The daemon sends the raw TCP handle (host-channels.ts); a net.Socket is made around it here, as Node's own
    // socket hand-over does.
    const socket = handle && typeof handle === 'object' ? new Socket({ handle, readable: true, writable: true } as SocketConstructorOpts) : null;
    if (handoff && socket) host.acceptViewer(handoff, socket);
    else {
      log.warn('ignored a message on the IPC channel that is not a viewer hand-over');
      socket?.destroy();
    }
  });
}

/** The host's stderr is its log file: a full disk loses lines (counted), never the session. */
const hostLogWrite = safeLineWriter({ primary: fdWriter(2), fallback: fdWriter(1) });
/** A host that fails to load after starting its child gives the child's session this long after SIGHUP. */
const FAILED_LOAD_KILL_GRACE_MS = 1_000;

/**
 * A collection once the session is quiet after a burst (quiet-cleanup.ts), letting go of the burst's compiled code
 * too: never on a fresh session's first keys (nothing is armed before 1 MiB of output), only 0.75 s and 6 s into a
 * quiet spell after one; the last one also gives back the young generation's pages the burst wrote.
 */
function quietCleanup(log: Logger): QuietCleanup {
  return new QuietCleanup((last) => {
    const before = process.memoryUsage.rss();
    fullCollection({ flushCode: true, youngPages: last }).then(
      () => log.debug(`quiet: collected, RSS ${(before / 2 ** 20).toFixed(1)} -> ${(process.memoryUsage.rss() / 2 ** 20).toFixed(1)} MB`),
      (err: unknown) => log.warn(`quiet: no collection: ${err instanceof Error ? err.message : String(err)}`),
    );
  });
}

/** The host's whole run, given its environment (the process's, read once at the bottom of this file). */
async function main(env: NodeJS.ProcessEnv): Promise<number> {
  // Before the spec: a spare host waits with node-pty loaded (the child's start then waits for no loading at all).
  loadNodePty();
  const text = await readStdin();
  // A spare host (daemon/sessions/spare-host.ts) whose daemon ended before handing it a spawn: nothing to run.
  if (text === '') return 0;
  const spec = parseHostSpecText(text);
  const log = createLogger({ write: hostLogWrite, level: logLevelFromEnv(env), scope: `host ${spec.session_id}` });
  // A detached host outlives the terminal and the daemon that started it.
  process.on('SIGHUP', () => log.info('ignoring SIGHUP'));
  // The child starts before the rest of the host is loaded (the terminal model, ws and the builtins it needs take
  // tens of ms to load; the bundle loads them only here): `spawn` → the program's first output waits for node,
  // this file and node-pty only. What the child writes meanwhile waits in PtyProcess.
  const pty = new PtyProcess(ptyOptionsOf(spec));
  let host: SessionHost;
  try {
    // The configuration (where the daemon is) only after the child started: its file checks are not on `spawn`'s path.
    const config = await loadConfig(env);
    const { createSessionHost } = await import('./create.js');
    host = createSessionHost(spec, { config, env, log, pty, sinks: [quietCleanup(log)] });
  } catch (err) {
    // The child must not outlive a host that could not load.
    await pty.killSession(FAILED_LOAD_KILL_GRACE_MS);
    throw err;
  }
  for (const sig of ['SIGTERM', 'SIGINT'] as const) process.on(sig, () => void host.kill(`host received ${sig}`));
  log.info(`started ${spec.command} (pid ${host.childPid}) in ${spec.cwd}`);
  acceptHandoffs(host, log);
  host.start();
  await host.exited;
  return 0;
}

main(process.env).then(
  (code) => process.exit(code),
  (err: unknown) => {
    hostLogWrite(`telepty host failed: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`);
    process.exit(1);
  },
);
