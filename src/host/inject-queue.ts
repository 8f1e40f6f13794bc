import type { InjectJobArgs } from '../protocol/host-link.js';

/** Every timing of an inject job, named with why it has its value (LESSONS.md has the measured behaviour). */
export interface InjectTimings {
  /** A local keystroke this recent means the user is typing: wait for a pause this long before injecting. */
  typingPauseMs: number;
  /** Give up (SESSION_BUSY) when the user has not paused for this long: never interleave with their typing. */
  typingDeferMaxMs: number;
  /** The text counts as taken once its end shows on the cursor line and the line has held still this long. */
  settleMs: number;
  /** When the end of the text never shows (a placeholder, a box border), the line must hold still this long. */
  settleNoTailMs: number;
  /** A program that shows no reaction at all within this is taken to have read the text silently (echo off). */
  noEchoMs: number;
  /** Hard bound on waiting for the text to be taken, plus consumePerKCharMs per 1,000 characters. */
  consumeMaxMs: number;
  consumePerKCharMs: number;
  /** Without bracketed paste, Enter this soon after a burst of characters is taken as a newline (Codex: ~120 ms). */
  burstGuardMs: number;
  /** How long to watch for the program's reaction to the Enter before reporting `entered` instead of `submitted`. */
  submitWatchMs: number;
  /** The program stopped reading input (kernel buffer full) for this long: fail instead of hanging. */
  writeStallMs: number;
  /** Polling interval while watching the screen or the write queue. */
  pollMs: number;
}

/** How often a job held by a person's half-typed line looks again (a key that clears it is seen within this). */
const DRAFT_POLL_MS = 50;

export const DEFAULT_INJECT_TIMINGS: InjectTimings = {
  typingPauseMs: 400,
  typingDeferMaxMs: 10_000,
  settleMs: 15,
  settleNoTailMs: 100,
  noEchoMs: 100,
  consumeMaxMs: 10_000,
  consumePerKCharMs: 100,
  burstGuardMs: 150,
  submitWatchMs: 2_000,
  writeStallMs: 10_000,
  pollMs: 3,
};

/**
 * The longest line a program reading in canonical mode can receive: Linux's line discipline keeps 4096 bytes and
 * needs one for the newline, and silently drops what comes beyond (measured: a 5,000-byte line arrives as its
 * first 4,095); BSD and macOS stop taking input a little under MAX_CANON (1,024).
 */
export const CANONICAL_LINE_MAX_BYTES = process.platform === 'linux' ? 4_095 : 1_020;

/** The prompt's longest line: its 1-based number and its size in UTF-8 bytes (what the kernel counts). */
export function longestLine(text: string): { line: number; bytes: number } {
  let best = { line: 1, bytes: 0 };
  text.split('\n').forEach((l, i) => {
    const bytes = Buffer.byteLength(l, 'utf8');
    if (bytes > best.bytes) best = { line: i + 1, bytes };
  });
  return best;
}

/** Characters per PTY write: large prompts go in pieces, each after the last has reached the kernel. */
export const WRITE_CHUNK_CHARS = 16 * 1024;

/** What the screen shows where input happens: compared before and after to see the program react. */
export interface CursorState {
  buffer: 'normal' | 'alternate';
  x: number;
  /** Absolute row (scrollback included), so scrolling counts as a change. */
  y: number;
  line: string;
}

/** The session as the queue sees it (SessionHost provides it; tests can too). */
export interface InjectTarget {
  write(data: string): void;
  writeQueueEmpty(): boolean;
  bracketedPaste(): boolean;
  cursorState(): Promise<CursorState>;
  lastInputAt(): number;
  /** A person has a half-typed line (printable keys since the last Enter, Ctrl-C, Ctrl-U, Esc…). */
  draftPending?(): boolean;
  exited(): boolean;
  /** Whether the program reads in the terminal's canonical mode (the kernel's line editor); null: cannot tell. */
  canonicalInput(): Promise<boolean | null>;
}

export type InjectOutcome =
  | { status: 'written' | 'entered' | 'submitted'; written_at: string; submitted_at: string | null }
  | { status: 'failed'; code: string; error: string; written_at: string | null; submitted_at: null };

export interface InjectEvents {
  written(injectId: string, at: string): void;
  done(injectId: string, outcome: InjectOutcome): void;
}

class JobFailure extends Error {
  constructor(
    readonly code: string,
    message: string,
  ) {
    super(message);
  }
}

const PASTE_START = '\x1b[200~';
const PASTE_END = '\x1b[201~';

function sameCursor(a: CursorState, b: CursorState): boolean {
  return a.buffer === b.buffer && a.x === b.x && a.y === b.y && a.line === b.line;
}

/** Characters of the text's end looked for on the cursor line (short: the line may be cut or wrapped). */
const TAIL_CHARS = 8;

/**
 * The last few characters of the text's last non-blank line, as a terminal would show them: after its last tab
 * (a terminal widens a tab to the next tab stop, so nothing across one can be matched).
 */
