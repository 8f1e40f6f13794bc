/**
 * Whether the session has a half-typed line: printable keys typed (locally, by a viewer, or sent with `telepty keys`)
 * since the last key that ends or clears a line. An inject waits while there is one, so the draft and the prompt
 * never become one line. Keys whose effect on the line cannot be known (Ctrl-W, arrows, Tab) leave it as it is.
 */
export class DraftTracker {
  /** Printable characters typed since the line was last ended or cleared, less those erased with Backspace. */
  private chars = 0;
  /** A person (not `telepty keys`) typed some of the draft. */
  private byPerson = false;

  get pending(): boolean {
    return this.chars > 0;
  }

  /** The draft was sent with `telepty keys` alone: an Enter alone (`telepty enter`) is what submits it, not a merge. */
  get byKeysOnly(): boolean {
    return this.chars > 0 && !this.byPerson;
  }

  feed(data: string, from: 'person' | 'keys' = 'person'): void {
    // Esc alone (a TUI's "cancel input") arrives as a read of its own.
    if (data === '\x1b') {
      this.clear();
      return;
    }
    for (let i = 0; i < data.length; i++) {
      const c = data.charCodeAt(i);
      if (c === 0x1b) {
        i = skipEscape(data, i);
        continue;
      }
      if (LINE_ENDERS.has(c)) this.clear();
      else if (c === 0x7f || c === 0x08) {
        this.chars = Math.max(0, this.chars - 1);
        if (this.chars === 0) this.byPerson = false;
      } else if (c >= 0x20) {
        this.chars++;
        if (from === 'person') this.byPerson = true;
      }
    }
  }

  /** The line is gone (the program switched screens): nothing typed before is in a line any more. */
  reset(): void {
    this.clear();
  }

  private clear(): void {
    this.chars = 0;
    this.byPerson = false;
  }
}

/** Enter (CR, LF), Ctrl-C, Ctrl-U, Ctrl-D and Ctrl-G end or clear the input line in shells and AI CLIs. */
const LINE_ENDERS = new Set([0x0d, 0x0a, 0x03, 0x15, 0x04, 0x07]);

/** Index of the last character of the escape sequence starting at `i` (CSI, SS3, or Alt+key). */
function skipEscape(data: string, i: number): number {
  const next = data[i + 1];
  if (next === '[' || next === 'O') {
    let j = i + 2;
    while (j < data.length) {
      const c = data.charCodeAt(j);
      if (c >= 0x40 && c <= 0x7e) return j;
      j++;
    }
    return data.length - 1;
  }
  return next === undefined ? i : i + 1;
}
