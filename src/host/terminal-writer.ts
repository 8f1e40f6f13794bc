import { constants, open as fsOpen, write as fsWrite } from 'node:fs';
import { isatty, WriteStream } from 'node:tty';
import type { Logger } from '../util/log.js';

/** Where LocalOutput's bytes go: one write at a time, `done` once all of it was taken or with what ended it. */
export interface TerminalWriter {
  write(data: Buffer, done: (err: Error | null) => void): void;
  /** Nothing more is written; what the terminal has not taken yet is given up. */
  close(): Promise<void>;
}

/** A descriptor in non-blocking mode that is full answers EAGAIN: try again this much later. */
const RETRY_MS = 10;

/**
 * Writes to `fd` through libuv's thread pool (a file, a pipe, or a terminal where no non-blocking one can be had):
 * a write to a reader that stopped waits in the pool, never in the event loop.
 */
export function fdWriter(fd: number): TerminalWriter {
  let closed = false;
  const write = (data: Buffer, offset: number, done: (err: Error | null) => void): void => {
    fsWrite(fd, data, offset, data.length - offset, null, (err, written) => {
      if (err?.code === 'EAGAIN') {
        setTimeout(() => (closed ? done(null) : write(data, offset, done)), RETRY_MS);
        return;
      }
      if (err) return done(err);
      if (offset + written < data.length) return write(data, offset + written, done);
      done(null);
    });
  };
  return {
    write: (data, done) => write(data, 0, done),
    close: () => {
      closed = true;
      return Promise.resolve();
    },
  };
}

/**
 * The user's terminal behind `fd`, for `telepty wrap`'s output, written without ever blocking a thread.
 *
 * Node keeps a terminal's own descriptor blocking, so LocalOutput's writes went through the pool, and a write to a
 * terminal that stopped reading sat there, holding the terminal's write lock, until it read again: wrap's exit waited
 * with it (restoring the terminal's modes waits for that lock, and Node joins the pool's threads at exit), after its
 * program had exited. On Linux /proc/self/fd/N opens a description of the same terminal of our own; in non-blocking
 * mode libuv writes to it as the terminal takes bytes, and a write not taken is dropped at close(). Elsewhere
 * (opening /dev/fd/N shares the description, and the shell's terminal must stay blocking), or when `fd` is no
 * terminal (a file would be written from its start), fdWriter on `fd`, as before.
 */
export async function openTerminalWriter(fd: number, log: Logger): Promise<TerminalWriter> {
  if (process.platform !== 'linux' || !isatty(fd)) return fdWriter(fd);
  // A plain descriptor, not a FileHandle: the stream owns it from here and closes it when destroyed.
  const own = new Promise<number>((resolve, reject) => fsOpen(`/proc/self/fd/${fd}`, constants.O_WRONLY | constants.O_NOCTTY, (err, opened) => (err ? reject(err) : resolve(opened))));
  return own.then(
    (opened) => {
      const stream = new WriteStream(opened);
      if (!setNonBlocking(stream)) {
        stream.destroy();
        log.warn('the terminal could not be written to in non-blocking mode; writing to it through the thread pool');
        return fdWriter(fd);
      }
      return streamWriter(stream, log);
    },
    (err: unknown) => {
      log.warn(`opening the terminal again failed (${(err as Error).message}); writing to it through the thread pool`);
      return fdWriter(fd);
    },
  );
}

function streamWriter(stream: WriteStream, log: Logger): TerminalWriter {
  // A terminal that went away (EIO): the write's callback says so to LocalOutput, which stops writing.
  stream.on('error', (err) => log.debug(`the terminal: ${err.message}`));
  return {
    write: (data, done) => {
      stream.write(data, (err) => done(err ?? null));
    },
    close: () =>
      new Promise((resolve) => {
        // A stream a failed write already destroyed (EIO: the terminal hung up) has closed: no 'close' comes again.
        if (stream.closed) return resolve();
        stream.once('close', () => resolve());
        stream.destroy();
      }),
  };
}

/**
 * Node's tty.WriteStream switches its handle to blocking writes when made; its handle's setBlocking(false) undoes
 * that (libuv then waits for the terminal to take more, instead of a thread waiting in write()). The handle is
 * Node's own, not a documented API: when it is not there, false (and the caller writes through the pool).
 */
function setNonBlocking(stream: WriteStream): boolean {
  const handle: unknown = Reflect.get(stream, '_handle');
  if (typeof handle !== 'object' || handle === null) return false;
  const setBlocking: unknown = Reflect.get(handle, 'setBlocking');
  if (typeof setBlocking !== 'function') return false;
  return Reflect.apply(setBlocking, handle, [false]) === 0;
}