export function textTail(text: string): string {
  const lines = text.split('\n').map((l) => l.replace(/\s+$/, '')).filter((l) => l.length > 0);
  const last = lines[lines.length - 1] ?? '';
  return (last.split('\t').pop() ?? '').slice(-TAIL_CHARS);
}

/** Split at most `size` UTF-16 units without cutting a surrogate pair. */
export function chunkText(text: string, size: number): string[] {
  if (!Number.isInteger(size) || size < 2) throw new RangeError(`chunk size must be an integer >= 2, got ${size}`);
  const out: string[] = [];
  for (let i = 0; i < text.length; ) {
    let end = Math.min(text.length, i + size);
    const code = text.charCodeAt(end - 1);
    if (end < text.length && code >= 0xd800 && code <= 0xdbff) end--;
    out.push(text.slice(i, end));
    i = end;
  }
  return out;
}

/**
 * The per-session FIFO of inject jobs. A job is: wait for the user to pause typing; write the text (as a
 * bracketed paste when the program turned that mode on), in chunks that wait for the kernel; wait until the
 * program has taken it; write Enter alone; watch for the program's reaction. The next job starts only when this
 * one is done. While a job writes, other keystrokes (the user's, viewers') are held and sent after it.
 */
export class InjectQueue {
  private readonly jobs: InjectJobArgs[] = [];
  private running = false;
  /** The job being run (null between jobs, also while its done() callback runs). */
  private active: InjectJobArgs | null = null;
  private heldInput: string[] = [];
  /** True from the first byte of a job's text until its Enter has been answered or the watch ended. */
  holding = false;

  constructor(
    private readonly target: InjectTarget,
    private readonly events: InjectEvents,
    private readonly timings: InjectTimings,
    /** Where held keystrokes go when the job releases them. */
    private readonly release: (data: string) => void,
    private readonly now: () => number = Date.now,
  ) {}

  /** Queue a job; returns how many jobs are ahead of it (0: it starts now). */
  enqueue(job: InjectJobArgs): number {
    this.jobs.push(job);
    const position = this.jobs.length - 1 + (this.active ? 1 : 0);
    if (!this.running) void this.drain();
    return position;
  }

  /** Remove a job that has not started. */
  cancel(injectId: string): boolean {
    const i = this.jobs.findIndex((j) => j.inject_id === injectId);
    if (i < 0) return false;
    this.jobs.splice(i, 1);
    return true;
  }

  /** Keystrokes from the user or a viewer: held while a job is writing, so the two never interleave. */
  hold(data: string): boolean {
    if (!this.holding) return false;
    this.heldInput.push(data);
    return true;
  }

  get length(): number {
    return this.jobs.length + (this.active ? 1 : 0);
  }

  private async drain(): Promise<void> {
    this.running = true;
    try {
      for (let job = this.jobs.shift(); job; job = this.jobs.shift()) {
        let outcome: InjectOutcome;
        this.active = job;
        try {
          outcome = await this.run(job);
        } catch (err) {
          const f = err instanceof JobFailure ? err : new JobFailure('INTERNAL', `inject failed: ${(err as Error).message}`);
          outcome = { status: 'failed', code: f.code, error: f.message, written_at: null, submitted_at: null };
        } finally {
          this.holding = false;
          this.active = null;
          const held = this.heldInput.splice(0).join('');
          if (held) this.release(held);
        }
        this.events.done(job.inject_id, outcome);
      }
    } finally {
      this.running = false;
    }
  }

  private sleep(ms: number): Promise<void> {
    return new Promise((r) => setTimeout(r, Math.max(0, ms)));
  }

  private alive(): void {
    if (this.target.exited()) throw new JobFailure('SESSION_EXITED', 'the program exited before the prompt was delivered');
  }

  /**
   * Wait until nobody has typed for typingPauseMs and (unless the job is forced) nobody has a half-typed line;
   * fail with SESSION_BUSY after typingDeferMaxMs, nothing written.
   */
  private async waitForTypingPause(): Promise<void> {
    const t = this.timings;
    const start = this.now();
    const force = this.active?.force === true;
    for (;;) {
      const quietFor = this.now() - this.target.lastInputAt();
      const draft = !force && this.target.draftPending?.() === true;
      if (quietFor >= t.typingPauseMs && !draft) return;
      if (this.now() - start > t.typingDeferMaxMs) {
        const secs = Math.round(t.typingDeferMaxMs / 1000);
        throw new JobFailure(
          'SESSION_BUSY',
          draft && quietFor >= t.typingPauseMs
            ? `someone has a half-typed line in the session (typed without Enter) and it stayed for ${secs} s; the prompt was not written (send it with --force to type it after their text anyway)`
            : `someone kept typing in the session for ${secs} s; the prompt was not written`,
        );
      }
      await this.sleep(quietFor >= t.typingPauseMs ? DRAFT_POLL_MS : t.typingPauseMs - quietFor);
    }
  }

