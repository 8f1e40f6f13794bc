import { createRequire } from 'node:module';
import type { IPty } from 'node-pty';
import type { Terminal } from '@xterm/headless';
import { waitFor } from './env.js';

const require = createRequire(import.meta.url);

export interface TerminalOptions {
  env: NodeJS.ProcessEnv;
  cols?: number;
  rows?: number;
  cwd?: string;
}

/** A real PTY running a program, with a headless xterm as the user's screen. */
export class TerminalDriver {
  readonly term: Terminal;
  readonly proc: IPty;
  /** Every byte the program wrote, as received. */
  raw = '';
  readonly exited: Promise<{ exitCode: number; signal?: number }>;
  private exitInfo: { exitCode: number; signal?: number } | null = null;

  constructor(file: string, args: string[], opts: TerminalOptions) {
    const { Terminal: XTerm } = require('@xterm/headless') as typeof import('@xterm/headless');
    const nodePty = require('node-pty') as typeof import('node-pty');
    const cols = opts.cols ?? 80;
    const rows = opts.rows ?? 24;
    this.term = new XTerm({ cols, rows, scrollback: 1000, allowProposedApi: true });
    const env: Record<string, string> = {};
    for (const [k, v] of Object.entries(opts.env)) if (v !== undefined) env[k] = v;
    this.proc = nodePty.spawn(file, args, { name: 'xterm-256color', cols, rows, cwd: opts.cwd ?? process.cwd(), env });
    this.proc.onData((d) => {
      this.raw += d;
      this.term.write(d);
    });
    this.exited = new Promise((resolve) =>
      this.proc.onExit((e) => {
        this.exitInfo = e;
        resolve(e);
      }),
    );
  }

  get pid(): number {
    return this.proc.pid;
  }

  write(data: string): void {
    this.proc.write(data);
  }

  resize(cols: number, rows: number): void {
    this.proc.resize(cols, rows);
    this.term.resize(cols, rows);
  }

  /**
   * The modes the user's terminal is in now, as the program's output left them. xterm keeps no kitty keyboard
   * stack and has no public cursor-visibility mode: the stack depth is counted from the raw bytes (`CSI > n u`
   * pushes, `CSI < n u` pops n), the cursor read from xterm's core.
   */
  async modes(): Promise<{ screen: 'normal' | 'alternate'; bracketedPaste: boolean; mouse: string; cursorHidden: boolean; kittyKeyboardDepth: number }> {
    await new Promise<void>((r) => this.term.write('', r));
    let depth = 0;
    for (const m of this.raw.matchAll(/\x1b\[([<>])(\d*)u/g)) depth = m[1] === '>' ? depth + 1 : Math.max(0, depth - Number(m[2] || 1));
    const core = (this.term as unknown as { _core: { coreService: { isCursorHidden: boolean } } })._core;
    return {
      screen: this.term.buffer.active.type,
      bracketedPaste: this.term.modes.bracketedPasteMode,
      mouse: this.term.modes.mouseTrackingMode,
      cursorHidden: core.coreService.isCursorHidden,
      kittyKeyboardDepth: depth,
    };
  }

  /** The visible screen, one string per row (trailing blanks trimmed). */
  async screen(): Promise<string[]> {
    await new Promise<void>((r) => this.term.write('', r));
    const buf = this.term.buffer.active;
    const out: string[] = [];
    for (let y = 0; y < this.term.rows; y++) out.push(buf.getLine(buf.viewportY + y)?.translateToString(true) ?? '');
    return out;
  }

  async screenText(): Promise<string> {
    return (await this.screen()).join('\n');
  }

  async waitForText(pattern: RegExp | string, timeoutMs = 10_000): Promise<string> {
    return waitFor(
      `screen to show ${String(pattern)}`,
      async () => {
        const text = await this.screenText();
        return (typeof pattern === 'string' ? text.includes(pattern) : pattern.test(text)) ? text : null;
      },
      timeoutMs,
    ).catch(async (err: unknown) => {
      const rawTail = JSON.stringify(this.raw.slice(-600));
      throw new Error(`${(err as Error).message}\n--- screen ---\n${await this.screenText()}\n--- last bytes received ---\n${rawTail}\n--------------`);
    });
  }

  async waitExit(timeoutMs = 10_000): Promise<{ exitCode: number; signal?: number }> {
    return waitFor('the program to exit', () => this.exitInfo, timeoutMs);
  }

  /** Kill what this driver started (by its own pid), if still running. */
  dispose(): void {
    if (!this.exitInfo) {
      try {
        process.kill(this.proc.pid, 'SIGKILL');
      } catch (err) {
        if ((err as NodeJS.ErrnoException).code !== 'ESRCH') throw err;
      }
    }
    this.term.dispose();
  }
}
