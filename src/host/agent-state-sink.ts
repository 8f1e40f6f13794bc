import { StringDecoder } from 'node:string_decoder';
import type { AgentStateInfo, HookReport } from '../protocol/agent-state.js';
import type { ProgramName } from '../terminal/programs.js';
import { SignalScanner } from '../terminal/signals.js';
import { AgentStateTracker, type StateClock } from '../terminal/state-tracker.js';
import type { Logger } from '../util/log.js';
import type { OutputSink, PtyExit } from './parts.js';

/**
 * The screen is judged at most this often while output flows (and once this long after the last chunk): the
 * manifest's rules read the rendered rows, which costs a snapshot; a spinner frame every ~100 ms needs no more.
 * Well under the issue's 300 ms target for screen-only detection, with the tracker's 200 ms settle on top.
 */
export const STATE_JUDGE_EVERY_MS = 75;

export interface AgentStateSinkDeps {
  program: ProgramName;
  /** The visible screen's rows as text, top to bottom (after every byte written so far is parsed). */
  rows(): Promise<string[]>;
  /** The state changed. */
  report(info: AgentStateInfo, explain: string[]): void;
  log: Logger;
  clock?: StateClock;
  judgeEveryMs?: number;
}

const REAL_CLOCK: StateClock = {
  now: () => Date.now(),
  setTimeout(fn, ms) {
    const t = setTimeout(fn, ms);
    return { cancel: () => clearTimeout(t) };
  },
};

/**
 * The agent-state watcher on a session's output (issue 19): every chunk is scanned for terminal signals (cheap,
 * streaming), and the screen is judged by the program's manifest on a throttle, never per chunk. Hook reports
 * come in through `hook()`. Also remembers whether the program asked for application cursor keys (`keys`).
 */
export class AgentStateSink implements OutputSink {
  readonly tracker: AgentStateTracker;
  private readonly scanner = new SignalScanner();
  private readonly decoder = new StringDecoder('utf8');
  private readonly judgeEveryMs: number;
  private judgeTimer: NodeJS.Timeout | undefined;
  private ended = false;
  /** DECCKM as the program last set it. */
  appCursor = false;

  constructor(private readonly deps: AgentStateSinkDeps) {
    this.judgeEveryMs = deps.judgeEveryMs ?? STATE_JUDGE_EVERY_MS;
    this.tracker = new AgentStateTracker({
      program: deps.program,
      clock: deps.clock ?? REAL_CLOCK,
      onChange: (info) => deps.report(info, this.tracker.explain()),
    });
  }

  get current(): AgentStateInfo {
    return this.tracker.current;
  }

  write(data: Buffer): void {
    if (this.ended) return;
    for (const sig of this.scanner.scan(this.decoder.write(data))) {
      if (sig.kind === 'app-cursor') this.appCursor = sig.on;
      else this.tracker.signal(sig);
    }
    this.judgeTimer ??= setTimeout(() => {
      this.judgeTimer = undefined;
      void this.judge();
    }, this.judgeEveryMs);
  }

  /** A report from the program's hook; answers the state it leads to. */
  hook(report: HookReport): AgentStateInfo {
    this.tracker.hook(report);
    return this.tracker.current;
  }

  private async judge(): Promise<void> {
    try {
      const rows = await this.deps.rows();
      if (!this.ended) this.tracker.screen(rows);
    } catch (err) {
      this.deps.log.debug(`agent state: could not read the screen: ${err instanceof Error ? err.message : String(err)}`);
    }
  }

  end(exit: PtyExit): void {
    this.ended = true;
    clearTimeout(this.judgeTimer);
    this.judgeTimer = undefined;
    this.tracker.exited(`the program exited (code ${exit.code ?? 'none'}${exit.signal ? `, signal ${exit.signal}` : ''})`);
  }
}
