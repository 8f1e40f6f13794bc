import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import {
  CANONICAL_LINE_MAX_BYTES,
  chunkText,
  InjectQueue,
  longestLine,
  SUBMIT_PROOF_STILL_MS,
  textTail,
  WRITE_CHUNK_CHARS,
  type CursorState,
  type InjectEvents,
  type InjectOutcome,
  type InjectTarget,
  type InjectTimings,
} from '../../../src/terminal/inject-queue.js';
import { PROGRAMS, type ProgramProfile } from '../../../src/terminal/programs.js';
import type { InjectJobArgs } from '../../../src/protocol/host-link.js';

/**
 * Small timings (the clock is vitest's fake one: a test's time passes only as its jobs wait, so the margins
 * below hold exactly on any machine). Every test that depends on a ratio between two timings says so; a few
 * override one value to make two behaviours distinguishable.
 */
const T: InjectTimings = {
  typingPauseMs: 50,
  typingDeferMaxMs: 200,
  settleMs: 5,
  settleNoTailMs: 20,
  noEchoMs: 20,
  consumeMaxMs: 1000,
  consumePerKCharMs: 0,
  burstGuardMs: 40,
  submitWatchMs: 100,
  writeStallMs: 100,
  pollMs: 1,
  quietMaxMs: 200,
};

/**
 * How early a sleep may end in Date.now terms. None: setTimeout and Date.now are the same fake clock here (with
 * real timers, a sleep the queue does not re-check against Date.now, the burst guard, could end 1-2 ms early).
 */
const TIMER_SLACK_MS = 0;

/** Every queue test takes well under a second: a regression that hangs a job fails in 5 s, not the 60 s default. */
const QUEUE_TESTS = { timeout: 5_000 };
/** Fake time a test may let pass while it awaits jobs: far beyond any job's bounds (quietMaxMs, consumeMaxMs ...). */
const FAKE_TIME_BOUND_MS = 60_000;

/**
 * The queue and the fake program run on vitest's fake timers (setTimeout and Date; the queue's default clock is
 * Date.now, read when it is built): time moves only when a test lets it, one millisecond at a time, each timer
 * firing at its exact time with every promise it settles run before the next. Nothing depends on machine load.
 */
beforeEach(() => {
  vi.useFakeTimers({ toFake: ['setTimeout', 'clearTimeout', 'setInterval', 'clearInterval', 'Date'] });
});

const PASTE_START = '\x1b[200~';
const PASTE_END = '\x1b[201~';
const BACKSPACE = '\x7f';
const PROMPT = '> ';

interface Write {
  data: string;
  at: number;
  /** Position in the shared event log (orders writes against done/release without relying on clocks). */
  seq: number;
}

interface Reaction {
  line: string;
  at: number;
}

interface FakeOptions {
  bracketedPaste: boolean;
  /** What the program shows after taking text: the text itself, nothing, or a placeholder. */
  echo: 'text' | 'none' | 'placeholder';
  echoDelayMs: number;
  /** Reveal the text in this many steps, echoStepMs apart (a program working through a burst of keys). */
  echoSteps: number;
  echoStepMs: number;
  placeholder: string;
  /** Clear the input line (and move down a row) this long after a '\r'; null: never react to Enter. */
  submitDelayMs: number | null;
  /** After each write, writeQueueEmpty() answers false this many times (the kernel buffer draining). */
  drainPolls: number;
  /** writeQueueEmpty() is always false: the program stopped reading. */
  stalled: boolean;
  /** What canonicalInput() answers: the program reads in canonical mode (true), raw (false), unknown (null). */
  canonical: boolean | null;
  /** What program() answers (null: the method is absent, the queue assumes PROGRAMS.other). */
  profile: ProgramProfile | null;
  /** An Enter this soon after the last text write is a newline in the box (the text moves up a row), as in Gemini. */
  newlineWithinMs: number;
}

const DEFAULT_FAKE: FakeOptions = {
  bracketedPaste: true,
  echo: 'text',
  echoDelayMs: 2,
  echoSteps: 1,
  echoStepMs: 0,
  placeholder: '[Pasted text #1]',
  submitDelayMs: 5,
  drainPolls: 0,
  stalled: false,
  canonical: false,
  profile: null,
  newlineWithinMs: 0,
};

/** One shared, ordered log of what happened (writes, written/done events, releases). */
class Log {
  readonly entries: string[] = [];
  add(entry: string): number {
    this.entries.push(entry);
    return this.entries.length - 1;
  }
}

const liveFakes = new Set<FakeProgram>();

/** A program behind a PTY, as the queue sees it: records writes, echoes into a cursor line, reacts to Enter. */
class FakeProgram implements InjectTarget {
  readonly opts: FakeOptions;
  readonly writes: Write[] = [];
  readonly reactions: Reaction[] = [];
  /** Writes that arrived while the previous write had not yet drained (must stay empty). */
  readonly writesWhileBusy: string[] = [];
  lastInput = 0;
  isExited = false;
  /** Enters the program took as a newline in its box. */
  newlines = 0;
  /** Backspaces written (each takes the last newline out again). */
  backspaces = 0;
  /** The screen before the last newline, for a Backspace to bring back. */
  private beforeNewline: CursorState | null = null;
  /** How often the queue asked for the terminal's mode. */
  canonicalAsked = 0;
  /** Called synchronously inside write(), after recording it. */
  onWrite: ((data: string) => void) | null = null;
  private buffer = '';
  private state: CursorState = { buffer: 'normal', x: PROMPT.length, y: 10, line: PROMPT };
  private pendingPolls = 0;
  private readonly timers = new Set<NodeJS.Timeout>();

  constructor(
    private readonly log: Log,
    opts: Partial<FakeOptions> = {},
  ) {
    this.opts = { ...DEFAULT_FAKE, ...opts };
    liveFakes.add(this);
  }

  write(data: string): void {
    if (this.pendingPolls > 0 || this.opts.stalled) this.writesWhileBusy.push(data);
    const seq = this.log.add(`write:${JSON.stringify(data.length > 40 ? `${data.slice(0, 20)}…` : data)}`);
    this.writes.push({ data, at: Date.now(), seq });
    this.pendingPolls = this.opts.drainPolls;
    this.onWrite?.(data);
    if (data === BACKSPACE) {
      // Takes the newline out again: the text is back on the cursor row.
      this.backspaces++;
      const before = this.beforeNewline;
      this.beforeNewline = null;
      if (before) this.later(1, () => this.show(before.line, before.y, before.above ?? []));
      return;
    }
    if (data === '\r') {
      const lastText = this.textWrites().pop();
      if (lastText && Date.now() - lastText.at < this.opts.newlineWithinMs) {
        this.newlines++;
        // The text stays in the box, a row up; the cursor is on a new, empty row of the box.
        this.later(1, () => {
          this.beforeNewline = { ...this.state };
          this.show('  ', this.state.y + 1, [this.state.line]);
        });
        return;
      }
      const delay = this.opts.submitDelayMs;
      if (delay !== null) {
        this.later(delay, () => {
          this.buffer = '';
          this.show(PROMPT, this.state.y + 1);
        });
      }
      return;
    }
    const text = data.replace(PASTE_START, '').replace(PASTE_END, '');
    if (this.opts.echo === 'none' || text === '') return;
    if (this.opts.echo === 'placeholder') {
      this.later(this.opts.echoDelayMs, () => this.show(`${PROMPT}${this.opts.placeholder}`));
      return;
    }
    const base = this.buffer;
    this.buffer += text;
    const steps = this.opts.echoSteps;
    for (let k = 1; k <= steps; k++) {
      const shown = base + text.slice(0, Math.ceil((text.length * k) / steps));
      this.later(this.opts.echoDelayMs + (k - 1) * this.opts.echoStepMs, () => {
        this.show(`${PROMPT}${shown.split('\n').pop() ?? ''}`);
      });
    }
  }

  writeQueueEmpty(): boolean {
    if (this.opts.stalled) return false;
    if (this.pendingPolls > 0) {
      this.pendingPolls--;
      return false;
    }
    return true;
  }

  bracketedPaste(): boolean {
    return this.opts.bracketedPaste;
  }

  async cursorState(): Promise<CursorState> {
    return { ...this.state };
  }

  lastInputAt(): number {
    return this.lastInput;
  }

  exited(): boolean {
    return this.isExited;
  }

  program(): ProgramProfile {
    return this.opts.profile ?? PROGRAMS.other;
  }

  /** What the program's UserPromptSubmit hook reported (Claude Code's), with when. */
  readonly hookReports: { text: string; at: number }[] = [];

  hookSubmitted(text: string, since: number): number | null {
    return this.hookReports.find((h) => h.text === text && h.at >= since)?.at ?? null;
  }

  async canonicalInput(): Promise<boolean | null> {
    this.canonicalAsked++;
    return this.opts.canonical;
  }

  /** Change the cursor line now (as a program's own output would); `above`: the rows above it from now on. */
  show(line: string, y = this.state.y, above = this.state.above): void {
    this.state = { ...this.state, line, x: line.length, y, above };
    this.reactions.push({ line, at: Date.now() });
  }

  /** The program's synchronized-output frames (DEC mode 2026) from now on: one open or not, how many ended. */
  frames(open: boolean, ended: number): void {
    this.state = { ...this.state, frameOpen: open, framesEnded: ended };
  }

  /** The rows below the cursor row from now on (a footer). */
  footer(rows: string[]): void {
    this.state = { ...this.state, below: rows };
  }

  later(ms: number, fn: () => void): void {
    const timer = setTimeout(() => {
      this.timers.delete(timer);
      fn();
    }, ms);
    this.timers.add(timer);
  }

  stop(): void {
    for (const timer of this.timers) clearTimeout(timer);
    this.timers.clear();
    liveFakes.delete(this);
  }

  /** The writes that are text (not the lone Enter). */
  textWrites(): Write[] {
    return this.writes.filter((w) => w.data !== '\r' && w.data !== BACKSPACE);
  }

  enterWrites(): Write[] {
    return this.writes.filter((w) => w.data.includes('\r'));
  }

  lastReactionBefore(t: number): Reaction | undefined {
    return this.reactions.filter((r) => r.at <= t).pop();
  }
}

afterEach(() => {
  for (const fake of liveFakes) fake.stop();
  vi.useRealTimers();
});

/** The promises tests await; while any is pending, the one pump below lets fake time pass. */
const awaited = new Set<Promise<unknown>>();
let pump: Promise<void> | null = null;

