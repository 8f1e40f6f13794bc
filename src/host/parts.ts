/**
 * The parts a SessionHost is made of, as interfaces: the real ones are PtyProcess (pty.ts), ScreenModel
 * (terminal/screen.ts) and DaemonLink (daemon-link.ts), built by createSessionHost (create.ts); tests give
 * in-memory ones. Type-only: nothing here is loaded at run time.
 */
import type { DaemonToHost, DaemonWelcome, HostHello, HostScreen, HostToDaemon } from '../protocol/host-link.js';
import type { ScreenQuery } from '../protocol/session.js';
import type { CursorState } from '../terminal/inject-queue.js';
import type { ScreenModes } from '../terminal/screen.js';

export interface PtyExit {
  code: number | null;
  signal: number | null;
}

/** The child on its pseudo-terminal. */
export interface HostPty {
  readonly pid: number;
  /** The terminal device of the child's side (/dev/pts/N), or null when unknown. */
  readonly ptsName: string | null;
  readonly hasExited: boolean;
  readonly exited: Promise<PtyExit>;
  /** The one consumer of the child's output; output read before it was set is handed to it at once, in order. */
  onData(cb: (data: Buffer) => void): void;
  write(data: string): void;
  /** True when every byte written so far has been handed to the kernel. */
  writeQueueEmpty(): boolean;
  resize(cols: number, rows: number): void;
  pause(): void;
  resume(): void;
  signal(signal: NodeJS.Signals): void;
  /** End the child's whole session: SIGHUP, then SIGKILL after `graceMs`. */
  killSession(graceMs: number): Promise<void>;
}

/** What the screen tells the host. */
export interface ScreenEvents {
  /** The program changed bracketed paste or the alternate screen. */
  modes(m: ScreenModes): void;
  /** This many bytes of output have been parsed (flow control). */
  parsed(bytes: number): void;
}

/** The session's terminal as a human sees it (ScreenModel). */
export interface SessionScreen {
  readonly cols: number;
  readonly rows: number;
  write(data: Buffer): void;
  modes(): ScreenModes;
  cursorState(): Promise<CursorState>;
  snapshot(q: ScreenQuery): Promise<HostScreen>;
  /** The visible screen as an escape sequence that redraws it. */
  serialize(): Promise<string>;
  resize(cols: number, rows: number): void;
  /** Resolves once every byte written so far is parsed. */
  flush(): Promise<void>;
  dispose(): void;
}

export interface LinkHandlers {
  hello(): HostHello;
  onWelcome(welcome: DaemonWelcome): void;
  onMessage(message: DaemonToHost): void;
  /** The link went down (code from the daemon, or 1006 when it vanished); it reconnects unless stopped. */
  onDown(code: number, reason: string): void;
}

/** The host's side of the link to the daemon (DaemonLink): it reconnects by itself until stopped. */
export interface HostLink {
  /** Connected and welcomed by the daemon. */
  readonly up: boolean;
  /** Bytes queued on the socket and not yet sent (congestion). */
  readonly buffered: number;
  start(): void;
  /** False when the link is down (nothing is queued for later). */
  send(message: HostToDaemon): boolean;
  sendBinary(frame: Buffer): boolean;
  /** Resolves true when the link is up, or false after `timeoutMs`. */
  waitUp(timeoutMs: number): Promise<boolean>;
  /** Wait (bounded) until queued frames have left the socket. */
  flush(timeoutMs: number): Promise<void>;
  stop(): void;
}

/**
 * Something that takes every chunk of the program's output, in order, as it is read (the user's terminal for
 * wrap; a recorder or an agent-state watcher would be one more). write() runs on the output path: it must not
 * block nor throw, and should hand heavy work off.
 */
export interface OutputSink {
  write(data: Buffer): void;
  /** The program exited and its last output has been written: finish up (awaited before the host ends). */
  end?(exit: PtyExit): void | Promise<void>;
}

/**
 * A host's parts. The screen and the link call back into the host, so they are made by the host with its
 * callbacks; the PTY exists already (its start is what `spawn` waits for).
 */
export interface HostParts {
  pty: HostPty;
  screen(cols: number, rows: number, events: ScreenEvents): SessionScreen;
  link(handlers: LinkHandlers): HostLink;
  /** Extra output sinks: each chunk goes to them first, then to the viewers, the screen and the host's own sinks. */
  sinks?: readonly OutputSink[];
}
