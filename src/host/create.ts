import path from 'node:path';
import type { HostSpec } from '../protocol/host-spec.js';
import { ColdFile } from '../terminal/cold-file.js';
import { ScreenModel } from '../terminal/screen.js';
import type { TeleptyConfig } from '../util/config.js';
import type { Logger } from '../util/log.js';
import { DaemonLink, resolveDaemonEndpoint } from './daemon-link.js';
import type { HostPty, OutputSink } from './parts.js';
import { PtyProcess, ptyOptionsOf } from './pty.js';
import { SessionHost } from './session-host.js';
import { letStartupCodeGo, startupOutputSink } from './startup-code.js';
import { hostTimingsFromEnv, type HostTimings } from './timings.js';

/** What a real host is built from, beyond its spec. */
export interface HostEnvironment {
  config: TeleptyConfig;
  /** Where the host reads its token (TELEPTY_TOKEN) and its timings (TELEPTY_*_MS) from. */
  env: NodeJS.ProcessEnv;
  log: Logger;
  /** The child, when the caller started it already (main.ts does, before loading the rest of the host). */
  pty?: HostPty;
  /** Output sinks that take each chunk first (before the viewers and the screen): wrap's terminal, the quiet-time collection. */
  sinks?: readonly OutputSink[];
  /** Called when the daemon ends the session (kill) so the caller can tell the user why. */
  onKilled?: (reason: string) => void;
  /** Timings of this kind of host over the defaults (the environment's TELEPTY_*_MS still come first for those it names). */
  timings?: Partial<HostTimings>;
}

/** Where hosts keep their compacted scrollback's files (each unlinked once open: the folder stays empty). */
export function coldScrollbackDir(dataDir: string): string {
  return path.join(dataDir, 'scrollback');
}

/**
 * A session host with its real parts: the node-pty child (started here unless given), the headless xterm screen
 * model, and the WebSocket link to the daemon it finds through the state file (wire/discovery.ts).
 */
export function createSessionHost(spec: HostSpec, host: HostEnvironment): SessionHost {
  const timings = hostTimingsFromEnv(host.env, host.timings);
  // A host is long-lived and idle most of its life: what only its start ran is let go at its first collections.
  const stopLettingGo = letStartupCodeGo();
  const session = new SessionHost(spec, {
    pty: host.pty ?? new PtyProcess(ptyOptionsOf(spec)),
    screen: (cols, rows, events) =>
      new ScreenModel(cols, rows, events.modes, events.parsed, {
        // The compacted scrollback's text in a file under the data folder (on disk, not in the host's heap).
        coldSpill: new ColdFile(coldScrollbackDir(host.config.paths.dataDir)),
        onColdError: (message) => host.log.warn(message),
      }),
    link: (handlers) => new DaemonLink(() => resolveDaemonEndpoint(host.config, host.env, host.log), handlers, timings, host.log),
    // A flood ends that window (startup-code.ts STARTUP_OUTPUT_MAX_BYTES).
    sinks: [...(host.sinks ?? []), startupOutputSink(stopLettingGo)],
    log: host.log,
    timings,
    ...(host.onKilled ? { onKilled: host.onKilled } : {}),
  });
  void session.exited.then(stopLettingGo, stopLettingGo);
  return session;
}
