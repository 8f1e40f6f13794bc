import { describe, expect, it } from 'vitest';
import type { HostSpec } from '../../../src/protocol/host-spec.js';
import type { HostToDaemon } from '../../../src/protocol/host-link.js';
import type { HostLink, LinkHandlers, ScreenEvents } from '../../../src/host/parts.js';
import { PtyProcess } from '../../../src/host/pty.js';
import { SessionHost } from '../../../src/host/session-host.js';
import { DEFAULT_HOST_TIMINGS, DEFAULT_LINK_TIMINGS, type HostTimings } from '../../../src/host/timings.js';
import { DEFAULT_INJECT_TIMINGS } from '../../../src/terminal/inject-queue.js';
import { ScreenModel } from '../../../src/terminal/screen.js';
import { waitFor } from '../../helpers/env.js';
import { RecordingLogger, RecordingOutput } from '../../helpers/recorders.js';

/** A link to no daemon: the host runs on its own (it reports nothing; this test reads its sinks). */
class NoLink implements HostLink {
  readonly up = false;
  readonly buffered = 0;
  constructor(readonly handlers: LinkHandlers) {}
  start(): void {}
  send(_m: HostToDaemon): boolean {
    return false;
  }
  sendBinary(): boolean {
    return false;
  }
  waitUp(): Promise<boolean> {
    return Promise.resolve(false);
  }
  flush(): Promise<void> {
    return Promise.resolve();
  }
  stop(): void {}
}

const TIMINGS: HostTimings = { ...DEFAULT_LINK_TIMINGS, ...DEFAULT_INJECT_TIMINGS, ...DEFAULT_HOST_TIMINGS, exitReportWaitMs: 50 };
const LINE = '0123456789abcdefghijklmnopqrstuvwxyz\n';
/** More than the host's flow-control high-water mark (2 MiB unparsed): the host pauses the PTY during it. */
const FIRST = 2 * 1024 * 1024 + 1024;
/** Written while the PTY is paused, then the program exits at once: it waits in the kernel's buffer. */
const TAIL = 8 * 1024;

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ESRCH') return false; // gone (reaped)
    throw err;
  }
}

// Issue 22: the program exits while the host's PTY is paused by flow control (its terminal model is behind); node-pty
// closed the master 200 ms later and what was still in the kernel's buffer never reached the screen, the viewers or
// the recording.
describe('a program that exits while its host holds flow control', () => {
  it('every byte it wrote reaches the sinks (recording, viewers) and the screen', async () => {
    const script = `stty -opost; yes ${LINE.trim()} | head -c ${FIRST}; sleep 0.5; yes ${LINE.trim()} | head -c ${TAIL}; printf END; exit 7`;
    const spec: HostSpec = {
      session_id: 'flow-exit',
      id_flexible: false,
      host_instance: 'e'.repeat(32),
      type: 'spawned',
      command: 'sh',
      args: ['-c', script],
      cwd: '/',
      env: { PATH: process.env.PATH ?? '/usr/bin:/bin' },
      cols: 80,
      rows: 24,
      term: 'xterm-256color',
    };
    const pty = new PtyProcess({ command: 'sh', args: spec.args, cwd: '/', env: spec.env, cols: 80, rows: 24, term: spec.term });
    // A terminal model that reports nothing parsed until the program is gone: the host's flow control keeps the
    // PTY paused from the first 2 MiB until after the exit.
    let hold = true;
    const held: number[] = [];
    let parsed: (bytes: number) => void = () => undefined;
    let paused = 0;
    const pause = pty.pause.bind(pty);
    pty.pause = () => {
      paused++;
      pause();
    };
    const sink = new RecordingOutput();
    const host = new SessionHost(spec, {
      pty,
      screen: (cols, rows, events: ScreenEvents) => {
        parsed = events.parsed;
        return new ScreenModel(cols, rows, events.modes, (bytes) => {
          if (hold) held.push(bytes);
          else events.parsed(bytes);
        });
      },
      link: (handlers) => new NoLink(handlers),
      sinks: [sink],
      log: new RecordingLogger(),
      timings: TIMINGS,
    });
    host.start();
    await waitFor('the program gone (it exited while paused)', () => !alive(pty.pid), 30_000, 20);
    expect(paused).toBeGreaterThan(0);
    // node-pty closes the master 200 ms after the exit while paused: let that pass before parsing goes on.
    await new Promise((r) => setTimeout(r, 400));
    hold = false;
    for (const b of held.splice(0)) parsed(b);
    const exit = await Promise.race([host.exited, new Promise<never>((_r, reject) => setTimeout(() => reject(new Error('no exit')), 20_000))]);
    expect(exit.code).toBe(7);
    const out = sink.text();
    const expected = LINE.repeat(Math.ceil(FIRST / LINE.length)).slice(0, FIRST) + LINE.repeat(Math.ceil(TAIL / LINE.length)).slice(0, TAIL) + 'END';
    expect(out.length).toBe(expected.length);
    expect(out === expected).toBe(true);
    expect(sink.ended?.code).toBe(7);
    // The terminal model parsed the tail too: its last line ends with the marker written just before the exit.
    expect(await host.serializeScreen()).toMatch(/END\s*$/);
  }, 60_000);
});
