import { readSync, writeSync } from 'node:fs';
import { createRequire } from 'node:module';
import type { IPty } from 'node-pty';
import { sleep } from '../util/async.js';
import { isErrno } from '../util/files.js';
import { liveProcesses } from '../util/process.js';
import type { HostPty, PtyExit } from './parts.js';

export type { PtyExit } from './parts.js';

// node-pty is CommonJS; loaded through require so its native module resolves as it expects.
const require = createRequire(import.meta.url);

export interface PtySpawnOptions {
  command: string;
  args: string[];
  cwd: string;
  env: Record<string, string>;
  cols: number;
  rows: number;
  term: string;
}

/** The PTY options of a session's spec (HostSpec): `file` is the resolved executable, when there is one. */
export function ptyOptionsOf(spec: Omit<PtySpawnOptions, 'command'> & { command: string; file?: string; hook_args?: string[] }): PtySpawnOptions {
  return { command: spec.file ?? spec.command, args: withHookArgs(spec.args, spec.hook_args ?? []), cwd: spec.cwd, env: spec.env, cols: spec.cols, rows: spec.rows, term: spec.term };
}

/** telepty's hook arguments go last, before a `--` if any (a launcher's own options come first). */
export function withHookArgs(args: readonly string[], hookArgs: readonly string[]): string[] {
  const out = [...args];
  const dashes = out.indexOf('--');
  out.splice(dashes < 0 ? out.length : dashes, 0, ...hookArgs);
  return out;
}

/**
 * node-pty, loaded (its JS and its native module): 5-7 ms of a host's start here. A host loads it before it reads its
 * spec, so that a spare host (daemon/sessions/spare-host.ts) has it loaded while it waits, off `spawn`'s path.
 */
export function loadNodePty(): typeof import('node-pty') {
  return require('node-pty') as typeof import('node-pty');
}

/** The one owner of a node-pty child. Everything else in the host talks to this. */
export class PtyProcess implements HostPty {
  private readonly pty: IPty;
  private exitInfo: PtyExit | null = null;
  readonly exited: Promise<PtyExit>;
  /** Output read before anyone took it (onData): held, not dropped, while the rest of the host loads. */
  private early: Buffer[] | null = [];
  private sink: ((data: Buffer) => void) | null = null;

  constructor(opts: PtySpawnOptions) {
    this.pty = loadNodePty().spawn(opts.command, opts.args, {
      name: opts.term,
      cols: opts.cols,
      rows: opts.rows,
      cwd: opts.cwd,
      env: opts.env,
      // Raw bytes: the terminal model decodes UTF-8 itself (across reads), and viewers' bytes are forwarded as is.
      encoding: null,
    });
    // With encoding null node-pty emits Buffers (its typings say string).
    this.pty.onData(((data: Buffer) => this.deliver(data)) as unknown as (data: string) => void);
    this.drainBeforeClose();
    this.exited = new Promise((resolve) => {
      this.pty.onExit(({ exitCode, signal }) => {
        this.exitInfo = { code: signal ? null : exitCode, signal: signal || null };
        resolve(this.exitInfo);
      });
    });
  }

  private deliver(data: Buffer): void {
    if (this.sink) this.sink(data);
    else this.early?.push(data);
  }

  /**
   * node-pty closes the master 200 ms after the child exits when its stream has not ended by then (its stream is
   * paused: flow control), and its stream also ends early at the child's exit (an EIO taken for end of file) with
   * bytes still in the kernel's buffer: either way, output the child wrote before exiting would be dropped (issue
   * 22: the last 4-14 KB of a flood). So before node-pty's stream closes the fd, whatever the stream holds and
   * whatever the kernel holds is read and handed on, in order.
   */
  private drainBeforeClose(): void {
    const internals = this.pty as unknown as { _socket?: unknown; _fd?: unknown };
    const socket = internals._socket;
    const fd = internals._fd;
    if (!isPtyStream(socket) || typeof fd !== 'number') return;
    const destroy = socket.destroy.bind(socket);
    socket.destroy = (err?: Error) => {
      if (!socket.destroyed) {
        // read() hands what the paused stream holds to its 'data' listeners (this.deliver), then the kernel's.
        while (socket.read() !== null);
        for (const chunk of readRest(fd, EXIT_DRAIN_MAX_BYTES)) this.deliver(chunk);
      }
      return destroy(err);
    };
  }

  get pid(): number {
    return this.pty.pid;
  }

  /** The terminal device of the child's side (/dev/pts/N), or null when node-pty does not say. */
  get ptsName(): string | null {
    const name = (this.pty as unknown as { ptsName?: unknown }).ptsName;
    return typeof name === 'string' && name.length > 0 ? name : null;
  }

  get hasExited(): boolean {
    return this.exitInfo !== null;
  }

  /** The one consumer of the child's output; what came before it is handed to it at once, in order. */
  onData(cb: (data: Buffer) => void): void {
    if (this.sink) throw new Error('PtyProcess output already has its consumer');
    const early = this.early ?? [];
    this.early = null;
    for (const data of early) cb(data);
    this.sink = cb;
  }