/** Let fake time pass until `p` settles (fails after FAKE_TIME_BOUND_MS of fake time: a hung job). */
function timeUntil<T>(p: Promise<T>): Promise<T> {
  const tracked: Promise<unknown> = p.then(
    () => awaited.delete(tracked),
    () => awaited.delete(tracked),
  );
  awaited.add(tracked);
  pump ??= (async () => {
    try {
      for (let ms = 0; awaited.size > 0; ms++) {
        if (ms > FAKE_TIME_BOUND_MS) throw new Error(`still waiting after ${FAKE_TIME_BOUND_MS} ms of fake time`);
        await vi.advanceTimersByTimeAsync(1);
      }
    } finally {
      awaited.clear();
      pump = null;
    }
  })();
  return Promise.race([p, pump.then(() => p)]);
}

/** Records the queue's events and lets a test await a job's outcome. */
class Events implements InjectEvents {
  readonly writtenAt = new Map<string, string>();
  readonly writtenCount = new Map<string, number>();
  readonly outcomes = new Map<string, InjectOutcome>();
  readonly doneAt = new Map<string, number>();
  readonly doneOrder: string[] = [];
  private readonly waiters = new Map<string, (o: InjectOutcome) => void>();

  constructor(private readonly log: Log) {}

  written(injectId: string, at: string): void {
    this.log.add(`written:${injectId}`);
    this.writtenAt.set(injectId, at);
    this.writtenCount.set(injectId, (this.writtenCount.get(injectId) ?? 0) + 1);
  }

  done(injectId: string, outcome: InjectOutcome): void {
    this.log.add(`done:${injectId}`);
    this.outcomes.set(injectId, outcome);
    this.doneAt.set(injectId, Date.now());
    this.doneOrder.push(injectId);
    this.waiters.get(injectId)?.(outcome);
  }

  /** The job's outcome, letting fake time pass until it comes. */
  wait(injectId: string): Promise<InjectOutcome> {
    const known = this.outcomes.get(injectId);
    if (known) return Promise.resolve(known);
    return timeUntil(new Promise((resolve) => this.waiters.set(injectId, resolve)));
  }
}

interface Rig {
  log: Log;
  fake: FakeProgram;
  events: Events;
  queue: InjectQueue;
  released: { data: string; seq: number }[];
}

function rig(fakeOpts: Partial<FakeOptions> = {}, timings: Partial<InjectTimings> = {}): Rig {
  const log = new Log();
  const fake = new FakeProgram(log, fakeOpts);
  const events = new Events(log);
  const released: { data: string; seq: number }[] = [];
  const queue = new InjectQueue(fake, events, { ...T, ...timings }, (data) => {
    released.push({ data, seq: log.add(`release:${data}`) });
  });
  return { log, fake, events, queue, released };
}

function job(id: string, text: string, over: Partial<InjectJobArgs> = {}): InjectJobArgs {
  return { inject_id: id, text, no_enter: false, enter_only: false, ...over };
}

async function runOne(r: Rig, j: InjectJobArgs): Promise<InjectOutcome> {
  expect(r.queue.enqueue(j)).toBe(0);
  return r.events.wait(j.inject_id);
}

/**
 * Queues 'first' (job a) and 'second' (job b) back to back and waits for both: when the second prompt was pasted, and
 * how long after the first Enter (what the waits between two jobs are judged by).
 */
async function firstThenSecond(r: Rig): Promise<{ gap: number; secondAt: number }> {
  r.queue.enqueue(job('a', 'first'));
  r.queue.enqueue(job('b', 'second'));
  await r.events.wait('b');
  const enter = r.fake.enterWrites()[0];
  const second = r.fake.textWrites()[1];
  if (!enter || !second) throw new Error(`expected the first Enter and the second paste, got ${r.fake.enterWrites().length} Enters and ${r.fake.textWrites().length} pastes`);
  return { gap: second.at - enter.at, secondAt: second.at };
}

function failure(o: InjectOutcome): { code: string; error: string } {
  if (o.status !== 'failed') throw new Error(`expected a failed outcome, got ${o.status}`);
  return { code: o.code, error: o.error };
}

/** Let `ms` of fake time pass (every timer due by then fires, in order). */
async function sleep(ms: number): Promise<void> {
  await vi.advanceTimersByTimeAsync(ms);
}

function only<X>(items: X[]): X {
  expect(items).toHaveLength(1);
  const [item] = items;
  if (item === undefined) throw new Error('expected exactly one item');
  return item;
}

describe('InjectQueue: text and Enter', QUEUE_TESTS, () => {
  it('writes the text and the Enter in separate writes, Enter last and alone', async () => {
    for (const bracketedPaste of [true, false]) {
      const r = rig({ bracketedPaste });
      const outcome = await runOne(r, job('j1', 'hello world'));
      expect(outcome.status).toBe('submitted');
      expect(r.fake.writes.length).toBeGreaterThanOrEqual(2);
      const last = r.fake.writes[r.fake.writes.length - 1];
      expect(last?.data).toBe('\r');
      // No write but the last one carries a CR or LF: the Enter never rides with the text.
      for (const w of r.fake.writes.slice(0, -1)) expect(w.data).not.toMatch(/[\r\n]/);
      expect(r.fake.enterWrites()).toHaveLength(1);
      // Not in the same tick either: the Enter waited at least settleMs after the text was echoed.
      const text = r.fake.textWrites().pop();
      expect(text).toBeDefined();
      expect((last?.at ?? 0) - (text?.at ?? 0)).toBeGreaterThanOrEqual(T.settleMs);
    }
  });

  it('wraps the text in bracketed-paste markers when the program turned that mode on', async () => {
    const r = rig({ bracketedPaste: true });
    await runOne(r, job('j1', 'line one\nline two'));
    expect(r.fake.textWrites().map((w) => w.data)).toEqual([`${PASTE_START}line one\nline two${PASTE_END}`]);
  });

  it('writes plain text, without paste markers, when bracketed paste is off', async () => {
    const r = rig({ bracketedPaste: false });
    await runOne(r, job('j1', 'plain prompt'));
    expect(r.fake.textWrites().map((w) => w.data)).toEqual(['plain prompt']);
    expect(r.fake.writes.map((w) => w.data).join('')).not.toContain('\x1b[');
  });

  it('reads bracketedPaste() per job, so a mode change between jobs is honoured', async () => {
    const r = rig({ bracketedPaste: true });
    await runOne(r, job('j1', 'first'));
    r.fake.opts.bracketedPaste = false;
    expect(r.queue.enqueue(job('j2', 'second'))).toBe(0);
    await r.events.wait('j2');
    expect(r.fake.textWrites().map((w) => w.data)).toEqual([`${PASTE_START}first${PASTE_END}`, 'second']);
  });
});

