import type { InjectJobArgs } from '../protocol/host-link.js';
import { sleep as realSleep, Waiters } from '../util/async.js';
import { isoTime } from '../util/iso-time.js';
import { PROGRAMS, type ProgramProfile } from './programs.js';
import { afterPrompt, historyEndShows, historyOpening, historyShows, inputRows, markShows, newlineShows, placeholderIn, promptAgain, promptOf, showsTail, squeeze, squeezedLastLine, textEndAbove, typingRows } from './submit-evidence.js';

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
  /**
   * Bound on waiting, before a job types, for the previous submit to be over (its input row empty and still):
   * a program that keeps redrawing its input row still gets the next prompt after this long.
   */
  quietMaxMs: number;
  /**
   * Bound on waiting, before a job types, for the program's busy mark to go (its turn to end) and its input box to
   * show: then SESSION_BUSY, nothing typed. Absent: BUSY_MAX_MS.
   */
  busyMaxMs?: number;
}

/** A turn of an AI CLI may run for minutes; the longest an HTTP inject waits for its outcome (timeout_ms) is 10 min. */
export const BUSY_MAX_MS = 600_000;

/** How often a job held by a person's half-typed line looks again (a key that clears it is seen within this). */
const DRAFT_POLL_MS = 50;
/**
 * How often a job waiting for a busy program looks again: its turn's end is seen within this. The screen is read again
 * only when the program wrote something since the last read (lastOutputAt), so a turn of seconds costs few reads.
 */
const BUSY_POLL_MS = 3;

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
  quietMaxMs: 3_000,
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
  /** The rows right above the cursor row, nearest last (a few: an input box's text and border, a spinner above). */
  above?: readonly string[];
  /** The rows of the screen below the cursor row, top first (a program's footer: its busy mark). */
  below?: readonly string[];
  /** A synchronized-output frame (DEC mode 2026) is open: the program is midway through drawing a screen. */
  frameOpen?: boolean;
  /** How many synchronized-output frames the program has ended so far. */
  framesEnded?: number;
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
  /** The half-typed line was sent with `telepty keys` alone: an Enter alone (enter_only) submits it instead of waiting. */
  draftByKeysOnly?(): boolean;
  exited(): boolean;
  /** Whether the program reads in the terminal's canonical mode (the kernel's line editor); null: cannot tell. */
  canonicalInput(): Promise<boolean | null>;
  /** What the queue knows about the program (programs.ts); absent: PROGRAMS.other. */
  program?(): ProgramProfile;
  /** When the program last wrote output (ms, the queue's clock); absent: unknown, the row is watched instead. */
  lastOutputAt?(): number;
  /**
   * When the program's own hook (Claude Code's UserPromptSubmit) reported taking this very text as a prompt, at or
   * after `since` (the queue's clock); null when it has not (or no hooks report). The strongest proof of a submit.
   */
  hookSubmitted?(text: string, since: number): number | null;
}

/**
 * When the program was ready for the prompt (ISO time): the job had arrived, the previous prompt had left its box, and
 * no turn was running (the program's busy mark gone, its input box showing). What a job takes from there to its
 * `submitted_at` is telepty's part (its waits, plus the program's echo of the text and its reaction to the Enter); what
 * comes before is the program's own turn. Absent when it was not looked at (a job that failed before it).
 */
type ReadyAt = { ready_at?: string };