  /**
   * Write to the child. When nothing is queued, the bytes go straight to the (non-blocking) master fd: node-pty's
   * own path is an async fs.write through the thread pool, a hop every keystroke's echo would wait for. Whatever
   * the kernel does not take at once (EAGAIN, a partial write) goes through node-pty's queue, in order.
   */
  write(data: string): void {
    if (this.exitInfo) return;
    const fd = (this.pty as unknown as { _fd?: unknown })._fd;
    if (typeof fd !== 'number' || !this.writeQueueEmpty()) {
      this.pty.write(data);
      return;
    }
    const bytes = Buffer.from(data, 'utf8');
    let written = 0;
    try {
      written = writeSync(fd, bytes);
    } catch (err) {
      if (!isErrno(err, 'EAGAIN')) throw err;
    }
    if (written < bytes.length) this.pty.write(bytes.subarray(written) as unknown as string);
  }

  /**
   * True when every byte written so far has been handed to the kernel. node-pty 1.1 queues writes that hit
   * EAGAIN and retries them; it has no drain event, so this reads its queue (and assumes drained if absent).
   */
  writeQueueEmpty(): boolean {
    const stream = (this.pty as unknown as { _writeStream?: { _writeQueue?: unknown[] } })._writeStream;
    return !stream || !Array.isArray(stream._writeQueue) || stream._writeQueue.length === 0;
  }

  resize(cols: number, rows: number): void {
    // resize() after exit throws EBADF (LESSONS.md).
    if (!this.exitInfo) this.pty.resize(cols, rows);
  }

  pause(): void {
    if (!this.exitInfo) this.pty.pause();
  }

  resume(): void {
    if (!this.exitInfo) this.pty.resume();
  }

  signal(signal: NodeJS.Signals): void {
    if (!this.exitInfo) signalGroup(this.pty.pid, signal);
  }

  /**
   * End the child's whole session: SIGHUP to its process group (it is a session leader), then SIGKILL to every
   * process still in its session after `graceMs`. node-pty leaks master fds into later children, so closing
   * the master alone does not reliably hang them up.
   */
  async killSession(graceMs: number): Promise<void> {
    const sid = this.pty.pid;
    signalGroup(sid, 'SIGHUP');
    const deadline = Date.now() + graceMs;
    while (Date.now() < deadline) {
      if (this.exitInfo && (await sessionMembers(sid)).length === 0) return;
      await sleep(KILL_POLL_MS);
    }
    signalGroup(sid, 'SIGKILL');
    for (const pid of await sessionMembers(sid)) signalPid(pid, 'SIGKILL');
    // SIGKILL cannot be ignored, but dying takes the kernel a moment: report the session ended once it has.
    const settled = Date.now() + KILL_SETTLE_MS;
    while ((await sessionMembers(sid)).length > 0 && Date.now() < settled) await sleep(KILL_POLL_MS);
  }
}

/**
 * What is read from the master when node-pty closes it: the kernel holds at most a few tens of KB of a child that
 * exited; the bound keeps a process that still holds the terminal and keeps writing from holding the host here.
 */
const EXIT_DRAIN_MAX_BYTES = 1024 * 1024;
const EXIT_DRAIN_CHUNK = 64 * 1024;

/** node-pty's read stream of the master (a tty.ReadStream), as far as drainBeforeClose uses it. */
interface PtyStream {
  destroyed: boolean;
  read(): unknown;
  destroy(err?: Error): unknown;
}

function isPtyStream(x: unknown): x is PtyStream {
  if (typeof x !== 'object' || x === null) return false;
  const s = x as Partial<Record<keyof PtyStream, unknown>>;
  return typeof s.read === 'function' && typeof s.destroy === 'function' && typeof s.destroyed === 'boolean';
}

/**
 * What the kernel still holds on a non-blocking master fd, up to `max` bytes: read until it has nothing (EAGAIN),
 * the other side is gone and empty (EIO), or end of file.
 */
function readRest(fd: number, max: number): Buffer[] {
  const out: Buffer[] = [];
  let total = 0;
  while (total < max) {
    const buf = Buffer.allocUnsafe(Math.min(EXIT_DRAIN_CHUNK, max - total));
    let n: number;
    try {
      n = readSync(fd, buf, 0, buf.length, null);
    } catch (err) {
      if (['EAGAIN', 'EIO', 'EBADF', 'EINTR'].some((code) => isErrno(err, code))) break;
      throw err;
    }
    if (n === 0) break;
    out.push(buf.subarray(0, n));
    total += n;
  }
  return out;
}

/** Poll interval while waiting for a hung-up session to end. */
const KILL_POLL_MS = 25;
/** After SIGKILL, how long to wait for the session's processes to be gone (they die in milliseconds). */
const KILL_SETTLE_MS = 1_000;

function signalGroup(pgid: number, signal: NodeJS.Signals): void {
  try {
    process.kill(-pgid, signal);
  } catch (err) {
    if (!isErrno(err, 'ESRCH')) throw err;
  }
}

function signalPid(pid: number, signal: NodeJS.Signals): void {
  try {
    process.kill(pid, signal);
  } catch (err) {
    if (!isErrno(err, 'ESRCH')) throw err;
  }
}

/** Live (non-zombie) processes whose session id is `sid` (Linux /proc; empty elsewhere). */
export async function sessionMembers(sid: number): Promise<number[]> {
  return (await liveProcesses()).filter((p) => p.sid === sid).map((p) => p.pid);
}