describe('InjectQueue: waiting until the program has taken the text', QUEUE_TESTS, () => {
  it('waits for the echo: Enter is not written before the program echoed the text', async () => {
    // noEchoMs must exceed the echo delay, or the program counts as one that never echoes (next test group).
    for (const bracketedPaste of [true, false]) {
      const r = rig({ bracketedPaste, echoDelayMs: 60 }, { noEchoMs: 150 });
      const outcome = await runOne(r, job('j1', 'a slow echo'));
      expect(outcome.status).toBe('submitted');
      const echo = r.fake.reactions.find((x) => x.line.includes('a slow echo'));
      const enter = only(r.fake.enterWrites());
      expect(echo).toBeDefined();
      expect(enter.at - (echo?.at ?? Infinity)).toBeGreaterThanOrEqual(T.settleMs);
      expect(enter.at - only(r.fake.textWrites()).at).toBeGreaterThanOrEqual(60);
    }
  });

  it('with bracketed paste off, writes Enter at least burstGuardMs after the last reaction to the text', async () => {
    // The program works through the burst in 4 visible steps, 10 ms apart: the guard counts from the last one.
    // settleNoTailMs is raised so that a partly echoed line never counts as settled on a loaded machine.
    const r = rig({ bracketedPaste: false, echoDelayMs: 5, echoSteps: 4, echoStepMs: 10 }, { settleNoTailMs: 80 });
    const outcome = await runOne(r, job('j1', 'type these keys'));
    expect(outcome.status).toBe('submitted');
    const enter = only(r.fake.enterWrites());
    const lastTextReaction = r.fake.lastReactionBefore(enter.at);
    expect(lastTextReaction?.line).toBe(`${PROMPT}type these keys`);
    expect(r.fake.reactions.filter((x) => x.at <= enter.at)).toHaveLength(4);
    expect(enter.at - (lastTextReaction?.at ?? Infinity)).toBeGreaterThanOrEqual(T.burstGuardMs - TIMER_SLACK_MS);
    expect(enter.at - only(r.fake.textWrites()).at).toBeGreaterThanOrEqual(T.burstGuardMs - TIMER_SLACK_MS);
  });

  it('with bracketed paste off and no echo, still keeps burstGuardMs between the text and the Enter', async () => {
    // noEchoMs (20) < burstGuardMs (40): the guard, not the echo wait, decides.
    const r = rig({ bracketedPaste: false, echo: 'none' });
    await runOne(r, job('j1', 'silent keys'));
    const enter = only(r.fake.enterWrites());
    expect(enter.at - only(r.fake.textWrites()).at).toBeGreaterThanOrEqual(T.burstGuardMs - TIMER_SLACK_MS);
  });

  it('does not apply the burst guard to a bracketed paste', async () => {
    // A guard this long would be plainly visible; a paste is one event, so Enter follows the settle alone.
    const r = rig({ bracketedPaste: true, echoDelayMs: 2 }, { burstGuardMs: 1_000 });
    await runOne(r, job('j1', 'pasted'));
    const enter = only(r.fake.enterWrites());
    expect(enter.at - only(r.fake.textWrites()).at).toBeLessThan(500);
  });

  it('a program that never echoes: Enter still goes after noEchoMs, and the status is reported', async () => {
    const r = rig({ bracketedPaste: true, echo: 'none', submitDelayMs: 5 });
    const outcome = await runOne(r, job('j1', 'no echo here'));
    const enter = only(r.fake.enterWrites());
    expect(enter.at - only(r.fake.textWrites()).at).toBeGreaterThanOrEqual(T.noEchoMs);
    expect(outcome.status).toBe('submitted');
    expect(r.events.writtenCount.get('j1')).toBe(1);
  });

  it('a program that never echoes nor reacts to Enter is reported as entered', async () => {
    const r = rig({ bracketedPaste: true, echo: 'none', submitDelayMs: null });
    const outcome = await runOne(r, job('j1', 'no echo here'));
    expect(outcome).toEqual({ status: 'entered', written_at: r.events.writtenAt.get('j1'), submitted_at: null, seen: expect.stringMatching(/did not change/), ready_at: expect.any(String) });
    expect(r.fake.enterWrites()).toHaveLength(1);
  });

  it("takes the program's own hook report of the very text as the proof of the submit, before its screen says so", async () => {
    // The screen never shows the text leave the box: only the hook says the program took it.
    const r = rig({ bracketedPaste: true, submitDelayMs: null });
    r.fake.onWrite = (data) => {
      if (data === '\r') setTimeout(() => r.fake.hookReports.push({ text: 'review auth', at: Date.now() }), 4);
    };
    const outcome = await runOne(r, job('j1', 'review auth'));
    expect(outcome).toMatchObject({ status: 'submitted' });
    expect(Date.parse(outcome.submitted_at ?? '') - Date.parse(outcome.written_at ?? '')).toBeLessThan(T.submitWatchMs);
    // Another prompt's report, or one from before this Enter, proves nothing.
    const other = rig({ bracketedPaste: true, submitDelayMs: null });
    other.fake.hookReports.push({ text: 'review auth', at: Date.now() - 1 });
    other.fake.onWrite = (data) => {
      if (data === '\r') other.fake.hookReports.push({ text: 'something else', at: Date.now() });
    };
    expect(await runOne(other, job('j2', 'review auth'))).toMatchObject({ status: 'entered' });
  });

  it('restarts the burst guard when a late echo comes after noEchoMs (bracketed paste off)', async () => {
    // noEchoMs (20) passes in silence, then the echo comes at 30 ms: Enter must still be burstGuardMs after it.
    const r = rig({ bracketedPaste: false, echoDelayMs: 30 }, { noEchoMs: 20 });
    await runOne(r, job('j1', 'late echo'));
    const enter = only(r.fake.enterWrites());
    const echo = r.fake.reactions.find((x) => x.line.includes('late echo'));
    expect(echo).toBeDefined();
    expect(enter.at - (echo?.at ?? Infinity)).toBeGreaterThanOrEqual(T.burstGuardMs - TIMER_SLACK_MS);
  });

  it('counts a program whose echo comes later than noEchoMs as one that reads silently', async () => {
    // The documented contract of noEchoMs: no reaction at all within it means the text was read without echo.
    const r = rig({ bracketedPaste: true, echoDelayMs: 200 }, { noEchoMs: 20 });
    await runOne(r, job('j1', 'late echo'));
    const enter = only(r.fake.enterWrites());
    const echo = r.fake.reactions.find((x) => x.line.includes('late echo'));
    expect(enter.at - only(r.fake.textWrites()).at).toBeGreaterThanOrEqual(T.noEchoMs);
    expect(echo === undefined || echo.at > enter.at).toBe(true);
  });

  it('an unknown placeholder instead of the text: waits settleNoTailMs of stillness before the Enter', async () => {
    // settleNoTailMs raised well above settleMs so the two rules give visibly different Enter times.
    const settleNoTailMs = 60;
    const r = rig({ bracketedPaste: true, echo: 'placeholder', placeholder: '<hidden prompt>', echoDelayMs: 5 }, { settleNoTailMs, noEchoMs: 100 });
    const outcome = await runOne(r, job('j1', 'a long prompt the program hides behind a placeholder'));
    expect(outcome.status).toBe('submitted');
    const enter = only(r.fake.enterWrites());
    const placeholder = r.fake.reactions.find((x) => x.line.includes('<hidden prompt>'));
    expect(placeholder).toBeDefined();
    expect(enter.at - (placeholder?.at ?? Infinity)).toBeGreaterThanOrEqual(settleNoTailMs);
  });

  it("a known paste placeholder counts as the text: Enter after settleMs, not settleNoTailMs", async () => {
    const settleNoTailMs = 200;
    const r = rig({ bracketedPaste: true, echo: 'placeholder', echoDelayMs: 5 }, { settleNoTailMs, noEchoMs: 100 });
    const outcome = await runOne(r, job('j1', 'a long prompt the program hides behind a placeholder'));
    expect(outcome.status).toBe('submitted');
    const enter = only(r.fake.enterWrites());
    const placeholder = r.fake.reactions.find((x) => x.line.includes('[Pasted text #1]'));
    expect(enter.at - (placeholder?.at ?? Infinity)).toBeLessThan(settleNoTailMs);
  });

  it('a cursor line that keeps changing delays the Enter until it holds still', async () => {
    const settleNoTailMs = 60;
    const r = rig({ bracketedPaste: true, echo: 'none' }, { noEchoMs: 100, settleNoTailMs });
    r.fake.onWrite = (data) => {
      if (data === '\r') return;
      // A spinner-like placeholder that changes 6 times, 10 ms apart, then stops.
      for (let k = 1; k <= 6; k++) r.fake.later(k * 10, () => r.fake.show(`${PROMPT}working${'.'.repeat(k)}`));
    };
    await runOne(r, job('j1', 'never shown'));
    const enter = only(r.fake.enterWrites());
    const lastChange = r.fake.lastReactionBefore(enter.at);
    expect(lastChange?.line).toBe(`${PROMPT}working......`);
    expect(enter.at - (lastChange?.at ?? Infinity)).toBeGreaterThanOrEqual(settleNoTailMs);
  });

  it('a cursor line that never holds still: Enter goes at consumeMaxMs plus consumePerKCharMs per 1,000 chars', async () => {
    const text = 'x'.repeat(2_000);
    // Bound: 100 + 2 * 50 = 200 ms. A line moving every 5 ms never holds still for settleNoTailMs (150).
    const r = rig(
      { bracketedPaste: true, echo: 'none' },
      { consumeMaxMs: 100, consumePerKCharMs: 50, noEchoMs: 100, settleNoTailMs: 150 },
    );
    let frame = 0;
    const spin = setInterval(() => r.fake.show(`${PROMPT}${'|/-\\'[frame++ % 4] ?? ''}`), 5);
    try {
      const outcome = await runOne(r, job('j1', text));
      expect(outcome.status).toBe('submitted');
    } finally {
      clearInterval(spin);
    }
    const enter = only(r.fake.enterWrites());
    expect(enter.at - only(r.fake.textWrites()).at).toBeGreaterThanOrEqual(200);
  });
});

describe('InjectQueue: reported status', QUEUE_TESTS, () => {
  it("reports 'submitted' with submitted_at when the cursor line changes after the Enter", async () => {
    const r = rig({ submitDelayMs: 15 });
    const outcome = await runOne(r, job('j1', 'submit me'));
    if (outcome.status !== 'submitted') throw new Error(`expected submitted, got ${outcome.status}`);
    expect(outcome.written_at).toBe(r.events.writtenAt.get('j1'));
    expect(r.events.writtenCount.get('j1')).toBe(1);
    expect(outcome.submitted_at).not.toBeNull();
    const writtenMs = Date.parse(outcome.written_at);
    const submittedMs = Date.parse(outcome.submitted_at ?? '');
    expect(submittedMs - writtenMs).toBeGreaterThanOrEqual(15 - TIMER_SLACK_MS);
    expect(submittedMs - writtenMs).toBeLessThan(T.submitWatchMs);
    // written_at is when the Enter went out.
    expect(Math.abs(writtenMs - only(r.fake.enterWrites()).at)).toBeLessThanOrEqual(1);
  });

  it("reports 'entered' when the cursor line does not change within submitWatchMs of the Enter", async () => {
    const r = rig({ submitDelayMs: null });
    const outcome = await runOne(r, job('j1', 'stranded'));
    expect(outcome).toEqual({ status: 'entered', written_at: r.events.writtenAt.get('j1'), submitted_at: null, seen: expect.stringMatching(/did not change/), ready_at: expect.any(String) });
    const enter = only(r.fake.enterWrites());
    expect((r.events.doneAt.get('j1') ?? 0) - enter.at).toBeGreaterThanOrEqual(T.submitWatchMs);
  });

  it("reports 'entered' when the program reacts to the Enter only after submitWatchMs", async () => {
    const r = rig({ submitDelayMs: T.submitWatchMs + 100 });
    const outcome = await runOne(r, job('j1', 'slow to submit'));
    expect(outcome.status).toBe('entered');
    expect(outcome.submitted_at).toBeNull();
  });

  it("no_enter: writes the text only and reports 'written'", async () => {
    const r = rig({ bracketedPaste: true });
    const outcome = await runOne(r, job('j1', 'draft', { no_enter: true }));
    expect(outcome).toEqual({ status: 'written', written_at: r.events.writtenAt.get('j1'), submitted_at: null, ready_at: expect.any(String) });
    expect(r.fake.writes.map((w) => w.data)).toEqual([`${PASTE_START}draft${PASTE_END}`]);
    expect(r.fake.writes.map((w) => w.data).join('')).not.toContain('\r');
    expect(r.events.writtenCount.get('j1')).toBe(1);
  });

  it('enter_only: writes just the Enter and watches for the submission', async () => {
    for (const bracketedPaste of [true, false]) {
      const r = rig({ bracketedPaste });
      const outcome = await runOne(r, job('j1', '', { enter_only: true }));
      expect(r.fake.writes.map((w) => w.data)).toEqual(['\r']);
      expect(outcome.status).toBe('submitted');
      expect(r.events.writtenCount.get('j1')).toBe(1);
    }
  });
});

describe('InjectQueue: one job at a time', QUEUE_TESTS, () => {
  it('runs 5 jobs enqueued at once in FIFO order without interleaving, positions 0..4', async () => {
    const r = rig({ bracketedPaste: false });
    const ids = ['m0', 'm1', 'm2', 'm3', 'm4'];
    const positions = ids.map((id) => r.queue.enqueue(job(id, `MSG-${id}`)));
    expect(positions).toEqual([0, 1, 2, 3, 4]);
    expect(r.queue.length).toBe(5);
    const outcomes = await Promise.all(ids.map((id) => r.events.wait(id)));
    expect(outcomes.map((o) => o.status)).toEqual(ids.map(() => 'submitted'));
    expect(r.fake.writes.map((w) => w.data)).toEqual(ids.flatMap((id) => [`MSG-${id}`, '\r']));
    expect(r.events.doneOrder).toEqual(ids);
    // Each job starts only once the previous one is done.
    const order = r.log.entries.filter((e) => !e.startsWith('written:'));
    expect(order).toEqual(ids.flatMap((id) => [`write:"MSG-${id}"`, 'write:"\\r"', `done:${id}`]));
    expect(r.queue.length).toBe(0);
  });

  it('counts the running job in the position of a job enqueued later', async () => {
    const r = rig();
    expect(r.queue.enqueue(job('a', 'first'))).toBe(0);
    await sleep(5);
    expect(r.queue.length).toBe(1);
    expect(r.queue.enqueue(job('b', 'second'))).toBe(1);
    expect(r.queue.enqueue(job('c', 'third'))).toBe(2);
    await r.events.wait('c');
    // Once idle, the next job starts at once again.
    expect(r.queue.enqueue(job('d', 'fourth'))).toBe(0);
    await r.events.wait('d');
  });

  it('keeps going after a failed job', async () => {
    const r = rig({ stalled: true });
    r.queue.enqueue(job('stuck', 'unread'));
    r.queue.enqueue(job('next', 'read'));
    const stuck = await r.events.wait('stuck');
    expect(failure(stuck).code).toBe('TIMEOUT');
    r.fake.opts.stalled = false;
    const next = await r.events.wait('next');
    expect(next.status).toBe('submitted');
  });
});