  /**
   * A program reading in canonical mode (no raw mode: `read`, `cat`, fgets) gets each line from the kernel's line
   * editor, which cuts a line longer than CANONICAL_LINE_MAX_BYTES without telling anyone. Such a prompt is refused
   * before anything is typed rather than delivered cut. Only a prompt with such a line makes the check (it asks
   * the terminal's settings); when they cannot be read the prompt goes as usual.
   */
  private async checkLineLimit(text: string): Promise<void> {
    const longest = longestLine(text);
    if (longest.bytes <= CANONICAL_LINE_MAX_BYTES) return;
    if ((await this.target.canonicalInput()) !== true) return;
    throw new JobFailure(
      'LINE_TOO_LONG',
      `the program reads lines in the terminal's canonical mode, which takes at most ${CANONICAL_LINE_MAX_BYTES} bytes per line, and line ${longest.line} of the prompt has ${longest.bytes}; nothing was typed (break the line, or pass the text as a file)`,
    );
  }

  private async writeAll(payload: string): Promise<void> {
    for (const chunk of chunkText(payload, WRITE_CHUNK_CHARS)) {
      this.alive();
      this.target.write(chunk);
      const since = this.now();
      while (!this.target.writeQueueEmpty()) {
        this.alive();
        if (this.now() - since > this.timings.writeStallMs) {
          throw new JobFailure('TIMEOUT', `the program stopped reading input for ${this.timings.writeStallMs} ms; part of the prompt may have been typed`);
        }
        await this.sleep(this.timings.pollMs);
      }
    }
  }

  /**
   * The program has taken the text: its cursor line shows the end of the text and has held still for settleMs
   * (or, when the end never shows, held still for settleNoTailMs: a program that stopped reacting), or it never
   * reacted within noEchoMs. A line that keeps changing means the program is still working through the text, so
   * only the hard bound ends the wait then. Returns when the program last reacted.
   */
  private async waitConsumed(before: CursorState, text: string): Promise<number> {
    const t = this.timings;
    const start = this.now();
    const bound = t.consumeMaxMs + (text.length / 1000) * t.consumePerKCharMs;
    const tail = textTail(text);
    let last = before;
    let changedAt = -1;
    for (;;) {
      this.alive();
      const now = this.now();
      const state = await this.target.cursorState();
      if (!sameCursor(state, last)) {
        last = state;
        changedAt = now;
      }
      const still = changedAt >= 0 ? now - changedAt : -1;
      if (still >= t.settleMs && tail !== '' && state.line.includes(tail)) return changedAt;
      if (still >= t.settleNoTailMs) return changedAt;
      if (changedAt < 0 && now - start >= t.noEchoMs) return start;
      if (now - start >= bound) return Math.max(changedAt, start);
      await this.sleep(t.pollMs);
    }
  }

  /**
   * Without bracketed paste the text was a burst of keys, and Enter must come burstGuardMs after the program's last
   * reaction to it. A reaction seen during the guard (a late echo) restarts it.
   */
  private async burstGuard(reactedAt: number): Promise<void> {
    let last = await this.target.cursorState();
    let since = reactedAt;
    while (this.now() - since < this.timings.burstGuardMs) {
      this.alive();
      await this.sleep(this.timings.pollMs);
      const state = await this.target.cursorState();
      if (!sameCursor(state, last)) {
        last = state;
        since = this.now();
      }
    }
  }

  /** The time the screen first reacted to the Enter, or null when it did not within submitWatchMs. */
  private async watchReaction(before: CursorState): Promise<number | null> {
    const start = this.now();
    while (this.now() - start < this.timings.submitWatchMs) {
      if (!sameCursor(await this.target.cursorState(), before)) return this.now();
      if (this.target.exited()) return null;
      await this.sleep(this.timings.pollMs);
    }
    return null;
  }

  private async run(job: InjectJobArgs): Promise<InjectOutcome> {
    await this.waitForTypingPause();
    if (!job.enter_only) await this.checkLineLimit(job.text);
    this.alive();
    this.holding = true;
    if (!job.enter_only) {
      const before = await this.target.cursorState();
      const bracketed = this.target.bracketedPaste();
      await this.writeAll(bracketed ? `${PASTE_START}${job.text}${PASTE_END}` : job.text);
      const reactedAt = await this.waitConsumed(before, job.text);
      if (job.no_enter) {
        const at = new Date(this.now()).toISOString();
        this.events.written(job.inject_id, at);
        return { status: 'written', written_at: at, submitted_at: null };
      }
      if (!bracketed) await this.burstGuard(reactedAt);
    }
    this.alive();
    const beforeEnter = await this.target.cursorState();
    this.target.write('\r');
    const writtenAt = new Date(this.now()).toISOString();
    this.events.written(job.inject_id, writtenAt);
    const reacted = await this.watchReaction(beforeEnter);
    return reacted === null
      ? { status: 'entered', written_at: writtenAt, submitted_at: null }
      : { status: 'submitted', written_at: writtenAt, submitted_at: new Date(reacted).toISOString() };
  }
}
