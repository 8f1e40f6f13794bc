import type { AgentState, AgentStateInfo, HookReport, StateSource } from '../protocol/agent-state.js';
import { STATE_DETAIL_MAX_CHARS } from '../protocol/agent-state.js';
import type { ProgramName } from './programs.js';
import type { TerminalSignal } from './signals.js';
import { titleSaysWorking } from './signals.js';
import { isoTime } from '../util/iso-time.js';
import { STATE_MANIFEST, judgeScreen, type ScreenJudgment } from './state-manifest.js';

/**
 * One session's agent state from every kind of evidence, strongest first (issue 19):
 * 1. hooks (the program says what it does): once a session's program has reported through a hook, hooks alone
 *    move it between idle and working; the weaker evidence may still raise `blocked` (a dialog the Notification
 *    hook reports late) and clear the `blocked` it raised;
 * 2. terminal signals: a spinner in the title, OSC 9;4 progress — working while they say so;
 * 3. the screen, by the program's manifest: `working` and `blocked` at once, `idle` only once the screen has
 *    shown it for SCREEN_IDLE_SETTLE_MS (a redraw between two spinner frames is not an idle agent).
 */

export interface StateClock {
  now(): number;
  setTimeout(fn: () => void, ms: number): { cancel(): void };
}

export interface StateTrackerOptions {
  program: ProgramName;
  clock: StateClock;
  onChange(info: AgentStateInfo, previous: AgentStateInfo): void;
  /** How long the screen must keep showing idle before a working agent counts as idle. */
  settleMs?: number;
}

/**
 * A spinner redraws at least every ~100-200 ms in these CLIs, and their "working" line is gone for one or two
 * frames while the screen repaints: an idle screen held this long is the turn's end, not a frame between two.
 * Below the 300 ms target for screen-only detection, with the render cadence on top.
 */
export const SCREEN_IDLE_SETTLE_MS = 200;

/** Programs whose hooks report a turn's end only (Codex's notify): they never take idle and working from the screen. */
const PARTIAL_HOOKS: ReadonlySet<ProgramName> = new Set<ProgramName>(['codex']);

function bounded(text: string): string {
  const t = text.replace(/\s+/g, ' ').trim();
  return t.length > STATE_DETAIL_MAX_CHARS ? `${t.slice(0, STATE_DETAIL_MAX_CHARS - 1)}…` : t;
}

export class AgentStateTracker {
  private info: AgentStateInfo;
  private hooksSeen = false;
  private signalWorking: string | null = null;
  private lastScreen: ScreenJudgment | null = null;
  private settle: { cancel(): void } | null = null;
  private readonly settleMs: number;

  constructor(private readonly opts: StateTrackerOptions) {
    this.settleMs = opts.settleMs ?? SCREEN_IDLE_SETTLE_MS;
    // A program the manifest has no rules for (a shell, anything else) never shows a state: unknown, not starting.
    this.info =
      STATE_MANIFEST[opts.program].rules.length === 0
        ? { state: 'unknown', since: opts.clock.now(), source: null, detail: null, reason: `no screen rules for ${opts.program}` }
        : { state: 'starting', since: opts.clock.now(), source: null, detail: null, reason: 'the session started' };
  }

  get current(): AgentStateInfo {
    return this.info;
  }

  /** The program's hooks have reported (they decide idle and working). */
  get hooksReporting(): boolean {
    return this.hooksSeen;
  }

  /** What decided the current state, for `telepty state --explain`. */
  explain(): string[] {
    const lines = [`${this.info.state} since ${isoTime(this.info.since)}: ${this.info.reason}`];
    lines.push(this.hooksSeen ? 'hooks: reporting (they decide idle and working)' : PARTIAL_HOOKS.has(this.opts.program) ? "hooks: a turn's end only (notify); the screen says working" : 'hooks: none seen');
    lines.push(this.signalWorking ? `terminal: working (${this.signalWorking})` : 'terminal: nothing that says working');
    lines.push(this.lastScreen ? `screen: ${this.lastScreen.state} by rule ${this.lastScreen.rule}` : 'screen: no rule matches');
    return lines;
  }

  /** A report from the program's hook. */
  hook(report: HookReport): void {
    if (this.info.state === 'exited') return;
    // Codex's notify says only that a turn ended: the screen keeps deciding when one starts.
    if (!PARTIAL_HOOKS.has(this.opts.program)) this.hooksSeen = true;
    switch (report.event) {
      case 'UserPromptSubmit':
      case 'PreToolUse':
      case 'PostToolUse':
        this.set('working', 'hook', null, `hook ${report.event}`);
        return;
      case 'Stop':
        this.set('idle', 'hook', null, `hook ${report.event}`);
        return;
      case 'SessionStart':
        // Ready at start; in a turn it is a compaction or a late report (a hook's first start is slow): no idle.
        if (this.info.state === 'starting' || this.info.state === 'unknown' || this.info.state === 'idle') this.set('idle', 'hook', null, 'hook SessionStart');
        return;
      case 'StopFailure':
        this.set('idle', 'hook', report.message ? bounded(report.message) : null, 'hook StopFailure (the turn ended in an error)');
        return;
      case 'Notification':
        if (report.notification_type === 'permission_prompt') {
          this.set('blocked', 'hook', bounded(report.message ?? 'permission requested'), 'hook Notification permission_prompt');
        } else if (report.notification_type === 'idle_prompt') {
          this.set('idle', 'hook', null, 'hook Notification idle_prompt');
        }
        return;
      case 'SessionEnd':
        this.exited('hook SessionEnd');
        return;
    }
  }