describe('InjectQueue: cancel', QUEUE_TESTS, () => {
  it('removes a job that has not started: it is never written and never reported done', async () => {
    const r = rig();
    r.queue.enqueue(job('a', 'AAA'));
    r.queue.enqueue(job('b', 'BBB'));
    r.queue.enqueue(job('c', 'CCC'));
    expect(r.queue.cancel('b')).toBe(true);
    expect(r.queue.length).toBe(2);
    await r.events.wait('c');
    await sleep(20);
    expect(r.fake.writes.map((w) => w.data)).toEqual([`${PASTE_START}AAA${PASTE_END}`, '\r', `${PASTE_START}CCC${PASTE_END}`, '\r']);
    expect(r.events.doneOrder).toEqual(['a', 'c']);
    expect(r.events.writtenAt.has('b')).toBe(false);
  });

  it('returns false for the running job, an unknown id, a finished job and a second cancel', async () => {
    const r = rig();
    r.queue.enqueue(job('a', 'AAA'));
    r.queue.enqueue(job('b', 'BBB'));
    expect(r.queue.cancel('a')).toBe(false);
    expect(r.queue.cancel('nope')).toBe(false);
    expect(r.queue.cancel('b')).toBe(true);
    expect(r.queue.cancel('b')).toBe(false);
    const a = await r.events.wait('a');
    // The running job was not disturbed.
    expect(a.status).toBe('submitted');
    expect(r.queue.cancel('a')).toBe(false);
  });
});

describe('InjectQueue: hold', QUEUE_TESTS, () => {
  it('holds keystrokes offered while a job writes and releases them after its Enter, in order', async () => {
    const r = rig();
    const accepted: boolean[] = [];
    r.fake.onWrite = (data) => {
      if (data === '\r') accepted.push(r.queue.hold('c'));
      else accepted.push(r.queue.hold('a'), r.queue.hold('b'));
    };
    const outcome = await runOne(r, job('j1', 'prompt'));
    expect(outcome.status).toBe('submitted');
    expect(accepted).toEqual([true, true, true]);
    // Held keys never reach the program through the queue's own writes.
    expect(r.fake.writes.map((w) => w.data)).toEqual([`${PASTE_START}prompt${PASTE_END}`, '\r']);
    expect(r.released.map((x) => x.data).join('')).toBe('abc');
    const enterSeq = only(r.fake.enterWrites()).seq;
    const doneSeq = r.log.entries.indexOf('done:j1');
    for (const x of r.released) {
      expect(x.seq).toBeGreaterThan(enterSeq);
      expect(x.seq).toBeLessThan(doneSeq);
    }
  });

  it('keeps holding while it watches for the reaction to the Enter', async () => {
    const r = rig({ submitDelayMs: null });
    const accepted: boolean[] = [];
    r.fake.onWrite = (data) => {
      if (data === '\r') r.fake.later(T.submitWatchMs / 2, () => accepted.push(r.queue.hold('late')));
    };
    const outcome = await runOne(r, job('j1', 'prompt'));
    expect(outcome.status).toBe('entered');
    expect(accepted).toEqual([true]);
    expect(r.released.map((x) => x.data)).toEqual(['late']);
  });

  it('returns false when no job runs', async () => {
    const r = rig();
    expect(r.queue.hold('x')).toBe(false);
    await runOne(r, job('j1', 'prompt'));
    expect(r.queue.hold('y')).toBe(false);
    expect(r.released).toEqual([]);
  });

  it('does not hold keystrokes while the job still waits for the user to pause typing', async () => {
    const r = rig();
    r.fake.lastInput = Date.now();
    r.queue.enqueue(job('j1', 'prompt'));
    expect(r.queue.hold('typing')).toBe(false);
    await sleep(10);
    expect(r.fake.writes).toEqual([]);
    expect(r.queue.hold('still typing')).toBe(false);
    await r.events.wait('j1');
    expect(r.released).toEqual([]);
  });

  it("releases keystrokes held during one job before the next job's text", async () => {
    const r = rig();
    r.fake.onWrite = (data) => {
      if (data.includes('first')) r.queue.hold('k');
    };
    r.queue.enqueue(job('j1', 'first'));
    r.queue.enqueue(job('j2', 'second'));
    await r.events.wait('j2');
    const release = only(r.released);
    expect(release.data).toBe('k');
    const firstEnter = r.fake.enterWrites()[0];
    const secondText = r.fake.writes.find((w) => w.data.includes('second'));
    expect(release.seq).toBeGreaterThan(firstEnter?.seq ?? Infinity);
    expect(release.seq).toBeLessThan(secondText?.seq ?? -1);
  });

  it('releases held keystrokes when the job fails', async () => {
    const r = rig({ stalled: true });
    r.fake.onWrite = () => {
      r.queue.hold('x');
    };
    const outcome = await runOne(r, job('j1', 'unread'));
    expect(failure(outcome).code).toBe('TIMEOUT');
    expect(r.released.map((x) => x.data)).toEqual(['x']);
    expect(r.queue.hold('after')).toBe(false);
  });
});

describe('InjectQueue: typing deferral', QUEUE_TESTS, () => {
  it('waits for a typingPauseMs pause in local typing before writing', async () => {
    const r = rig();
    const started = Date.now();
    r.fake.lastInput = started;
    // The user types every 10 ms for 80 ms, then stops.
    const typing = setInterval(() => {
      if (Date.now() - started < 80) r.fake.lastInput = Date.now();
    }, 10);
    try {
      const outcome = await runOne(r, job('j1', 'after the pause'));
      expect(outcome.status).toBe('submitted');
    } finally {
      clearInterval(typing);
    }
    const firstWrite = r.fake.writes[0];
    expect(firstWrite).toBeDefined();
    expect((firstWrite?.at ?? 0) - r.fake.lastInput).toBeGreaterThanOrEqual(T.typingPauseMs);
    expect((firstWrite?.at ?? 0) - started).toBeGreaterThanOrEqual(T.typingPauseMs);
  });

  it('does not wait when the last keystroke is older than typingPauseMs', async () => {
    const r = rig({}, { typingPauseMs: 500 });
    r.fake.lastInput = Date.now() - 1_000;
    const started = Date.now();
    await runOne(r, job('j1', 'go'));
    expect((r.fake.writes[0]?.at ?? Infinity) - started).toBeLessThan(250);
  });

  it('fails with SESSION_BUSY, writing nothing, when typing goes on past typingDeferMaxMs', async () => {
    const r = rig();
    // Someone types without ever pausing: every look at the clock finds a keystroke just now.
    r.fake.lastInputAt = () => Date.now();
    const started = Date.now();
    const outcome = await runOne(r, job('j1', 'never written'));
    expect(failure(outcome).code).toBe('SESSION_BUSY');
    expect(outcome).toMatchObject({ written_at: null, submitted_at: null });
    expect((r.events.doneAt.get('j1') ?? 0) - started).toBeGreaterThanOrEqual(T.typingDeferMaxMs);
    expect(r.fake.writes).toEqual([]);
    expect(r.events.writtenAt.has('j1')).toBe(false);
  });
});

describe('InjectQueue: failures', QUEUE_TESTS, () => {
  it('fails with TIMEOUT after writeStallMs when the program stops reading, and never writes the Enter', async () => {
    const r = rig({ stalled: true });
    const outcome = await runOne(r, job('j1', 'into the void'));
    const { code } = failure(outcome);
    expect(code).toBe('TIMEOUT');
    expect(outcome).toMatchObject({ written_at: null, submitted_at: null });
    const text = only(r.fake.writes);
    expect(text.data).not.toContain('\r');
    expect((r.events.doneAt.get('j1') ?? 0) - text.at).toBeGreaterThanOrEqual(T.writeStallMs);
    expect(r.events.writtenAt.has('j1')).toBe(false);
  });

  it('fails with SESSION_EXITED, writing nothing, when the program exited before the job starts', async () => {
    const r = rig();
    r.fake.isExited = true;
    const outcome = await runOne(r, job('j1', 'too late'));
    expect(failure(outcome).code).toBe('SESSION_EXITED');
    expect(r.fake.writes).toEqual([]);
  });

  it('fails with SESSION_EXITED, without the Enter, when the program exits while the text is being taken', async () => {
    const r = rig({ echo: 'none' }, { noEchoMs: 200 });
    r.fake.onWrite = () => r.fake.later(10, () => (r.fake.isExited = true));
    const outcome = await runOne(r, job('j1', 'half way'));
    expect(failure(outcome).code).toBe('SESSION_EXITED');
    expect(r.fake.writes.map((w) => w.data)).toEqual([`${PASTE_START}half way${PASTE_END}`]);
  });

  it('fails with SESSION_EXITED rather than TIMEOUT when the program exits while not reading', async () => {
    const r = rig({ stalled: true });
    r.fake.onWrite = () => r.fake.later(10, () => (r.fake.isExited = true));
    const outcome = await runOne(r, job('j1', 'stuck'));
    expect(failure(outcome).code).toBe('SESSION_EXITED');
    expect((r.events.doneAt.get('j1') ?? Infinity) - only(r.fake.writes).at).toBeLessThan(T.writeStallMs);
  });

  it('reports an exception from the target as INTERNAL and carries on with the next job', async () => {
    const r = rig();
    const original = r.fake.cursorState.bind(r.fake);
    let calls = 0;
    r.fake.cursorState = async () => {
      calls++;
      if (calls === 1) throw new Error('screen unavailable');
      return original();
    };
    r.queue.enqueue(job('bad', 'x'));
    r.queue.enqueue(job('good', 'y'));
    const bad = await r.events.wait('bad');
    expect(failure(bad)).toEqual({ code: 'INTERNAL', error: 'inject failed: screen unavailable' });
    expect((await r.events.wait('good')).status).toBe('submitted');
  });
});

describe('InjectQueue: large prompts', QUEUE_TESTS, () => {
  it('writes a large prompt in chunks of at most WRITE_CHUNK_CHARS, each after the last drained', async () => {
    // The first chunk boundary falls inside a surrogate pair (the paste marker counts: it is 6 units long).
    const text = 'a'.repeat(WRITE_CHUNK_CHARS - PASTE_START.length - 1) + '😀'.repeat(9_000) + '\nthe end';
    expect(text.length).toBeGreaterThan(2 * WRITE_CHUNK_CHARS);
    const r = rig({ bracketedPaste: true, drainPolls: 3 });
    const outcome = await runOne(r, job('big', text));
    expect(outcome.status).toBe('submitted');
    const chunks = r.fake.textWrites().map((w) => w.data);
    expect(chunks.length).toBe(3);
    expect(chunks[0]?.length).toBe(WRITE_CHUNK_CHARS - 1);
    // Every chunk but the last is full (one unit short when a surrogate pair would have been cut).
    for (const c of chunks.slice(0, -1)) expect(c.length).toBeGreaterThanOrEqual(WRITE_CHUNK_CHARS - 1);
    for (const c of chunks) {
      expect(c.length).toBeLessThanOrEqual(WRITE_CHUNK_CHARS);
      expect(c).not.toMatch(/[\ud800-\udbff]$/);
      expect(c).not.toMatch(/^[\udc00-\udfff]/);
    }
    expect(chunks.join('')).toBe(`${PASTE_START}${text}${PASTE_END}`);
    expect(r.fake.writesWhileBusy).toEqual([]);
    expect(r.fake.writes[r.fake.writes.length - 1]?.data).toBe('\r');
  });
});

