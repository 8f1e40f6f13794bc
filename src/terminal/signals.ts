/**
 * Terminal signals in a program's output that say something about its state (issue 19), found without a screen
 * model: window titles (OSC 0/2: spinners), notifications (OSC 9, OSC 99, OSC 777;notify), progress (OSC 9;4),
 * the bell, and the alternate screen. Streaming: a sequence split across chunks is found whole.
 */

export type TerminalSignal =
  | { kind: 'title'; text: string }
  | { kind: 'notify'; via: 'osc9' | 'osc99' | 'osc777'; text: string }
  | { kind: 'progress'; state: ProgressState; value: number | null }
  | { kind: 'bell' }
  | { kind: 'alt-screen'; on: boolean }
  /** DECCKM (CSI ?1 h/l): arrow keys must be sent in their application form (`telepty keys`). */
  | { kind: 'app-cursor'; on: boolean };

/** OSC 9;4 (ConEmu, Windows Terminal, Ghostty): 0 none, 1 value, 2 error, 3 indeterminate, 4 paused. */
export type ProgressState = 'none' | 'value' | 'error' | 'indeterminate' | 'paused';
const PROGRESS: ProgressState[] = ['none', 'value', 'error', 'indeterminate', 'paused'];

/** An OSC longer than this (a clipboard write, an image) says nothing about state: it is skipped, not kept. */
export const MAX_OSC_CHARS = 4_096;
/** A CSI's parameters are short; one longer than this is garbage and is dropped. */
const MAX_CSI_CHARS = 64;

/** Private modes that switch to and from the alternate screen. */
const ALT_SCREEN_MODES = new Set(['1049', '1047', '47']);

const enum Mode {
  Ground,
  Esc,
  Csi,
  Osc,
  OscEsc,
}

export class SignalScanner {
  private mode = Mode.Ground;
  private buf = '';
  private overflow = false;

  /** Every signal in this chunk (and any sequence it completes), in order. */
  scan(chunk: string): TerminalSignal[] {
    const out: TerminalSignal[] = [];
    for (let i = 0; i < chunk.length; i++) {
      const c = chunk.charCodeAt(i);
      switch (this.mode) {
        case Mode.Ground:
          if (c === 0x1b) this.mode = Mode.Esc;
          else if (c === 0x07) out.push({ kind: 'bell' });
          else if (c === 0x9d) this.startOsc(); // 8-bit OSC
          break;
        case Mode.Esc:
          if (c === 0x5d) this.startOsc(); // ESC ]
          else if (c === 0x5b) this.startCsi(); // ESC [
          else this.mode = c === 0x1b ? Mode.Esc : Mode.Ground;
          break;
        case Mode.Csi:
          if (c >= 0x40 && c <= 0x7e) {
            this.endCsi(String.fromCharCode(c), out);
          } else if (c === 0x1b) {
            this.mode = Mode.Esc;
          } else if (this.buf.length < MAX_CSI_CHARS) {
            this.buf += chunk[i];
          } else {
            this.mode = Mode.Ground;
          }
          break;
        case Mode.Osc:
          if (c === 0x07 || c === 0x9c) this.endOsc(out);
          else if (c === 0x1b) this.mode = Mode.OscEsc;
          else this.addOsc(chunk, i);
          break;
        case Mode.OscEsc:
          if (c === 0x5c) this.endOsc(out); // ESC \ (ST)
          else {
            // Any other escape ends the OSC unfinished (xterm does the same): it carried nothing.
            this.mode = Mode.Esc;
            i--;
          }
          break;
      }
    }
    return out;
  }

  private startOsc(): void {
    this.mode = Mode.Osc;
    this.buf = '';
    this.overflow = false;
  }

  private startCsi(): void {
    this.mode = Mode.Csi;
    this.buf = '';
  }

  private addOsc(chunk: string, i: number): void {
    if (this.overflow) return;
    if (this.buf.length >= MAX_OSC_CHARS) {
      this.overflow = true;
      this.buf = '';
      return;
    }
    this.buf += chunk[i];
  }

  private endCsi(final: string, out: TerminalSignal[]): void {
    this.mode = Mode.Ground;
    if ((final !== 'h' && final !== 'l') || !this.buf.startsWith('?')) return;
    for (const p of this.buf.slice(1).split(';')) {
      if (ALT_SCREEN_MODES.has(p)) out.push({ kind: 'alt-screen', on: final === 'h' });
      else if (p === '1') out.push({ kind: 'app-cursor', on: final === 'h' });
    }
  }

  private endOsc(out: TerminalSignal[]): void {
    this.mode = Mode.Ground;
    if (this.overflow) return;
    const sig = oscSignal(this.buf);
    if (sig) out.push(sig);
  }
}

/** The meaning of one OSC body (between `ESC ]` and its terminator), or null when it says nothing about state. */
export function oscSignal(body: string): TerminalSignal | null {
  const semi = body.indexOf(';');
  const code = semi < 0 ? body : body.slice(0, semi);
  const rest = semi < 0 ? '' : body.slice(semi + 1);
  switch (code) {
    case '0':
    case '2':
      return { kind: 'title', text: rest };
    case '9': {
      const m = /^4;(\d)(?:;(\d{1,3}))?/.exec(rest);
      if (m) {
        const state = PROGRESS[Number(m[1])];
        if (state === undefined) return null;
        return { kind: 'progress', state, value: m[2] === undefined ? null : Math.min(100, Number(m[2])) };
      }
      return { kind: 'notify', via: 'osc9', text: rest };
    }
    case '99': {
      // OSC 99 ; metadata ; payload (kitty)
      const i = rest.indexOf(';');
      return { kind: 'notify', via: 'osc99', text: i < 0 ? rest : rest.slice(i + 1) };
    }
    case '777': {
      // OSC 777 ; notify ; title ; body (rxvt, foot, Ghostty)
      const parts = rest.split(';');
      if (parts[0] !== 'notify') return null;
      return { kind: 'notify', via: 'osc777', text: parts.slice(1).filter((p) => p.length > 0).join(': ') };
    }
    default:
      return null;
  }
}

/**
 * Braille spinner frames leading a title (`⠋ Working`): what CLIs built on Ink and ratatui put in their title while
 * a turn runs. Not measured on each real program yet (bench/agents-real.md will say); a static glyph such as
 * Claude Code's idle `✳` is not a spinner.
 */
const TITLE_SPINNER = /^[\u2801-\u28ff]\s/;

/** A title that says "working" (a spinner leading it), or null when the title says nothing either way. */
export function titleSaysWorking(title: string): boolean {
  return TITLE_SPINNER.test(title);
}
