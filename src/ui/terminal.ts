/**
 * What a full-screen program may leave switched on in the user's terminal, and the sequence that switches it
 * off: bracketed paste, mouse reporting, focus events, kitty keyboard protocol, application cursor/keypad
 * modes, the alternate screen, a hidden cursor, colours. Written when attach detaches and when wrap exits.
 */
export const TERMINAL_RESTORE = [
  '\x1b[?2004l', // bracketed paste off
  '\x1b[?1000l\x1b[?1002l\x1b[?1003l\x1b[?1005l\x1b[?1006l\x1b[?1015l', // mouse reporting off
  '\x1b[?1004l', // focus events off
  '\x1b[<u', // kitty keyboard protocol: pop
  '\x1b[?1l\x1b>', // normal cursor keys and keypad
  '\x1b[?1049l', // leave the alternate screen
  '\x1b[?25h', // show the cursor
  '\x1b[0m', // reset colours and attributes
].join('');

export interface RawModeGuard {
  /** Undo raw mode and write the restore sequence (idempotent). */
  restore(): void;
}

/** Put a TTY stdin into raw mode; the guard restores it, also on process exit. */
export function enterRawMode(stdin: NodeJS.ReadStream, stdout: NodeJS.WriteStream, writeRestore: boolean): RawModeGuard {
  const wasRaw = stdin.isTTY ? stdin.isRaw : false;
  if (stdin.isTTY) stdin.setRawMode(true);
  let restored = false;
  const restore = (): void => {
    if (restored) return;
    restored = true;
    if (stdin.isTTY) stdin.setRawMode(wasRaw);
    if (writeRestore && stdout.isTTY) stdout.write(TERMINAL_RESTORE);
    process.off('exit', restore);
  };
  process.on('exit', restore);
  return { restore };
}

/** The size of the user's terminal, or the given default when stdout is not one. */
export function terminalSize(stdout: NodeJS.WriteStream, fallback: { cols: number; rows: number }): { cols: number; rows: number } {
  return stdout.isTTY && stdout.columns > 0 && stdout.rows > 0 ? { cols: stdout.columns, rows: stdout.rows } : fallback;
}