describe('InjectQueue: canonical-mode readers', QUEUE_TESTS, () => {
  const atLimit = 'x'.repeat(CANONICAL_LINE_MAX_BYTES);

  it('refuses a prompt with a line longer than a canonical-mode reader takes, typing nothing', async () => {
    const r = rig({ bracketedPaste: false, canonical: true });
    const outcome = await runOne(r, job('long', `short first line\n${atLimit}y\nlast`));
    expect(failure(outcome).code).toBe('LINE_TOO_LONG');
    expect(failure(outcome).error).toMatch(new RegExp(`at most ${CANONICAL_LINE_MAX_BYTES} bytes per line, and line 2 of the prompt has ${CANONICAL_LINE_MAX_BYTES + 1}; nothing was typed`));
    expect(r.fake.writes).toEqual([]);
    expect(r.events.writtenCount.get('long')).toBeUndefined();
  });

  it('counts UTF-8 bytes, as the kernel does, not characters', async () => {
    const r = rig({ bracketedPaste: false, canonical: true });
    const wide = 'é'.repeat(Math.ceil((CANONICAL_LINE_MAX_BYTES + 1) / 2));
    expect(wide.length).toBeLessThan(CANONICAL_LINE_MAX_BYTES);
    expect(failure(await runOne(r, job('wide', wide))).code).toBe('LINE_TOO_LONG');
  });

  it('delivers lines up to the limit, however long the whole prompt', async () => {
    const r = rig({ bracketedPaste: false, canonical: true });
    const outcome = await runOne(r, job('ok', `${atLimit}\n${atLimit}`));
    expect(outcome.status).toBe('submitted');
    expect(r.fake.textWrites().map((w) => w.data).join('')).toBe(`${atLimit}\n${atLimit}`);
  });

  it('delivers a long line to a program in raw mode, or when the mode cannot be told', async () => {
    for (const canonical of [false, null]) {
      const r = rig({ bracketedPaste: false, canonical });
      expect((await runOne(r, job('raw', `${atLimit}more`))).status).toBe('submitted');
      expect(r.fake.canonicalAsked).toBe(1);
    }
  });

  it('asks for the terminal mode only for a prompt with a line over the limit, and never for Enter alone', async () => {
    const r = rig({ bracketedPaste: false, canonical: true });
    await runOne(r, job('short', `${atLimit}\nshort`));
    expect(r.queue.enqueue(job('enter', '', { enter_only: true }))).toBe(0);
    await r.events.wait('enter');
    expect(r.fake.canonicalAsked).toBe(0);
  });

  it('finds the longest line and its size in bytes', () => {
    expect(longestLine('a\nbbb\ncc')).toEqual({ line: 2, bytes: 3 });
    expect(longestLine('ééé\nabcd')).toEqual({ line: 1, bytes: 6 });
    expect(longestLine('')).toEqual({ line: 1, bytes: 0 });
  });
});

describe('chunkText', () => {
  it('never splits a surrogate pair and joins back to the original', () => {
    const emoji = '😀🎉👍🏽x🇫🇷y';
    for (let size = 2; size <= 9; size++) {
      const chunks = chunkText(emoji.repeat(5), size);
      expect(chunks.join('')).toBe(emoji.repeat(5));
      for (const c of chunks) {
        expect(c.length).toBeGreaterThan(0);
        expect(c.length).toBeLessThanOrEqual(size);
        expect(c).not.toMatch(/[\ud800-\udbff]$/);
        expect(c).not.toMatch(/^[\udc00-\udfff]/);
      }
    }
  });

  it('splits emoji text with chunk size 3 into whole characters', () => {
    expect(chunkText('😀😀😀', 3)).toEqual(['😀', '😀', '😀']);
    expect(chunkText('a😀b😀', 3)).toEqual(['a😀', 'b😀']);
  });

  it('splits plain text into exact pieces and returns nothing for empty text', () => {
    expect(chunkText('abcdefg', 3)).toEqual(['abc', 'def', 'g']);
    expect(chunkText('abc', 3)).toEqual(['abc']);
    expect(chunkText('', 3)).toEqual([]);
    const big = 'z'.repeat(WRITE_CHUNK_CHARS * 2 + 1);
    expect(chunkText(big, WRITE_CHUNK_CHARS).map((c) => c.length)).toEqual([WRITE_CHUNK_CHARS, WRITE_CHUNK_CHARS, 1]);
  });
});

describe('textTail', () => {
  it('takes the last 8 characters of the last non-blank line', () => {
    expect(textTail('short')).toBe('short');
    expect(textTail('exactly8')).toBe('exactly8');
    expect(textTail('first line\nthe second line')).toBe('ond line');
    expect(textTail('the last line\n\n   \n\t\n')).toBe('ast line');
  });

  it('drops trailing whitespace, including CR of CRLF line ends', () => {
    expect(textTail('hello world   ')).toBe('lo world');
    expect(textTail('abc\r\ndef ghi jkl\r\n')).toBe(' ghi jkl');
  });

  it('looks only after the last tab (a terminal widens tabs to the next tab stop)', () => {
    expect(textTail('a\tb\tc')).toBe('c');
    expect(textTail('x\tyy\tzzz')).toBe('zzz');
    expect(textTail('key:\ta long value here')).toBe('lue here');
  });

  it('is empty for blank text', () => {
    expect(textTail('')).toBe('');
    expect(textTail(' \n\t\n ')).toBe('');
  });
});