  /**
   * The host proved a prompt it typed was submitted. With hooks, the turn is working from now: the program's own
   * UserPromptSubmit report takes a process start to arrive, and `inject && wait --until idle` must not see the idle
   * from before the turn. (Without hooks the screen shows the turn within a judgment; nothing is assumed.)
   */
  submitted(): void {
    if (!this.hooksSeen || this.info.state !== 'idle') return;
    this.set('working', 'hook', null, 'a prompt was submitted (its UserPromptSubmit hook follows)');
  }

  /** A signal the scanner found in the program's output. */
  signal(sig: TerminalSignal): void {
    if (this.info.state === 'exited') return;
    if (sig.kind === 'title') this.signalWorking = titleSaysWorking(sig.text) ? `title "${bounded(sig.text)}"` : null;
    else if (sig.kind === 'progress') this.signalWorking = sig.state === 'indeterminate' || sig.state === 'value' ? `progress ${sig.state}` : null;
    else return;
    if (this.hooksSeen) return;
    if (this.signalWorking) this.set('working', 'terminal', null, this.signalWorking);
    else if (this.lastScreen) this.screenJudged(this.lastScreen);
    else if (this.info.state === 'working' && this.info.source === 'terminal') this.pendingIdle('the terminal stopped saying working');
  }

  /** The screen as rendered now (rows top to bottom). */
  screen(rows: readonly string[]): void {
    if (this.info.state === 'exited') return;
    const judged = judgeScreen(this.opts.program, rows);
    this.lastScreen = judged;
    if (judged) this.screenJudged(judged);
    else if (this.screenDialog()) this.pendingIdle('the dialog is gone');
  }

  /** The program ended. */
  exited(reason = 'the program exited'): void {
    this.cancelSettle();
    this.set('exited', this.info.source ?? 'terminal', null, reason);
  }

  /** The current state is a dialog the screen raised (a hook's dialog is ended by the hooks). */
  private screenDialog(): boolean {
    return this.info.state === 'blocked' && this.info.source !== 'hook';
  }

  private screenJudged(j: ScreenJudgment): void {
    if (j.state === 'blocked') {
      this.cancelSettle();
      if (!(this.info.state === 'blocked' && this.info.source === 'hook')) this.set('blocked', 'screen', j.detail, `screen rule ${j.rule}`);
      return;
    }
    const dialog = this.screenDialog();
    if ((this.hooksSeen || this.signalWorking) && !dialog) return;
    if (j.state === 'working') {
      this.cancelSettle();
      this.set('working', 'screen', null, `screen rule ${j.rule}`);
    } else {
      this.pendingIdle(`screen rule ${j.rule}`);
    }
  }

  /** Idle from the screen only once it has held: a working or blocked agent's repaint is not the end of a turn. */
  private pendingIdle(reason: string): void {
    if (this.info.state === 'idle' || this.settle) return;
    if (this.info.state === 'starting' || this.info.state === 'unknown') {
      this.set('idle', 'screen', null, reason);
      return;
    }
    this.settle = this.opts.clock.setTimeout(() => {
      this.settle = null;
      const j = this.lastScreen;
      if (this.info.state === 'exited' || j?.state === 'blocked') return;
      if (this.screenDialog()) {
        // The dialog was answered: an agent with hooks or a working signal goes on with its turn.
        const next: AgentState = this.hooksSeen || this.signalWorking ? 'working' : j?.state === 'working' ? 'working' : 'idle';
        this.set(next, 'screen', null, `${reason}, held ${this.settleMs} ms`);
      } else if ((j?.state === 'idle' || (j === null && this.info.source === 'terminal')) && !this.hooksSeen && !this.signalWorking) {
        this.set('idle', 'screen', null, `${reason}, held ${this.settleMs} ms`);
      }
    }, this.settleMs);
  }

  private cancelSettle(): void {
    this.settle?.cancel();
    this.settle = null;
  }

  private set(state: AgentState, source: StateSource, detail: string | null, reason: string): void {
    const prev = this.info;
    if (prev.state === state && prev.detail === detail) {
      if (prev.source !== source || prev.reason !== reason) this.info = { ...prev, source, reason };
      return;
    }
    this.cancelSettle();
    this.info = { state, since: this.opts.clock.now(), source, detail, reason };
    this.opts.onChange(this.info, prev);
  }
}