export type InjectOutcome =
  | ({ status: 'written' | 'submitted'; written_at: string; submitted_at: string | null } & ReadyAt)
  /** Enter was written and the submission was not seen: `seen` says what the screen showed instead. */
  | ({ status: 'entered'; written_at: string; submitted_at: null; seen: string } & ReadyAt)
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
  /** The last Enter a job wrote, and when the input row was last seen changing after it. */
  private lastEnter: {
    at: number;
    /** When the input row was last seen changing, and what it showed then (the watch for the proof follows it). */
    settledAt: number;
    state: CursorState;
    marks: readonly string[];
    unproven: readonly string[];
    /** The prompt left of where the text was typed (promptOf): its marks are looked for after it. */
    prompt: string;
    hookAt: number | null;
  } | null = null;
  /** The marks of the text a no_enter job left in the box, and its prompt, for the Enter alone that may follow. */
  private draft: { marks: readonly string[]; prompt: string } = { marks: [], prompt: '' };
  /** When each job was queued (the queue's clock), until it starts. */
  private readonly queuedAt = new Map<string, number>();
  /** The running job: when it was queued, when the program was seen ready for it (null: not now), whether looked at. */
  private ready: { queuedAt: number; at: number | null; looked: boolean } = { queuedAt: 0, at: null, looked: false };
  /**
   * When the program's busy mark (a turn running) was last seen, by any look at the screen (also the watch after an
   * Enter): a turn that started after the last Enter counts even when it ended before the next job looked.
   */
  private busySeenAt = -1;
  /** Since when the program's current synchronized-output frame has been open, as shownState saw it (-1: none). */
  private openFrame = { since: -1, ended: -1 };
  /** When the last job's submit was proven (or its watch ended): the earliest the program can be ready again. */
  private lastDoneAt = 0;
  /** Callers of settled() waiting for the queue to run dry. */
  private readonly idle = new Waiters();

  constructor(
    private readonly target: InjectTarget,
    private readonly events: InjectEvents,
    private readonly timings: InjectTimings,
    /** Where held keystrokes go when the job releases them. */
    private readonly release: (data: string) => void,
    private readonly now: () => number = Date.now,
    /** The queue's waits (polls, typing pauses): a test's clock may stand in. */
    private readonly sleep: (ms: number) => Promise<void> = realSleep,
  ) {}

  /** Queue a job; returns how many jobs are ahead of it (0: it starts now). */
  enqueue(job: InjectJobArgs): number {
    this.queuedAt.set(job.inject_id, this.now());
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
    this.queuedAt.delete(injectId);
    return true;
  }

  /** Keystrokes from the user or a viewer: held while a job is writing, so the two never interleave. */
  hold(data: string): boolean {
    if (!this.holding) return false;
    this.heldInput.push(data);
    return true;
  }

  /**
   * Resolves true once no job is running or queued (each one ended with its result: after the program exited, every
   * job fails at its next look), or false after maxMs.
   */
  settled(maxMs: number): Promise<boolean> {
    return this.running ? this.idle.wait(maxMs) : Promise.resolve(true);
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
      this.idle.wake();
    }
  }

  private alive(): void {
    if (this.target.exited()) throw new JobFailure('SESSION_EXITED', 'the program exited before the prompt was delivered');
  }

  /**
   * Wait until nobody has typed for typingPauseMs and (unless the job is forced) nobody has a half-typed line;
   * fail with SESSION_BUSY after typingDeferMaxMs, nothing written. Enter alone does not wait for a line sent with
   * `telepty keys` alone: it is what submits that line.
   */
  private async waitForTypingPause(): Promise<void> {
    const t = this.timings;
    const start = this.now();
    const force = this.active?.force === true;
    const enterOnly = this.active?.enter_only === true;
    for (;;) {
      this.alive();
      const quietFor = this.now() - this.target.lastInputAt();
      const byKeys = this.target.draftByKeysOnly?.() === true;
      const draft = !force && this.target.draftPending?.() === true && !(enterOnly && byKeys);
      if (quietFor >= t.typingPauseMs && !draft) return;
      if (this.now() - start > t.typingDeferMaxMs) {
        const secs = Math.round(t.typingDeferMaxMs / 1000);
        throw new JobFailure(
          'SESSION_BUSY',
          !draft || quietFor < t.typingPauseMs
            ? `someone kept typing in the session for ${secs} s; the prompt was not written`
            : byKeys
              ? `text sent with \`telepty keys\` is still in the input line (no Enter after it) and stayed for ${secs} s; the prompt was not written, so it does not merge into that text (submit the line with \`telepty enter\`, clear it with \`telepty keys <id> C-u\`, or send the prompt with --force to type it after that text)`
              : `someone has a half-typed line in the session (typed without Enter) and it stayed for ${secs} s; the prompt was not written (send it with --force to type it after their text anyway)`,
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
   * The screen as the program means it to be seen: a read while it is midway through a synchronized-output frame
   * (DEC mode 2026: a terminal shows nothing of it until it ends) waits for that frame to end. OpenCode 1.18.33 draws
   * every screen in frames, some split over two PTY reads; caught midway, its cursor sat on a conversation row that
   * showed the same words as the prompt, which was taken for the echo: the Enter went before OpenCode had handled the
   * paste, was lost, and the next prompt merged into the text (test:agents, 2 of 120 queued). A frame open for
   * SYNC_FRAME_MAX_MS is read as it is (a program may leave the mode on).
   */
  private async shownState(): Promise<CursorState> {
    for (;;) {
      const state = await this.target.cursorState();
      if (state.frameOpen !== true) {
        this.openFrame.since = -1;
        return state;
      }
      const ended = state.framesEnded ?? 0;
      if (this.openFrame.since < 0 || this.openFrame.ended !== ended) this.openFrame = { since: this.now(), ended };
      if (this.now() - this.openFrame.since >= SYNC_FRAME_MAX_MS) return state;
      await this.sleep(this.timings.pollMs);
    }
  }

  private profile(): ProgramProfile {
    return this.target.program?.() ?? PROGRAMS.other;
  }

  /**
   * Whether the program is ready for the prompt, by what it shows: the previous prompt's text is gone from its box, no
   * busy mark (a turn running), its input box showing, and after a proven submit its turn has started (its busy mark
   * seen) or busyAppearMs passed. Only the program's side: telepty's own intervals (the row still, the quiet after a
   * submit) do not count. Noted for `ready_at`: the moment it last became so; when it already was at the first look,
   * the earliest it can have been (the job's arrival, or the previous job's proof). Returns what keeps the program
   * from taking a prompt now, the previous prompt's leftover aside (what waitReady waits on).
   */
  private noteReady(state: CursorState, profile: ProgramProfile): ProgramWait {
    // A program that queues what is submitted during its turn (queuesWhileBusy) takes a prompt while its mark shows,
    // but not while it holds one already when it would send the two as one message (queuedMark).
    const busy = (this.busyShows(state, profile) && !profile.queuesWhileBusy) || showsOnScreen(state, profile.queuedMark);
    const last = this.lastEnter;
    const turnFrom = last && last.unproven.length === 0 && profile.busy ? last.at : null;
    const turnToCome = turnFrom !== null && this.busySeenAt < turnFrom && this.now() - turnFrom < profile.busyAppearMs;
    const noBox = !onInputRow(state, profile);
    const ok = !busy && !noBox && !turnToCome && !(last !== null && this.leftover(state, last.marks, profile, last.prompt));
    if (!ok) this.ready.at = null;
    else if (this.ready.at === null) this.ready.at = this.ready.looked ? this.now() : Math.max(this.ready.queuedAt, this.lastDoneAt);
    this.ready.looked = true;
    return { busy, noBox, turnToCome };
  }

  /** The program's busy mark shows on the cursor row, the rows above it or below it (noted in busySeenAt). */
  private busyShows(state: CursorState, profile: ProgramProfile): boolean {
    const busy = showsOnScreen(state, profile.busy);
    if (busy) this.busySeenAt = this.now();
    return busy;
  }

  /**
   * The previous job is over before this one types: its submit was proven when the input row was empty again, and
   * now that row must have held still for ROW_STILL_AFTER_SUBMIT_MS and the program's quietAfterSubmitMs must have
   * passed since the Enter (a program finishing a submit resets its box and would wipe or absorb a paste), or, when
   * the program's hook proved the submit, its quietAfterHookMs since that report with the text gone from the box, all
   * bounded by quietMaxMs. No output at all for that long means the row is still without watching it. When the
   * previous Enter was not proven and its text is still in the box, a prompt is not typed after it (it would merge):
   * after quietMaxMs the job fails with SESSION_BUSY, nothing typed.
   */
  private async waitPreviousOver(profile: ProgramProfile, enterOnly: boolean): Promise<void> {
    const last = this.lastEnter;
    if (!last) return;
    const start = this.now();
    // The watch for the proof already saw the row up to its end: a change since then restarts the still interval.
    let state = last.state;
    let changedAt = last.settledAt;
    const first = await this.shownState();
    if (!sameCursor(first, state)) {
      state = first;
      changedAt = this.now();
    }
    for (;;) {
      this.alive();
      this.noteReady(state, profile);
      const now = this.now();
      const outputAt = this.target.lastOutputAt?.();
      // After an Enter whose submit was not seen, a box shown without its text must hold so: one screen may be caught
      // mid-redraw (Gemini CLI paused 150 ms every 500 ms merged the next prompt into such a leftover).
      const ownStillMs = (last.hookAt !== null ? profile.rowStillAfterHookMs : profile.rowStillAfterSubmitMs) ?? ROW_STILL_AFTER_SUBMIT_MS;
      const stillMs = last.unproven.length > 0 ? Math.max(ownStillMs, ROW_STILL_AFTER_SUBMIT_MS) : ownStillMs;
      const still = now - changedAt >= stillMs || (outputAt !== undefined && now - outputAt >= stillMs);
      // Enter alone types nothing: it may be just what submits the text left in the box.
      const leftover = !enterOnly && this.leftover(state, last.unproven, profile, last.prompt);
      // The program's own hook said it took the prompt: its quietAfterHookMs counts from that report instead, and the
      // box must show the reset (the text gone from the input rows): a hook may report before the program clears its box.
      const byHook = last.hookAt !== null && profile.quietAfterHookMs !== null;
      const quiet = byHook ? now - (last.hookAt ?? 0) >= (profile.quietAfterHookMs ?? 0) && !this.leftover(state, last.marks, profile, last.prompt) : now - last.at >= profile.quietAfterSubmitMs;
      if (still && !leftover && quiet) return;
      if (now - start >= this.timings.quietMaxMs) {
        if (!leftover) return;
        throw new JobFailure(
          'SESSION_BUSY',
          'the previous prompt is still in the input box (entered, its submission not seen); nothing was typed, so it does not merge into that one: clear the box or press Enter there, then retry',
        );
      }
      await this.sleep(this.timings.pollMs);
      const next = await this.shownState();
      if (!sameCursor(next, state)) {
        state = next;
        changedAt = this.now();
      }
    }
  }

  /**
   * The program can take a prompt: its busy mark (a turn running, programs.ts) shows neither on the cursor row nor
   * near it (the rows above it, a footer below it), unless it queues what is submitted meanwhile (queuesWhileBusy), and
   * its queue of such prompts does not show (queuedMark); the cursor is on its input box's row; after a proven
   * submit, the busy mark has shown (the turn started) or busyAppearMs has passed since that Enter. A prompt typed
   * otherwise is lost or merged, so the job waits, bounded by busyMaxMs; then SESSION_BUSY, nothing typed.
   */
  private async waitReady(profile: ProgramProfile): Promise<void> {
    if (!profile.busy && !profile.inputRow) return;
    const start = this.now();
    const bound = this.timings.busyMaxMs ?? BUSY_MAX_MS;
    let state: CursorState | null = null;
    let readAt = 0;
    for (;;) {
      this.alive();
      // Only output changes the screen: without any since the last read, that read still holds.
      const outputAt = this.target.lastOutputAt?.();
      if (state === null || outputAt === undefined || outputAt >= readAt) {
        readAt = this.now();
        state = await this.shownState();
      }
      // A proven submit starts a turn: its busy mark may take seconds to show (busyAppearMs, in noteReady).
      const { busy, noBox, turnToCome } = this.noteReady(state, profile);
      if (!busy && !noBox && !turnToCome) return;
      if (this.now() - start >= bound) {
        const secs = Math.round(bound / 1000);
        throw new JobFailure(
          'SESSION_BUSY',
          busy
            ? `the program stayed busy (its turn still running) for ${secs} s; the prompt was not written (it would be lost or merged)`
            : `the program showed no input box for ${secs} s; the prompt was not written`,
        );
      }
      await this.sleep(BUSY_POLL_MS);
    }
  }

  /**
   * The text of an Enter whose submission was not seen still shows where the next prompt would go: in the box of a
   * known program, on the cursor row of any other (whose rows above may be history).
   */
  private leftover(state: CursorState, marks: readonly string[], profile: ProgramProfile, prompt: string): boolean {
    if (marks.length === 0) return false;
    const rows = profile.name === 'other' || profile.lineEditor ? [afterPrompt(state.line, prompt)] : typingRows(state, profile.boxRowsAbove, prompt);
    return marks.some((m) => markShows(rows, m));
  }

  /**
   * The program has taken the text: the end of the text (or the program's placeholder for a paste) shows in the
   * input row, which has held still for settleMs. When neither ever shows but the row changed and then held still
   * for the profile's stillNoTextMs, that row is what the text looks like. Only a program not known to echo is
   * taken to read silently when it shows nothing within noEchoMs; for one that echoes only the hard bound ends the
   * wait (the Enter then goes, and the outcome says whether it was submitted).
   */
  private async waitTaken(before: CursorState, text: string, profile: ProgramProfile): Promise<Taken> {
    const t = this.timings;
    const start = this.now();
    const bound = t.consumeMaxMs + (text.length / 1000) * t.consumePerKCharMs;
    const tail = textTail(text);
    const stillNoText = profile.echoes ? Math.max(t.settleNoTailMs, STILL_NO_TEXT_MS) : t.settleNoTailMs;
    const placeholdersBefore = placeholderIn(inputRows(before, profile.boxRowsAbove), profile.placeholder);
    /** The cursor row before the text was written, for a program that echoes (null: any row may be its echo). */
    const rowBefore = profile.echoes ? before.line.trim() : null;
    let last = before;
    let changedAt = -1;
    let shownAt = -1;
    for (;;) {
      this.alive();
      const now = this.now();
      const state = await this.shownState();
      if (!sameCursor(state, last)) {
        last = state;
        changedAt = now;
      }
      const still = changedAt >= 0 ? now - changedAt : -1;
      const placeholder = placeholderIn(inputRows(state, profile.boxRowsAbove), profile.placeholder);
      // The cursor on a row of the program's input box (inputRow): one parked elsewhere mid-redraw (OpenCode's, on a
      // conversation row showing the same words) tells nothing of what the box took.
      const onBoxRow = onInputRow(state, profile);
      // Only a change since the text was written can show it (the same words may have been there before).
      const mark = changedAt < 0 || !onBoxRow ? null : showsTail(state, tail) ? tail : placeholder !== null && placeholder !== placeholdersBefore ? placeholder : null;
      if (mark !== null) {
        if (shownAt < 0) shownAt = changedAt >= 0 ? changedAt : now;
        if (still >= (profile.echoSettleMs ?? t.settleMs)) return { how: mark === tail ? 'text' : 'placeholder', at: shownAt, lastChangeAt: Math.max(changedAt, start), marks: [mark] };
      } else shownAt = -1;
      // A box still showing the hint it draws only while empty (emptyBoxHint) has not taken the text, however still;
      // nor has one whose cursor row reads as before the text was written, for a program that echoes: what changed
      // was elsewhere (a spinner, the layout moving the box), not the text.
      const empty = profile.emptyBoxHint !== null && profile.emptyBoxHint.test(state.line);
      const rowAsBefore = rowBefore !== null && state.line.trim() === rowBefore;
      if (still >= stillNoText && onBoxRow && !empty && !rowAsBefore) return { how: 'still', at: changedAt, lastChangeAt: changedAt, marks: rowMarks(state, before) };
      if (!profile.echoes && changedAt < 0 && now - start >= t.noEchoMs) return { how: 'silent', at: start, lastChangeAt: start, marks: [] };
      if (now - start >= bound) return { how: 'bound', at: now, lastChangeAt: Math.max(changedAt, start), marks: tail ? [tail] : rowMarks(state, before) };
      await this.sleep(t.pollMs);
    }
  }

  /**
   * Enter goes only once the program can take it as a submit: after a bracketed paste, pasteEnterMs after the
   * text showed (Gemini takes an Enter within ~40 ms of a paste as a newline); after a burst of keys, the burst
   * guard after the program's last reaction to it (restarted by a late echo).
   */
  private async settleBeforeEnter(taken: Taken, bracketed: boolean, profile: ProgramProfile): Promise<void> {
    if (bracketed) {
      const wait = taken.at + profile.pasteEnterMs - this.now();
      if (wait > 0) await this.sleep(wait);
      return;
    }
    const guard = Math.max(this.timings.burstGuardMs, profile.burstEnterMs);
    let last = await this.shownState();
    let since = taken.lastChangeAt;
    while (this.now() - since < guard) {
      this.alive();
      await this.sleep(this.timings.pollMs);
      const state = await this.shownState();
      if (!sameCursor(state, last)) {
        last = state;
        since = this.now();
      }
    }
  }

  /**
   * Proof that the program took the line as a turn: the input row changed after the Enter and none of the text's
   * marks shows there any more (nor in the box rows above it, where a newline inside the box would have left it):
   * the text left the box, into the conversation or by a reset. A line editor's submitted line stays above as
   * history, so only its cursor row counts. A program that never showed the text (it reads silently) has only
   * the row's change to go by. Returns when the proof was seen, or what was seen instead after submitWatchMs.
   */
  private async watchSubmit(beforeEnter: CursorState, typed: { marks: readonly string[]; prompt: string }, lastLine: string, profile: ProgramProfile, text: string, pasted: boolean): Promise<Watched> {
    const { marks, prompt } = typed;
    const start = this.now();
    let changed = false;
    let state = beforeEnter;
    /** Asked once, only for a program of no known kind whose text left the cursor row but shows above it. */
    let canonical: boolean | null = null;
    /** Since when the screen has shown the text gone (-1: it does not now); proof once that lasts SUBMIT_PROOF_STILL_MS. */
    let goneAt = -1;
    const watchMs = Math.max(this.timings.submitWatchMs, profile.submitWatchMs);
    /** Since when the screen has shown the Enter taken as a newline (-1: it does not now); see newlineShows. */
    let newlineAt = -1;
    /** The program has exited and the screen was read once more since (its last output parsed). */
    let lookedAfterExit = false;
    const undoable = profile.enterRetryMs.length > 0 && marks.length > 0;
    /** The row as last seen and when it last changed (the next job's still interval counts from there). */
    let seen = beforeEnter;
    let seenChangedAt = start;
    const row = (): { state: CursorState; changedAt: number } => ({ state: seen, changedAt: seenChangedAt });
    /** The program's queue showed before the Enter: its showing now is no sign of this prompt. */
    const queuedBefore = showsOnScreen(beforeEnter, profile.queuedMark);
    /** How the conversation shows this prompt once submitted (historyRow), looked for on rows that did not show it. */
    const opening = profile.historyRow !== null ? historyOpening(text) : null;
    /** A prompt the box showed only as a placeholder: its end showing in the conversation proves it too (historyEndShows). */
    const pastedEnd = profile.historyRow !== null && pasted && text !== '' ? text : null;
    while (this.now() - start < watchMs + (goneAt >= 0 ? SUBMIT_PROOF_STILL_MS : 0)) {
      // The program said so itself (issue 25: "or a hook says so"): no need to wait for its screen to settle. The
      // next job still waits for the input row to be empty and still (waitPreviousOver).
      const hooked = text === '' ? null : (this.target.hookSubmitted?.(text, start) ?? null);
      if (hooked !== null) return { at: hooked, hook: true, ...row() };
      state = await this.shownState();
      if (!sameCursor(state, seen)) {
        seen = state;
        seenChangedAt = this.now();
      }
      // The turn this Enter started may show (and end) before the next job looks (busyAppearMs).
      this.busyShows(state, profile);
      let gone = false;
      const moved = !sameCursor(state, beforeEnter);
      if (moved) changed = true;
      // Only the input box can show the text gone: not a cursor parked elsewhere mid-redraw (inputRow), nor a box
      // that shows the program's placeholder for a paste (the text is still in it: OpenCode took an Enter sent while
      // it was still handling a 4,884-character paste as nothing, and showed "[Pasted ~25 lines]").
      if (moved && onInputRow(state, profile) && placeholderIn([state.line], profile.placeholder) === null) {
        const onRow = marks.some((m) => markShows([afterPrompt(state.line, prompt)], m));
        const inBox = marks.some((m) => markShows(typingRows(state, profile.boxRowsAbove, prompt), m)) || (profile.boxRowsAbove > 0 && textEndAbove(state, lastLine));
        const rowBased = profile.lineEditor || profile.name === 'other';
        if (marks.length === 0 || (rowBased && promptAgain(state, beforeEnter, prompt)) || (!onRow && (profile.lineEditor || !inBox))) gone = true;
        // A canonical-mode reader (the kernel's line editor) always ends the line on Enter; its echo stays above.
        else if (!onRow && profile.name === 'other') {
          canonical ??= (await this.target.canonicalInput()) === true;
          gone = canonical;
        }
      }
      // The program shows it queued the prompt (a newline, or a screen caught mid-redraw, never does): proof at once.
      if (gone && !queuedBefore && showsOnScreen(state, profile.queuedMark)) return { at: this.now(), ...row() };
      // The prompt moved into the conversation above the box (a newline, or a screen caught mid-redraw, never does).
      if (gone && opening !== null && historyShows(state, beforeEnter, profile.historyRow, profile.boxRowsAbove, opening)) return { at: this.now(), ...row() };
      if (gone && pastedEnd !== null && historyEndShows(state, beforeEnter, profile.boxRowsAbove, pastedEnd)) return { at: this.now(), ...row() };
      if (!gone) goneAt = -1;
      else if (goneAt < 0) goneAt = this.now();
      // A program that draws in synchronized frames (framedScreen), read between two frames after one ended since the
      // Enter: the screen is one it meant to show, not a redraw caught midway (the only reason the text must stay gone).
      if (gone && goneAt >= 0 && wholeFrameSince(state, beforeEnter, profile)) return { at: goneAt, ...row() };
      // A program that takes an early Enter as a newline (Gemini): once that shows, held still, it is undone and retried.
      if (!undoable || gone || sameCursor(state, beforeEnter) || !newlineShows(state, marks, lastLine)) newlineAt = -1;
      else if (newlineAt < 0) newlineAt = this.now();
      else if (this.now() - newlineAt >= SUBMIT_PROOF_STILL_MS) return { seen: 'the Enter was taken as a newline in the input box (the text above a new empty row)', newline: true, ...row() };
      // One screen is not proof: it may be caught mid-redraw (Ink erases the box, then draws it again with a newline).
      // Nor is a blank input row from a program that draws a hint in its empty box (Gemini): that is its box erased
      // mid-redraw, however long a loaded machine holds it there (a CI run's false `submitted`, its redraw 15 ms late).
      const erasedBox = profile.emptyBoxHint !== null && state.line.trim() === '';
      if (gone && !erasedBox && (marks.length === 0 || this.now() - goneAt >= SUBMIT_PROOF_STILL_MS)) return { at: goneAt, ...row() };
      // The text left the box and the program then ended (`exit` in a shell, /quit in an agent): it took the line, and
      // no redraw can follow that the still interval would guard against. One more look first: the screen read just
      // now may predate the program's last output.
      if (this.target.exited()) {
        if (gone) return { at: goneAt, ...row() };
        if (lookedAfterExit) return { seen: 'the program exited after the Enter', ...row() };
        lookedAfterExit = true;
        continue;
      }
      await this.sleep(this.timings.pollMs);
    }
    const ms = watchMs;
    if (!changed) return { seen: `the input row did not change within ${ms} ms of the Enter`, ...row() };
    const where = state.line.trim().slice(-60);
    return { seen: `the text still showed in the input box ${ms} ms after the Enter (a newline in the box, or not taken); the input row: ${JSON.stringify(where)}`, ...row() };
  }

  /**
   * Take out the newline an Enter put into the box: one Backspace, then wait until the text's end (or its
   * placeholder) is back on the cursor row and has held still settleMs. False when it does not come back within
   * UNDO_NEWLINE_MAX_MS (the Enter is then not sent again).
   */
  private async undoNewline(marks: readonly string[]): Promise<boolean> {
    this.alive();
    this.target.write(BACKSPACE);
    const start = this.now();
    let last = await this.shownState();
    let changedAt = start;
    for (;;) {
      await this.sleep(this.timings.pollMs);
      this.alive();
      const state = await this.shownState();
      if (!sameCursor(state, last)) {
        last = state;
        changedAt = this.now();
      }
      const back = squeeze(state.line) !== '' && marks.some((m) => markShows([state.line], m) || showsTail(state, m));
      if (back && this.now() - changedAt >= this.timings.settleMs) return true;
      if (this.now() - start >= UNDO_NEWLINE_MAX_MS) return false;
    }
  }

  private async run(job: InjectJobArgs): Promise<InjectOutcome> {
    this.ready = { queuedAt: this.queuedAt.get(job.inject_id) ?? this.now(), at: null, looked: false };
    this.queuedAt.delete(job.inject_id);
    await this.waitForTypingPause();
    if (!job.enter_only) await this.checkLineLimit(job.text);
    this.alive();
    const profile = this.profile();
    await this.waitPreviousOver(profile, job.enter_only);
    if (!job.enter_only) await this.waitReady(profile);
    const readyAt = isoTime(this.ready.at ?? this.ready.queuedAt);
    this.holding = true;
    let marks: readonly string[] = [];
    let prompt = '';
    /** The box showed the text only as the program's placeholder. */
    let pasted = false;
    if (!job.enter_only) {
      const before = await this.shownState();
      prompt = promptOf(before);
      const bracketed = this.target.bracketedPaste();
      await this.writeAll(bracketed ? `${PASTE_START}${job.text}${PASTE_END}` : job.text);
      const taken = await this.waitTaken(before, job.text, profile);
      if (job.no_enter) {
        this.draft = { marks: taken.marks, prompt };
        const at = isoTime(this.now());
        this.events.written(job.inject_id, at);
        this.lastDoneAt = this.now();
        return { status: 'written', written_at: at, submitted_at: null, ready_at: readyAt };
      }
      await this.settleBeforeEnter(taken, bracketed, profile);
      marks = taken.marks;
      pasted = taken.how === 'placeholder';
    } else {
      // Enter alone (after --no-enter): the draft that job typed, if the input rows still show it; otherwise the
      // text is not known and only the row's change can be seen.
      const now = await this.shownState();
      prompt = this.draft.prompt;
      marks = this.draft.marks.filter((m) => markShows(typingRows(now, profile.boxRowsAbove, prompt), m));
    }
    this.draft = { marks: [], prompt: '' };
    this.alive();
    const beforeEnter = await this.shownState();
    this.target.write('\r');
    const enteredAt = this.now();
    const writtenAt = isoTime(enteredAt);
    this.events.written(job.inject_id, writtenAt);
    const lastLine = job.enter_only ? '' : squeezedLastLine(job.text);
    const text = job.enter_only ? '' : job.text;
    let result = await this.watchSubmit(beforeEnter, { marks, prompt }, lastLine, profile, text, pasted);
    // An Enter taken as a newline (Gemini, too soon after a paste): Backspace takes the newline out again, and the
    // Enter is sent again after the profile's next wait; bounded by enterRetryMs, then `entered` with the text as typed.
    for (let retry = 0; 'newline' in result && result.newline; retry++) {
      const back = await this.undoNewline(marks);
      const wait = profile.enterRetryMs[retry];
      if (!back || wait === undefined) {
        result = { seen: `the text still showed in the input box after ${retry + 1} Enters, each taken as a newline in the box (each undone with a Backspace)`, state: await this.shownState(), changedAt: this.now() };
        break;
      }
      await this.sleep(wait);
      this.alive();
      const before = await this.shownState();
      this.target.write('\r');
      result = await this.watchSubmit(before, { marks, prompt }, lastLine, profile, text, pasted);
    }
    // The next job's still interval counts from the row's last change the watch saw, not from the watch's end: the
    // proof's own still interval (the text gone 30 ms) is then not waited for a second time when the row held still.
    this.lastEnter = {
      at: enteredAt,
      settledAt: result.changedAt,
      state: result.state,
      marks,
      unproven: 'at' in result ? [] : marks,
      prompt,
      hookAt: 'at' in result && result.hook === true ? result.at : null,
    };
    this.lastDoneAt = 'at' in result ? result.at : this.now();
    return 'at' in result
      ? { status: 'submitted', written_at: writtenAt, submitted_at: isoTime(result.at), ready_at: readyAt }
      : { status: 'entered', written_at: writtenAt, submitted_at: null, seen: result.seen, ready_at: readyAt };
  }
}

/** Why a program is not ready for a prompt: a turn running (its busy mark), no input box, a turn not yet showing. */
type ProgramWait = { busy: boolean; noBox: boolean; turnToCome: boolean };

/** What watching for the submit found: the proof, or what was seen instead (`newline`: an Enter taken as one). */
type Watched = ({ at: number; hook?: boolean } | { seen: string; newline?: boolean }) & {
  /** The input row as the watch last saw it, and when it last changed. */
  state: CursorState;
  changedAt: number;
};

/**
 * The screen is a whole frame the program drew after `before`: it draws in synchronized frames (framedScreen), none is
 * open now, and at least one ended since `before` was read.
 */
function wholeFrameSince(state: CursorState, before: CursorState, profile: ProgramProfile): boolean {
  return profile.framedScreen && state.frameOpen === false && (state.framesEnded ?? 0) > (before.framesEnded ?? 0);
}

/** The cursor is on a row of the program's input box (any row, for a program whose box is not known: inputRow null). */
function onInputRow(state: CursorState, profile: ProgramProfile): boolean {
  return profile.inputRow === null || profile.inputRow.test(state.line);
}

/** The pattern shows on the cursor row, the rows above it or the rows below it. */
function showsOnScreen(state: CursorState, pattern: RegExp | null): boolean {
  return pattern !== null && [...(state.above ?? []), state.line, ...(state.below ?? [])].some((r) => pattern.test(r));
}

/** The key that takes out the character before the cursor (xterm's Backspace: DEL). */
const BACKSPACE = '\x7f';
/**
 * After a Backspace that undoes a newline, the text must be back on the cursor row within this: longer than the
 * 150 ms pauses issue 25's programs were run under, with margin.
 */
const UNDO_NEWLINE_MAX_MS = 2_000;

/**
 * A synchronized-output frame open this long is read as it is: longer than the 150 ms pauses issue 25's programs were
 * run under (a program stopped mid-frame), with margin; terminals give up on a frame after 150 ms to 1 s.
 */
const SYNC_FRAME_MAX_MS = 300;

/** After a submit the input row must hold still this long before the next prompt: its redraw is over. */
const ROW_STILL_AFTER_SUBMIT_MS = 30;
/**
 * The text must stay gone from the input rows this long after the Enter to prove a submit: a screen caught between
 * the two writes of a redraw (Gemini CLI 0.61's Ink erases its box, then draws it again with a newline in it, 10-20
 * ms later on a busy machine) shows the text gone for a moment (issue 25: a false `submitted`).
 */
export const SUBMIT_PROOF_STILL_MS = 30;

/** What a job saw of its text before the Enter. */
interface Taken {
  how: 'text' | 'placeholder' | 'still' | 'silent' | 'bound';
  /** When the text (or what stands for it) first showed. */
  at: number;
  /** When the input row last changed before the Enter. */
  lastChangeAt: number;
  /** What identifies the text on the screen: it must be gone from the input row for a submission. */
  marks: string[];
}

/**
 * For a program that echoes, a row that changed after the text was written but shows neither its end nor a known
 * placeholder is taken as the text only after holding still this long: longer than the 150 ms pauses issue 25's
 * programs were run under (a half-drawn echo is not taken for the whole), with margin.
 */
const STILL_NO_TEXT_MS = 400;

/** The row the text showed on, as its mark, when it differs from the row before the text was written. */
function rowMarks(state: CursorState, before: CursorState): string[] {
  const row = state.line.trim();
  return row !== '' && row !== before.line.trim() ? [row] : [];
}