describe('InjectQueue: submission is proven (issue 25)', QUEUE_TESTS, () => {
  const gemini: ProgramProfile = { ...PROGRAMS.gemini, pasteEnterMs: 40 };

  it('waits the program\'s pasteEnterMs after the paste shows before the Enter (Gemini takes an earlier Enter as a newline)', async () => {
    const r = rig({ profile: gemini, newlineWithinMs: 30 });
    const outcome = await runOne(r, job('j1', 'a prompt for gemini'));
    expect(outcome.status).toBe('submitted');
    expect(r.fake.newlines).toBe(0);
    const echo = r.fake.reactions.find((x) => x.line.includes('for gemini'));
    expect(only(r.fake.enterWrites()).at - (echo?.at ?? Infinity)).toBeGreaterThanOrEqual(gemini.pasteEnterMs - TIMER_SLACK_MS);
  });

  it('a newline in the box is not a submission: reported entered, with what was seen', async () => {
    // The program takes every Enter within 10 s of the text as a newline: the text stays in the box, a row up.
    const r = rig({ profile: { ...gemini, pasteEnterMs: 0, enterRetryMs: [] }, newlineWithinMs: 10_000 });
    const outcome = await runOne(r, job('j1', 'stays in the box'));
    expect(r.fake.newlines).toBe(1);
    expect(r.fake.backspaces).toBe(0);
    expect(outcome).toMatchObject({ status: 'entered', submitted_at: null, seen: expect.stringMatching(/still showed in the input box/) });
  });

  it('an Enter taken as a newline is undone with a Backspace and sent again after enterRetryMs: submitted once', async () => {
    // Every Enter within 60 ms of the paste is a newline; the first goes 0 ms after the text shows.
    const r = rig({ profile: { ...gemini, pasteEnterMs: 0, enterRetryMs: [100, 300] }, newlineWithinMs: 60 });
    const outcome = await runOne(r, job('j1', 'second time lucky'));
    expect(outcome.status).toBe('submitted');
    expect(r.fake.newlines).toBe(1);
    expect(r.fake.backspaces).toBe(1);
    const [first, second] = r.fake.enterWrites();
    const backspace = r.fake.writes.find((w) => w.data === BACKSPACE);
    // Backspace only once the newline showed, the second Enter only after the text is back and 100 ms more.
    expect(backspace?.seq).toBeGreaterThan(first?.seq ?? Infinity);
    expect((second?.at ?? 0) - (backspace?.at ?? Infinity)).toBeGreaterThanOrEqual(100 - TIMER_SLACK_MS);
    expect(only(r.fake.textWrites()).data).toContain('second time lucky');
  });

  it('gives up after the last of enterRetryMs: entered, each newline undone, the text typed once', async () => {
    const r = rig({ profile: { ...gemini, pasteEnterMs: 0, enterRetryMs: [10, 20] }, newlineWithinMs: 10_000 });
    const outcome = await runOne(r, job('j1', 'never taken'));
    expect(r.fake.newlines).toBe(3);
    expect(r.fake.backspaces).toBe(3);
    expect(r.fake.textWrites()).toHaveLength(1);
    expect(outcome).toMatchObject({ status: 'entered', seen: expect.stringMatching(/still showed in the input box after 3 Enters/) });
  });

  it('a program without enterRetryMs never gets a Backspace (Claude Code, OpenCode, a shell)', () => {
    for (const p of [PROGRAMS.claude, PROGRAMS.opencode, PROGRAMS.codex, PROGRAMS.shell, PROGRAMS.other]) expect(p.enterRetryMs).toEqual([]);
  });

  it('a program that echoes gets no Enter before its text shows, however late (no noEchoMs shortcut)', async () => {
    const r = rig({ profile: PROGRAMS.claude, echoDelayMs: 150 }, { noEchoMs: 20 });
    const outcome = await runOne(r, job('j1', 'late but shown'));
    expect(outcome.status).toBe('submitted');
    const echo = r.fake.reactions.find((x) => x.line.includes('but shown'));
    expect(echo).toBeDefined();
    expect(only(r.fake.enterWrites()).at).toBeGreaterThanOrEqual(echo?.at ?? Infinity);
  });

  it('a change of the input row that still shows the text is not the submission (the box reset comes later)', async () => {
    const r = rig({ profile: PROGRAMS.claude, submitDelayMs: 60 });
    // Right after the Enter the program redraws the row (a marker) with the text still in it.
    r.fake.onWrite = (data) => {
      if (data === '\r') r.fake.later(2, () => r.fake.show(`* ${PROMPT}still the text`));
    };
    const outcome = await runOne(r, job('j1', 'still the text'));
    expect(outcome.status).toBe('submitted');
    const reset = r.fake.reactions.find((x) => x.line === PROMPT);
    expect(Date.parse(outcome.submitted_at ?? '')).toBeGreaterThanOrEqual((reset?.at ?? Infinity) - TIMER_SLACK_MS);
  });

  it('a screen caught mid-redraw (the box erased, then drawn again with the text) is not the submission: entered', async () => {
    const r = rig({ profile: PROGRAMS.gemini, submitDelayMs: null });
    // The Enter is a newline in the box, redrawn in two writes 15 ms apart: first the row erased, then the text again.
    r.fake.onWrite = (data) => {
      if (data !== '\r') return;
      r.fake.later(2, () => r.fake.show(''));
      r.fake.later(17, () => r.fake.show(PROMPT, 11, [`${PROMPT}in the box`]));
    };
    const outcome = await runOne(r, job('j1', 'in the box'));
    expect(outcome.status).toBe('entered');
  });

  /**
   * The box shown empty 5 ms after the Enter, in a synchronized-output frame that ends then: the outcome, when the box
   * showed empty, and how long after the Enter the job was done.
   */
  async function goneInAFrame(profile: ProgramProfile): Promise<{ outcome: InjectOutcome; resetAt: number | undefined; doneAfterMs: number }> {
    const r = rig({ profile, submitDelayMs: 5 });
    r.fake.frames(false, 7);
    // The submit's screen comes as one frame: it ended when the box shows empty.
    r.fake.onWrite = (data) => {
      if (data === '\r') r.fake.later(5, () => r.fake.frames(false, 8));
    };
    const outcome = await runOne(r, job('j1', 'gone in a frame'));
    const enter = only(r.fake.enterWrites());
    const doneAt = r.events.doneAt.get('j1');
    if (doneAt === undefined) throw new Error('job j1 has no done time');
    return { outcome, resetAt: r.fake.reactions.find((x) => x.line === PROMPT)?.at, doneAfterMs: doneAt - enter.at };
  }

  it('a program drawing synchronized frames: the text gone in a whole frame drawn after the Enter is the submission at once', async () => {
    const { outcome, resetAt, doneAfterMs } = await goneInAFrame(PROGRAMS.codex);
    expect(outcome.status).toBe('submitted');
    expect(Date.parse(outcome.submitted_at ?? '')).toBe(resetAt);
    // Proven when seen, not SUBMIT_PROOF_STILL_MS later.
    expect(doneAfterMs).toBeLessThan(SUBMIT_PROOF_STILL_MS);
  });

  it(`a program drawing synchronized frames, with no frame ended since the Enter: the text must stay gone ${SUBMIT_PROOF_STILL_MS} ms`, async () => {
    const r = rig({ profile: PROGRAMS.codex, submitDelayMs: 5 });
    r.fake.frames(false, 7);
    const outcome = await runOne(r, job('j1', 'gone, no frame'));
    expect(outcome.status).toBe('submitted');
    const enter = only(r.fake.enterWrites());
    expect((r.events.doneAt.get('j1') ?? 0) - enter.at).toBeGreaterThanOrEqual(5 + SUBMIT_PROOF_STILL_MS);
  });

  it('a program drawing synchronized frames, caught midway through one (the box erased, the frame still open): not the submission', async () => {
    const r = rig({ profile: PROGRAMS.codex, submitDelayMs: null });
    r.fake.frames(false, 7);
    // The Enter is a newline in the box, drawn in one frame that arrives in two parts 15 ms apart (a frame ended
    // since the Enter too: a spinner's).
    r.fake.onWrite = (data) => {
      if (data !== '\r') return;
      r.fake.later(1, () => r.fake.frames(false, 8));
      r.fake.later(2, () => {
        r.fake.frames(true, 8);
        r.fake.show('');
      });
      r.fake.later(17, () => {
        r.fake.show(PROMPT, 11, [`${PROMPT}in the box`]);
        r.fake.frames(false, 9);
      });
    };
    const outcome = await runOne(r, job('j1', 'in the box'));
    expect(outcome.status).toBe('entered');
  });

  it('a program not known to draw synchronized frames (framedScreen false): a frame ended is no proof, the text must stay gone', async () => {
    const { outcome, doneAfterMs } = await goneInAFrame(PROGRAMS.gemini);
    expect(outcome.status).toBe('submitted');
    expect(doneAfterMs).toBeGreaterThanOrEqual(5 + SUBMIT_PROOF_STILL_MS);
  });

  it(`a text gone for ${SUBMIT_PROOF_STILL_MS} ms is the submission, dated when it went`, async () => {
    const r = rig({ profile: PROGRAMS.gemini });
    const outcome = await runOne(r, job('j1', 'gone for good'));
    expect(outcome.status).toBe('submitted');
    const reset = r.fake.reactions.find((x) => x.line === PROMPT);
    expect(Date.parse(outcome.submitted_at ?? '')).toBe(reset?.at);
  });

  for (const quietAfterSubmitMs of [20, 150]) {
    it(`starts the next job only ${quietAfterSubmitMs} ms (quietAfterSubmitMs) after the previous Enter and once the input row held still 30 ms`, async () => {
      const r = rig({ profile: { ...PROGRAMS.claude, quietAfterSubmitMs } });
      // After each submit the program redraws its input row twice more, 30 and 60 ms after the Enter (the box reset).
      r.fake.onWrite = (data) => {
        if (data !== '\r') return;
        r.fake.later(30, () => r.fake.show(`${PROMPT} `));
        r.fake.later(60, () => r.fake.show(PROMPT));
      };
      const { gap, secondAt } = await firstThenSecond(r);
      const lastRedraw = r.fake.lastReactionBefore(secondAt);
      expect(lastRedraw?.line).toBe(PROMPT);
      expect(gap).toBeGreaterThanOrEqual(quietAfterSubmitMs - TIMER_SLACK_MS);
      expect(secondAt - (lastRedraw?.at ?? Infinity)).toBeGreaterThanOrEqual(30 - TIMER_SLACK_MS);
    });
  }

  it('after a submit its hook proved, waits quietAfterHookMs from the report instead of quietAfterSubmitMs, and still for the row to hold still', async () => {
    const profile: ProgramProfile = { ...PROGRAMS.claude, quietAfterSubmitMs: 150, quietAfterHookMs: 20, rowStillAfterHookMs: 30 };
    const r = rig({ profile, bracketedPaste: true });
    // The hook reports the prompt 10 ms after the Enter; the box reset redraws the row 30 and 60 ms after it.
    r.fake.onWrite = (data) => {
      if (data !== '\r') return;
      const text = r.fake.textWrites().at(-1)?.data.replace(PASTE_START, '').replace(PASTE_END, '') ?? '';
      r.fake.later(10, () => r.fake.hookReports.push({ text, at: Date.now() }));
      r.fake.later(30, () => r.fake.show(`${PROMPT} `));
      r.fake.later(60, () => r.fake.show(PROMPT));
    };
    const { gap, secondAt } = await firstThenSecond(r);
    expect(await r.events.wait('a')).toMatchObject({ status: 'submitted' });
    // Row still 30 ms after the last redraw (60 ms): about 90 ms after the Enter, not 150.
    expect(gap).toBeGreaterThanOrEqual(90 - TIMER_SLACK_MS);
    expect(gap).toBeLessThan(150);
    expect(r.fake.lastReactionBefore(secondAt)?.line).toBe(PROMPT);
  });

  it('counts the row-still interval after a submit from the row\'s last change seen while the proof was watched: a row that held still through the proof is not waited on again', async () => {
    const profile: ProgramProfile = { ...PROGRAMS.codex, quietAfterSubmitMs: 0, echoSettleMs: 0, pasteEnterMs: 0 };
    // The box resets 5 ms after the Enter (the fake's default) and holds still from then on.
    const r = rig({ profile, bracketedPaste: true });
    const { gap } = await firstThenSecond(r);
    // The reset (5 ms) + the text gone SUBMIT_PROOF_STILL_MS, by when the row has also held still that long; not
    // another 30 ms on top of the proof.
    expect(gap).toBeGreaterThanOrEqual(5 + SUBMIT_PROOF_STILL_MS);
    expect(gap).toBeLessThan(5 + SUBMIT_PROOF_STILL_MS + 15);
  });

  it("with echoSettleMs 0 (Claude Code, Codex, OpenCode) the Enter goes as soon as the echo shows; otherwise after the queue's settleMs", async () => {
    const gapFor = async (echoSettleMs: number | null): Promise<number> => {
      const r = rig({ profile: { ...PROGRAMS.codex, pasteEnterMs: 0, echoSettleMs }, bracketedPaste: true, echoDelayMs: 4 });
      expect((await runOne(r, job('j1', 'settle or not'))).status).toBe('submitted');
      return (r.fake.enterWrites()[0]?.at ?? Infinity) - (r.fake.textWrites()[0]?.at ?? 0);
    };
    const fast = await gapFor(0);
    expect(fast).toBeGreaterThanOrEqual(4);
    expect(fast).toBeLessThanOrEqual(4 + 2 * T.pollMs);
    expect(await gapFor(null)).toBeGreaterThanOrEqual(4 + T.settleMs);
  });

  it('with rowStillAfterHookMs 0, a hook-proven submit holds the next prompt only until the box shows the reset (the text gone)', async () => {
    const profile: ProgramProfile = { ...PROGRAMS.claude, quietAfterSubmitMs: 150, quietAfterHookMs: 0, rowStillAfterHookMs: 0 };
    // The program's own reaction to the Enter is only what is set below.
    const r = rig({ profile, bracketedPaste: true, submitDelayMs: null });
    // The hook reports the prompt 10 ms after the Enter; the box shows the reset 40 ms after it, then holds.
    r.fake.onWrite = (data) => {
      if (data !== '\r') return;
      const text = r.fake.textWrites().at(-1)?.data.replace(PASTE_START, '').replace(PASTE_END, '') ?? '';
      r.fake.later(10, () => r.fake.hookReports.push({ text, at: Date.now() }));
      r.fake.later(40, () => r.fake.show(PROMPT));
    };
    const { gap } = await firstThenSecond(r);
    // Not before the reset shows (40 ms), and not a still interval after it either.
    expect(gap).toBeGreaterThanOrEqual(40);
    expect(gap).toBeLessThan(40 + 10);
  });

  it("Claude Code's profile: a box caught mid-redraw (shown empty for a moment, its text back after) is not the reset", async () => {
    // The program's own reaction to the Enter is only what is set below.
    const r = rig({ profile: PROGRAMS.claude, bracketedPaste: true, submitDelayMs: null });
    // The hook reports the prompt 10 ms after the Enter; at 20 ms one read of a redraw split in two shows the box
    // empty for 4 ms, then the text is back; the box reset comes at 80 ms (the Claude-Code-like fixture's order).
    r.fake.onWrite = (data) => {
      if (data !== '\r') return;
      const text = r.fake.textWrites().at(-1)?.data.replace(PASTE_START, '').replace(PASTE_END, '') ?? '';
      r.fake.later(10, () => r.fake.hookReports.push({ text, at: Date.now() }));
      r.fake.later(20, () => r.fake.show(PROMPT));
      r.fake.later(24, () => r.fake.show(`${PROMPT}${text}`));
      r.fake.later(80, () => r.fake.show(PROMPT));
    };
    const { gap } = await firstThenSecond(r);
    expect(await r.events.wait('a')).toMatchObject({ status: 'submitted' });
    // Typed at 20-24 ms it would be wiped by the reset at 80 ms (lost, yet its watch sees the text go).
    expect(gap).toBeGreaterThanOrEqual(80);
  });
});

