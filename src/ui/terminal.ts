import { closeSync } from 'node:fs';
import { isatty } from 'node:tty';

/**
 * What a full-screen program may leave switched on in the user's terminal, and the sequence that switches it
 * off: bracketed paste, mouse reporting, focus events, kitty keyboard protocol, application cursor/keypad
 * modes, a hidden cursor, colours, and the alternate screen. Leaving the alternate screen (`ESC[?1049l`) also
 * restores a saved cursor, so it is written only when the program is known to be in it.
 */
export function restoreSequence(state: { altScreen: boolean }): string {
  return [
    '\x1b[?2004l', // bracketed paste off
    '\x1b[?1000l\x1b[?1002l\x1b[?1003l\x1b[?1005l\x1b[?1006l\x1b[?1015l', // mouse reporting off
    '\x1b[?1004l', // focus events off
    '\x1b[<u', // kitty keyboard protocol: pop
    '\x1b[?1l\x1b>', // normal cursor keys and keypad
    state.altScreen ? '\x1b[?1049l' : '', // leave the alternate screen
    '\x1b[?25h', // show the cursor
    '\x1b[0m', // reset colours and attributes
  ].join('');
}

export interface RawModeGuard {
  /** Undo raw mode and write the restore sequence (idempotent). */
  restore(): void;
  /** Undo raw mode only: the restore sequence went out another way (wrap's, with the program's last output). */
  restoreMode(): void;
  /** The terminal hung up: its modes went with it, nothing is restored, now or at exit. */
  forget(): void;
}

/**
 * Put a TTY stdin into raw mode; the guard restores it, also on process exit, and writes the restore sequence
 * for the terminal state `state()` reports (null: write none).
 */
export function enterRawMode(stdin: NodeJS.ReadStream, stdout: NodeJS.WriteStream, state: () => { altScreen: boolean } | null): RawModeGuard {
  const wasRaw = stdin.isTTY ? stdin.isRaw : false;
  if (stdin.isTTY) stdin.setRawMode(true);
  let restored = false;
  /** Once: raw mode undone (`mode`), the restore sequence written (`sequence`); the exit's restore let go. */
  const undo = (mode: boolean, sequence: boolean): void => {
    if (restored) return;
    restored = true;
    process.off('exit', restore);
    if (mode && stdin.isTTY) stdin.setRawMode(wasRaw);
    const st = sequence ? state() : null;
    if (st && stdout.isTTY) stdout.write(restoreSequence(st));
  };
  const restore = (): void => undo(true, true);
  process.on('exit', restore);
  return { restore, restoreMode: () => undo(true, false), forget: () => undo(false, false) };
}

/** This process's standard descriptors (0, 1, 2) that are terminals now: later, which of them hung up. */
export function standardTerminals(): number[] {
  return [0, 1, 2].filter((fd) => isatty(fd));
}

/**
 * Those of `fds` (terminals once) whose terminal hung up since: its window closed, its ssh connection dropped. A
 * hung-up terminal answers every request with EIO, so it is no terminal to isatty() any more.
 */
export function hungUpTerminals(fds: readonly number[]): number[] {
  return fds.filter((fd) => !isatty(fd));
}

/**
 * Close these descriptors of a hung-up terminal before the process exits. Node restores, at exit, the modes of the
 * standard descriptors that were terminals when it started, and asserts that this worked: on a hung-up terminal's
 * EIO it aborts (`telepty wrap` whose terminal window was closed died with SIGABRT or SIGSEGV). A descriptor closed
 * by then is skipped there.
 */
export function closeHungUpTerminals(fds: readonly number[]): void {
  for (const fd of fds) {
    try {
      closeSync(fd);
    } catch (err) {
      // Closed already: nothing of it for Node to restore either.
      if ((err as NodeJS.ErrnoException).code !== 'EBADF') throw err;
    }
  }
}

/** The size of the user's terminal, or the given default when stdout is not one. */
export function terminalSize(stdout: NodeJS.WriteStream, fallback: { cols: number; rows: number }): { cols: number; rows: number } {
  return stdout.isTTY && stdout.columns > 0 && stdout.rows > 0 ? { cols: stdout.columns, rows: stdout.rows } : fallback;
}

/** This process's terminal as attach uses it: raw mode with its restore, and the size (0 when not a terminal). */
export function localTerminal(stdin: NodeJS.ReadStream = process.stdin, stdout: NodeJS.WriteStream = process.stdout): {
  raw(state: () => { altScreen: boolean } | null): RawModeGuard;
  size(): { cols: number; rows: number };
} {
  return { raw: (state) => enterRawMode(stdin, stdout, state), size: () => terminalSize(stdout, { cols: 0, rows: 0 }) };
}
