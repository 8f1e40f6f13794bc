import { describe, expect, it } from 'vitest';
import type { AgentStateInfo } from '../../../src/protocol/agent-state.js';
import { AgentStateTracker, type StateClock } from '../../../src/terminal/state-tracker.js';

/** A manual clock: time moves only when the test says. */
function manualClock(): StateClock & { advance(ms: number): void } {
  let t = 1_000;
  let timers: { at: number; fn: () => void; live: boolean }[] = [];
  return {
    now: () => t,
    setTimeout(fn, ms) {
      const timer = { at: t + ms, fn, live: true };
      timers.push(timer);
      return { cancel: () => void (timer.live = false) };
    },
    advance(ms) {
      t += ms;
      const due = timers.filter((x) => x.live && x.at <= t);
      timers = timers.filter((x) => x.live && x.at > t);
      for (const x of due) x.fn();
    },
  };
}

const box = ['╭──────╮', '│ >    │', '╰──────╯'];
const IDLE = ['● done', ...box];
const WORKING = ['✻ Working… (esc to interrupt)', ...box];
const DIALOG = ['Do you want to proceed?', '❯ 1. Yes', '  2. No'];

function setup(settleMs = 200) {
  const clock = manualClock();
  const changes: AgentStateInfo[] = [];
  const t = new AgentStateTracker({ program: 'claude', clock, settleMs, onChange: (info) => changes.push(info) });
  return { clock, changes, t, states: () => changes.map((c) => `${c.state}/${c.source}`) };
}

describe('agent state from evidence', () => {
  it('starts, becomes idle at the first idle screen, working at once, idle only once the screen held', () => {
    const { t, clock, states } = setup();
    expect(t.current.state).toBe('starting');
    t.screen(IDLE);
    t.screen(WORKING);
    t.screen(IDLE); // a repaint between two spinner frames
    clock.advance(100);
    t.screen(WORKING);
    clock.advance(300);
    expect(states()).toEqual(['idle/screen', 'working/screen']);
    t.screen(IDLE);
    clock.advance(199);
    expect(t.current.state).toBe('working');
    clock.advance(1);
    expect(states()).toEqual(['idle/screen', 'working/screen', 'idle/screen']);
    expect(t.current.reason).toMatch(/claude.prompt, held 200 ms/);
  });

  it('raises blocked with the question at once, and leaves it when the dialog is gone', () => {
    const { t, clock, states } = setup();
    t.screen(WORKING);
    t.screen(DIALOG);
    expect(t.current).toMatchObject({ state: 'blocked', source: 'screen', detail: 'Do you want to proceed?' });
    t.screen(WORKING);
    expect(t.current.state).toBe('working');
    t.screen(DIALOG);
    t.screen(IDLE);
    clock.advance(200);
    expect(states()).toEqual(['working/screen', 'blocked/screen', 'working/screen', 'blocked/screen', 'idle/screen']);
  });

  it('lets hooks decide idle and working once seen; the screen may still raise a dialog', () => {
    const { t, clock, states } = setup();
    t.hook({ event: 'SessionStart' });
    t.hook({ event: 'UserPromptSubmit', prompt: 'review' });
    t.screen(IDLE); // a stale or misleading screen
    clock.advance(1_000);
    expect(t.current).toMatchObject({ state: 'working', source: 'hook' });
    t.screen(DIALOG);
    expect(t.current).toMatchObject({ state: 'blocked', source: 'screen' });
    t.hook({ event: 'Notification', notification_type: 'permission_prompt', message: 'Claude needs your permission to use Bash' });
    expect(t.current).toMatchObject({ state: 'blocked', source: 'hook', detail: 'Claude needs your permission to use Bash' });
    t.hook({ event: 'PostToolUse' });
    t.hook({ event: 'Stop' });
    expect(states()).toEqual(['idle/hook', 'working/hook', 'blocked/screen', 'blocked/hook', 'working/hook', 'idle/hook']);
  });

  it("Codex's notify (a turn's end only) makes idle at once, and the screen still says when a turn starts", () => {
    const clock = manualClock();
    const changes: AgentStateInfo[] = [];
    const t = new AgentStateTracker({ program: 'codex', clock, onChange: (info) => changes.push(info) });
    t.screen(['• Working (3s • esc to interrupt)', '› ']);
    expect(t.current).toMatchObject({ state: 'working', source: 'screen' });
    t.hook({ event: 'Stop' });
    expect(t.current).toMatchObject({ state: 'idle', source: 'hook' });
    t.screen(['• Working (0s • esc to interrupt)', '› ']);
    expect(t.current).toMatchObject({ state: 'working', source: 'screen' });
  });

  it('a SessionStart report in a turn (a compaction, or a late first report) does not end the turn', () => {
    const { t } = setup();
    t.screen(WORKING);
    t.hook({ event: 'SessionStart' });
    expect(t.current.state).toBe('working');
    t.hook({ event: 'Stop' });
    expect(t.current).toMatchObject({ state: 'idle', source: 'hook' });
  });

  it('takes a spinner title and OSC progress as working, and their end as the way back to idle', () => {
    const { t, clock } = setup();
    t.signal({ kind: 'title', text: '⠋ Fixing tests' });
    expect(t.current).toMatchObject({ state: 'working', source: 'terminal' });
    t.screen(IDLE); // the screen lags the title: no idle while the title spins
    clock.advance(500);
    expect(t.current.state).toBe('working');
    t.signal({ kind: 'title', text: 'Claude Code' });
    clock.advance(200);
    expect(t.current).toMatchObject({ state: 'idle', source: 'screen' });
    t.signal({ kind: 'progress', state: 'indeterminate', value: null });
    expect(t.current.state).toBe('working');
  });

  it('ends in exited and ignores anything after', () => {
    const { t, clock, states } = setup();
    t.screen(WORKING);
    t.screen(IDLE);
    t.exited();
    clock.advance(1_000);
    t.hook({ event: 'UserPromptSubmit' });
    t.screen(WORKING);
    expect(states()).toEqual(['working/screen', 'exited/screen']);
    expect(t.explain()[0]).toMatch(/^exited since/);
  });

  it('is unknown, not starting, for a program with no screen rules (a shell)', () => {
    const t = new AgentStateTracker({ program: 'shell', clock: manualClock(), onChange: () => undefined });
    expect(t.current).toMatchObject({ state: 'unknown', source: null });
  });

  it('goes working when the host proved a submission, once hooks report (their UserPromptSubmit is late); not without hooks', () => {
    const { t } = setup();
    t.screen(IDLE);
    t.submitted();
    expect(t.current.state).toBe('idle');
    t.hook({ event: 'Stop' });
    t.submitted();
    expect(t.current).toMatchObject({ state: 'working', source: 'hook' });
    t.hook({ event: 'UserPromptSubmit' });
    t.hook({ event: 'Stop' });
    expect(t.current.state).toBe('idle');
  });
});