describe('InjectQueue: a busy program that does not queue prompts (OpenCode before 1.18.33 was seen to, issue 25)', QUEUE_TESTS, () => {
  const busyProfile: ProgramProfile = { ...PROGRAMS.opencode, inputRow: null, queuesWhileBusy: false };

  it('types nothing while the busy mark shows below the input row, and types once it is gone', async () => {
    const r = rig({ profile: busyProfile });
    const t0 = Date.now();
    r.fake.footer(['', '  ■■⬝⬝⬝⬝⬝⬝  esc interrupt']);
    r.fake.later(500, () => r.fake.footer(['', '  ~/work']));
    const outcome = await runOne(r, job('j1', 'after the turn'));
    expect(outcome.status).toBe('submitted');
    expect((r.fake.textWrites()[0]?.at ?? 0) - t0).toBeGreaterThanOrEqual(500);
  });

  it('gives up with SESSION_BUSY, nothing typed, when the busy mark stays past busyMaxMs', async () => {
    const r = rig({ profile: busyProfile }, { busyMaxMs: 300 });
    r.fake.footer(['  ■■⬝⬝⬝⬝⬝⬝  esc interrupt']);
    const outcome = await runOne(r, job('j1', 'never typed'));
    expect(failure(outcome)).toMatchObject({ code: 'SESSION_BUSY', error: expect.stringMatching(/busy/) });
    expect(r.fake.writes).toEqual([]);
  });

  it('types only once the cursor is on the input box row (a view switch shows no box)', async () => {
    const r = rig({ profile: { ...PROGRAMS.opencode, busy: null, inputRow: /^> / } });
    const t0 = Date.now();
    r.fake.show('');
    r.fake.later(400, () => r.fake.show(PROMPT));
    const outcome = await runOne(r, job('j1', 'into the box'));
    expect(outcome.status).toBe('submitted');
    expect((r.fake.textWrites()[0]?.at ?? 0) - t0).toBeGreaterThanOrEqual(400);
  });

  it('after a submit, waits for the turn to start (the busy mark to show, up to busyAppearMs) and end before the next prompt', async () => {
    const r = rig({ profile: busyProfile });
    // The turn starts 300 ms after each Enter (no mark before) and runs 200 ms.
    r.fake.onWrite = (data) => {
      if (data !== '\r') return;
      r.fake.later(300, () => r.fake.footer(['  ■⬝⬝⬝⬝⬝⬝⬝  esc interrupt']));
      r.fake.later(500, () => r.fake.footer(['  ~/work']));
    };
    expect((await firstThenSecond(r)).gap).toBeGreaterThanOrEqual(500);
  });

  it('while the program is busy and writes nothing, the screen is not read again (only output changes it)', async () => {
    const r = rig({ profile: busyProfile });
    let reads = 0;
    let outputAt = Date.now();
    const read = r.fake.cursorState.bind(r.fake);
    Object.assign(r.fake, {
      lastOutputAt: () => outputAt,
      cursorState: () => {
        reads++;
        return read();
      },
    });
    r.fake.footer(['', '  ■■⬝⬝⬝⬝⬝⬝  esc interrupt']);
    // 600 ms of a silent turn, then its end is drawn.
    r.fake.later(600, () => {
      outputAt = Date.now();
      r.fake.footer(['', '  ~/work']);
    });
    let readsBeforeTyping = -1;
    r.fake.onWrite = () => {
      if (readsBeforeTyping < 0) readsBeforeTyping = reads;
    };
    const t0 = Date.now();
    const outcome = await runOne(r, job('j1', 'after the turn'));
    expect(outcome.status).toBe('submitted');
    const typedAt = r.fake.textWrites()[0]?.at ?? 0;
    // Seen within a poll of the end (3 ms), with a few reads for the 600 ms wait, not one per poll (200).
    expect(typedAt - t0).toBeGreaterThanOrEqual(600);
    expect(typedAt - t0).toBeLessThan(600 + 10);
    expect(readsBeforeTyping).toBeGreaterThan(0);
    expect(readsBeforeTyping).toBeLessThan(10);
  });

  it('a turn whose busy mark never shows holds the next prompt only busyAppearMs after the Enter', async () => {
    const r = rig({ profile: { ...busyProfile, busyAppearMs: 250 } });
    const { gap } = await firstThenSecond(r);
    expect(gap).toBeGreaterThanOrEqual(250);
    expect(gap).toBeLessThan(250 + 50);
  });
});

describe('InjectQueue: a program that queues a prompt submitted during its turn (OpenCode 1.18.33)', QUEUE_TESTS, () => {
  const queuing: ProgramProfile = { ...PROGRAMS.opencode, inputRow: null };

  it('is the OpenCode profile', () => {
    expect(PROGRAMS.opencode.queuesWhileBusy).toBe(true);
  });

  it('types while its busy mark shows', async () => {
    const r = rig({ profile: queuing });
    const t0 = Date.now();
    r.fake.footer(['', '  ■■⬝⬝⬝⬝⬝⬝  esc interrupt']);
    const outcome = await runOne(r, job('j1', 'during the turn'));
    expect(outcome.status).toBe('submitted');
    expect((r.fake.textWrites()[0]?.at ?? Infinity) - t0).toBeLessThan(100);
  });

  it('after a submit, waits for the turn to start (its busy mark), not for it to end', async () => {
    const r = rig({ profile: queuing });
    // The turn starts 300 ms after each Enter and runs 2 s.
    r.fake.onWrite = (data) => {
      if (data !== '\r') return;
      r.fake.later(300, () => r.fake.footer(['  ■⬝⬝⬝⬝⬝⬝⬝  esc interrupt']));
      r.fake.later(2_300, () => r.fake.footer(['  ~/work']));
    };
    const { gap } = await firstThenSecond(r);
    expect(gap).toBeGreaterThanOrEqual(300);
    expect(gap).toBeLessThan(2_300);
  });

  it('a turn that showed and ended while the submit was watched counts as started', async () => {
    const r = rig({ profile: { ...queuing, busyAppearMs: 2_000 } });
    // The busy mark shows 10 ms after the first Enter only (after the box reset at 5 ms), for 15 ms: within the watch
    // for that submit's proof, and gone before its end.
    let enters = 0;
    r.fake.onWrite = (data) => {
      if (data !== '\r' || enters++ > 0) return;
      r.fake.later(10, () => r.fake.footer(['  ■⬝⬝⬝⬝⬝⬝⬝  esc interrupt']));
      r.fake.later(25, () => r.fake.footer(['  ~/work']));
    };
    expect((await firstThenSecond(r)).gap).toBeLessThan(500);
  });
});

describe('InjectQueue: a program that sends the prompts it queued as one message (Gemini CLI 0.61)', QUEUE_TESTS, () => {
  const QUEUED_ROW = '  Queued (press ↑ to edit):';
  /** Gemini CLI 0.61's input row with its box empty (test:agents' screens). */
  const EMPTY_BOX = ' >   Type your message or @path/to/file';
  const gemini: ProgramProfile = { ...PROGRAMS.gemini, pasteEnterMs: 0, enterRetryMs: [] };

  it('is the Gemini CLI profile', () => {
    expect(PROGRAMS.gemini.queuesWhileBusy).toBe(true);
    expect(PROGRAMS.gemini.queuedMark?.test(QUEUED_ROW)).toBe(true);
    expect(PROGRAMS.gemini.emptyBoxHint?.test(EMPTY_BOX)).toBe(true);
    // A prompt that starts with those words, typed into the box, is no empty box.
    expect(PROGRAMS.gemini.emptyBoxHint?.test(' > Type your message or @path/to/file, please')).toBe(false);
  });

  it('types the next prompt once the submit is proven, while its answer still moves the box (no still interval)', async () => {
    const r = rig({ profile: gemini });
    // After the first Enter its answer is drawn above the box for 200 ms: the box moves down a row every 5 ms.
    let enters = 0;
    r.fake.onWrite = (data) => {
      if (data !== '\r' || enters++ > 0) return;
      for (let k = 1; k <= 40; k++) r.fake.later(5 + 5 * k, () => r.fake.show(PROMPT, 11 + k));
    };
    expect((await firstThenSecond(r)).gap).toBeLessThan(150);
  });

  it('OpenCode: the next prompt goes once the submit is proven by a whole frame and its quiet interval passed, while its answer still moves the box (no still interval)', async () => {
    const r = rig({ profile: { ...PROGRAMS.opencode, busy: null, inputRow: null } });
    r.fake.frames(false, 1);
    // After the first Enter: a whole frame with the box empty 5 ms later, then its answer drawn above the box for 200
    // ms, a frame every 5 ms, each moving the box down a row.
    let enters = 0;
    r.fake.onWrite = (data) => {
      if (data !== '\r' || enters++ > 0) return;
      r.fake.later(5, () => {
        r.fake.show(PROMPT, 11);
        r.fake.frames(false, 2);
      });
      for (let k = 1; k <= 40; k++) {
        r.fake.later(5 + 5 * k, () => {
          r.fake.show(PROMPT, 11 + k);
          r.fake.frames(false, 2 + k);
        });
      }
    };
    const { gap } = await firstThenSecond(r);
    expect(gap).toBeGreaterThanOrEqual(PROGRAMS.opencode.quietAfterSubmitMs - TIMER_SLACK_MS);
    expect(gap).toBeLessThan(150);
  });

  it('types while its busy mark shows, but not while it holds a queued prompt', async () => {
    const r = rig({ profile: gemini });
    const t0 = Date.now();
    r.fake.show(PROMPT, 10, ['⠋ Thinking... (esc to cancel, 0s)', QUEUED_ROW, '    an earlier prompt', '╭────╮']);
    r.fake.later(300, () => r.fake.show(PROMPT, 10, ['⠋ Thinking... (esc to cancel, 0s)', '╭────╮']));
    const outcome = await runOne(r, job('j1', 'after the queue went'));
    expect(outcome.status).toBe('submitted');
    const typed = (r.fake.textWrites()[0]?.at ?? 0) - t0;
    expect(typed).toBeGreaterThanOrEqual(300);
    expect(typed).toBeLessThan(400);
  });

  it('the prompt showing in the conversation after the Enter, with the text gone from the box, proves the submit at once', async () => {
    const r = rig({ profile: gemini });
    r.fake.show(PROMPT, 10, ['✦ answer', '', '╭────╮']);
    r.fake.onWrite = (data) => {
      if (data === '\r') r.fake.later(8, () => r.fake.show(PROMPT, 12, ['✦ answer', '', '> into the conversation', '', '╭────╮']));
    };
    const outcome = await runOne(r, job('j1', 'into the conversation'));
    expect(outcome.status).toBe('submitted');
    const at = Date.parse(outcome.status === 'submitted' ? (outcome.submitted_at ?? '') : '');
    expect(at - (r.fake.enterWrites()[0]?.at ?? 0)).toBeLessThan(5 + SUBMIT_PROOF_STILL_MS);
  });

  it('a box still showing its hint has not taken the text, however long the screen above it holds still', async () => {
    // Gemini busy: its spinner row moves 10 ms after the paste, then nothing for 1 s, then the echo.
    const r = rig({ profile: gemini, echoDelayMs: 1_000 });
    r.fake.show(EMPTY_BOX, 10, ['⠋ Thinking... (esc to cancel, 0s)', '╭────╮']);
    r.fake.onWrite = (data) => {
      if (data.startsWith(PASTE_START)) r.fake.later(10, () => r.fake.show(EMPTY_BOX, 11, ['⠙ Thinking... (esc to cancel, 0s)', '', '╭────╮']));
    };
    const outcome = await runOne(r, job('j1', 'echoed late'));
    expect(outcome.status).toBe('submitted');
    const echo = r.fake.reactions.find((x) => x.line.includes('echoed late'));
    expect(only(r.fake.enterWrites()).at).toBeGreaterThanOrEqual(echo?.at ?? Infinity);
  });

  it('with no hint known, a cursor row that reads as before the paste has not taken the text, however long the rest holds still', async () => {
    // The same late echo, for an echoing program whose empty box draws nothing telepty knows: the layout moves the
    // box (a spinner row comes) 10 ms after the paste, its row reads as before, then nothing for 1 s, then the echo.
    const r = rig({ profile: { ...gemini, emptyBoxHint: null }, echoDelayMs: 1_000 });
    r.fake.show('│ >          │', 10, ['⠋ Working', '╭────╮']);
    r.fake.onWrite = (data) => {
      if (data.startsWith(PASTE_START)) r.fake.later(10, () => r.fake.show('│ >          │', 11, ['⠙ Working', '', '╭────╮']));
    };
    const outcome = await runOne(r, job('j1', 'echoed late'));
    expect(outcome.status).toBe('submitted');
    const echo = r.fake.reactions.find((x) => x.line.includes('echoed late'));
    expect(only(r.fake.enterWrites()).at).toBeGreaterThanOrEqual(echo?.at ?? Infinity);
  });

  it('after an Enter it did not take, a box caught without the text for a moment does not let the next prompt in', async () => {
    const r = rig({ profile: gemini, submitDelayMs: null });
    // The first Enter is not taken (the text stays: entered); after the watch the box shows erased for 10 ms (a redraw
    // caught midway), then with the text again.
    let enters = 0;
    r.fake.onWrite = (data) => {
      if (data !== '\r' || enters++ > 0) return;
      r.fake.later(T.submitWatchMs + 20, () => {
        void r.fake.cursorState().then((shown) => {
          r.fake.show(PROMPT);
          r.fake.later(10, () => r.fake.show(shown.line));
        });
      });
    };
    r.queue.enqueue(job('a', 'first prompt'));
    r.queue.enqueue(job('b', 'second'));
    expect(await r.events.wait('a')).toMatchObject({ status: 'entered' });
    expect(failure(await r.events.wait('b'))).toMatchObject({ code: 'SESSION_BUSY' });
    expect(r.fake.textWrites()).toHaveLength(1);
  });

  it('its queue showing after the Enter, with the text gone from the box, proves the submit at once', async () => {
    const r = rig({ profile: gemini });
    r.fake.show(PROMPT, 10, ['⠋ Thinking... (esc to cancel, 0s)', '╭────╮']);
    r.fake.onWrite = (data) => {
      if (data === '\r') r.fake.later(8, () => r.fake.show(PROMPT, 12, ['⠋ Thinking... (esc to cancel, 0s)', QUEUED_ROW, '    queued', '╭────╮']));
    };
    const outcome = await runOne(r, job('j1', 'queued'));
    expect(outcome.status).toBe('submitted');
    const at = Date.parse(outcome.status === 'submitted' ? (outcome.submitted_at ?? '') : '');
    // Not the text gone for SUBMIT_PROOF_STILL_MS (the box reset at 5 ms, then 30 ms).
    expect(at - (r.fake.enterWrites()[0]?.at ?? 0)).toBeLessThan(5 + SUBMIT_PROOF_STILL_MS);
  });
});

describe('InjectQueue: ready_at, when the program was ready for the prompt (issue 25)', QUEUE_TESTS, () => {
  const busyProfile: ProgramProfile = { ...PROGRAMS.opencode, inputRow: null, queuesWhileBusy: false };
  const at = (o: InjectOutcome | undefined): number => Date.parse((o && 'ready_at' in o ? o.ready_at : undefined) ?? 'x');

  it('a prompt to an idle program: when it was queued', async () => {
    const r = rig();
    const t0 = Date.now();
    const outcome = await runOne(r, job('j1', 'idle'));
    expect(outcome.status).toBe('submitted');
    expect(at(outcome)).toBe(t0);
  });

  it('a prompt queued behind another: the previous one submitted (its text left the box), not when this one was queued', async () => {
    const r = rig();
    r.queue.enqueue(job('a', 'first'));
    r.queue.enqueue(job('b', 'second'));
    const b = await r.events.wait('b');
    const a = r.events.outcomes.get('a');
    const aSubmitted = Date.parse((a && 'submitted_at' in a ? a.submitted_at : null) ?? 'x');
    expect(at(b)).toBe(aSubmitted);
    // telepty's own waits (the text gone 30 ms, the row still) come after it: they count in telepty's part.
    expect((r.fake.textWrites()[1]?.at ?? 0) - at(b)).toBeGreaterThanOrEqual(SUBMIT_PROOF_STILL_MS);
  });

  it('a prompt that waits for a busy program: when its busy mark went', async () => {
    const r = rig({ profile: busyProfile });
    // The turn starts 300 ms after each Enter and runs 200 ms.
    let turnEnd = 0;
    r.fake.onWrite = (data) => {
      if (data !== '\r') return;
      r.fake.later(300, () => r.fake.footer(['  ■⬝⬝⬝⬝⬝⬝⬝  esc interrupt']));
      r.fake.later(500, () => {
        turnEnd = Date.now();
        r.fake.footer(['  ~/work']);
      });
    };
    r.queue.enqueue(job('a', 'first'));
    r.queue.enqueue(job('b', 'second'));
    const b = await r.events.wait('b');
    expect(turnEnd).toBeGreaterThan(0);
    expect(at(b)).toBeGreaterThanOrEqual(turnEnd);
    expect(at(b) - turnEnd).toBeLessThanOrEqual(T.pollMs + 10);
    expect(at(b)).toBeLessThanOrEqual(r.fake.textWrites()[1]?.at ?? 0);
  });
});

describe('InjectQueue: only the input box shows what the program took (OpenCode 1.18.33, issue 25)', QUEUE_TESTS, () => {
  // OpenCode's box rows begin with its border; here, with the fake's prompt.
  const boxed: ProgramProfile = { ...PROGRAMS.opencode, busy: null, inputRow: /^> /, submitWatchMs: 0 };

  it("the text's end on a row outside the box (the cursor parked there mid-redraw) is not the text taken: the Enter waits for the box", async () => {
    const r = rig({ profile: boxed, echo: 'none' });
    r.fake.onWrite = (data) => {
      if (data === '\r') return;
      // The cursor rests on a conversation row that shows the same words, then the box shows the text 200 ms later.
      r.fake.later(2, () => r.fake.show('  ┃  earlier turn: the same words', 3));
      r.fake.later(200, () => r.fake.show(`${PROMPT}the same words`, 10));
    };
    const outcome = await runOne(r, job('j1', 'the same words'));
    expect(outcome.status).toBe('submitted');
    const text = only(r.fake.textWrites());
    const enter = only(r.fake.enterWrites());
    expect(enter.at - text.at).toBeGreaterThanOrEqual(200);
  });

  it('after the Enter, the cursor parked outside the box for longer than the proof interval is no proof: the text is still in the box', async () => {
    const r = rig({ profile: boxed, submitDelayMs: null });
    r.fake.onWrite = (data) => {
      if (data !== '\r') return;
      r.fake.later(2, () => r.fake.show('  drawing the conversation', 3));
      r.fake.later(80, () => r.fake.show(`${PROMPT}still here`, 10));
    };
    const outcome = await runOne(r, job('j1', 'still here'));
    expect(outcome.status).toBe('entered');
  });

  it("after the Enter, the program's placeholder for the paste on the box row is the text still there, not gone", async () => {
    const r = rig({ profile: boxed, echo: 'placeholder', placeholder: '[Pasted ~1 lines]', submitDelayMs: null });
    r.fake.onWrite = (data) => {
      if (data === '\r') r.fake.later(2, () => r.fake.show(`${PROMPT}[Pasted ~25 lines]`));
    };
    const outcome = await runOne(r, job('j1', 'a long paste'));
    expect(outcome.status).toBe('entered');
  });
});

describe('InjectQueue: a screen caught midway through a synchronized-output frame is not judged', QUEUE_TESTS, () => {
  it('the text seen on a row while a frame is open (the cursor where the program is drawing) is not the echo: the Enter waits for the frame to end', async () => {
    // No input row known: only the frame tells the conversation row from the box.
    const r = rig({ echo: 'none', profile: { ...PROGRAMS.opencode, busy: null, inputRow: null } });
    r.fake.onWrite = (data) => {
      if (data === '\r') return;
      r.fake.later(2, () => {
        r.fake.frames(true, 0);
        r.fake.show('  an earlier turn: the same words', 3);
      });
      r.fake.later(100, () => {
        r.fake.show(`${PROMPT}the same words`, 10);
        r.fake.frames(false, 1);
      });
    };
    const outcome = await runOne(r, job('j1', 'the same words'));
    expect(outcome.status).toBe('submitted');
    expect(only(r.fake.enterWrites()).at - only(r.fake.textWrites()).at).toBeGreaterThanOrEqual(100);
  });

  it('a program that leaves a frame open is read as it is after SYNC_FRAME_MAX_MS, not waited on forever', async () => {
    const r = rig();
    r.fake.frames(true, 0);
    const t0 = Date.now();
    const outcome = await runOne(r, job('j1', 'hello'));
    expect(outcome.status).toBe('submitted');
    expect(Date.now() - t0).toBeGreaterThanOrEqual(300);
    expect(Date.now() - t0).toBeLessThan(1_000);
  });
});
