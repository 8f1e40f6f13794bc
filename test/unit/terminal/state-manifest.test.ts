import { describe, expect, it } from 'vitest';
import { judgeScreen, STATE_MANIFEST } from '../../../src/terminal/state-manifest.js';

const pad = (rows: string[], height = 30): string[] => [...Array.from({ length: height - rows.length }, () => ''), ...rows];

const CLAUDE_IDLE = pad([
  '● The auth module checks tokens in two places.',
  '',
  '╭────────────────────────────────────────────╮',
  '│ >                                          │',
  '╰────────────────────────────────────────────╯',
  '  ? for shortcuts',
]);
const CLAUDE_WORKING = pad([
  '> review the auth module',
  '',
  '✻ Pondering… (12s · ↑ 1.2k tokens · esc to interrupt)',
  '',
  '╭────────────────────────────────────────────╮',
  '│ >                                          │',
  '╰────────────────────────────────────────────╯',
]);
const CLAUDE_DIALOG = pad([
  '╭────────────────────────────────────────────╮',
  '│ Bash command                               │',
  '│                                            │',
  '│   rm -rf build                             │',
  '│   Remove the build folder                  │',
  '│                                            │',
  '│ Do you want to proceed?                    │',
  '│ ❯ 1. Yes                                   │',
  "│   2. Yes, and don't ask again for rm       │",
  '│   3. No, and tell Claude what to do (esc)  │',
  '╰────────────────────────────────────────────╯',
]);

describe('screen rules (the manifest)', () => {
  it('reads Claude Code idle, working and a permission dialog with its question', () => {
    expect(judgeScreen('claude', CLAUDE_IDLE)).toEqual({ state: 'idle', rule: 'claude.prompt', detail: null });
    expect(judgeScreen('claude', CLAUDE_WORKING)).toMatchObject({ state: 'working', rule: 'claude.spinner' });
    expect(judgeScreen('claude', CLAUDE_DIALOG)).toEqual({ state: 'blocked', rule: 'claude.dialog', detail: 'Do you want to proceed?' });
  });

  it('does not take prose that quotes a dialog for one (no options below it)', () => {
    const prose = pad([
      '● When the tool asks "Do you want to proceed?" you can answer with 1.',
      '  1. Yes means run it once.',
      '',
      '╭────────────────────────────────────────────╮',
      '│ >                                          │',
      '╰────────────────────────────────────────────╯',
    ]);
    expect(judgeScreen('claude', prose)).toMatchObject({ state: 'idle' });
  });

  it('does not take a status bar alone for an idle prompt', () => {
    const statusOnly = pad(['  ⏵⏵ accept edits on (shift+tab to cycle)  >  model: opus']);
    expect(judgeScreen('claude', statusOnly)).toBeNull();
  });

  it('leaves a dialog far up in the history out (only the live rows count)', () => {
    const old = [...CLAUDE_DIALOG.filter((r) => r.length > 0), ...Array.from({ length: 25 }, (_, i) => `line ${i}`), ...CLAUDE_IDLE.slice(-4)];
    expect(judgeScreen('claude', old)).toMatchObject({ state: 'idle' });
  });

  it('reads Codex, Gemini CLI and OpenCode screens', () => {
    expect(judgeScreen('codex', pad(['• Working (4s • esc to interrupt)', '', '▌ Ask Codex to do anything', '  ⏎ send   ⌃J newline']))).toMatchObject({ state: 'working' });
    expect(judgeScreen('codex', pad(['▌ Ask Codex to do anything', '  ⏎ send   ⌃J newline   ⌃C quit']))).toMatchObject({ state: 'idle', rule: 'codex.composer' });
    expect(
      judgeScreen('codex', pad(['Would you like to run the following command?', '', '  $ npm test', '', '› 1. Yes, proceed', '  2. No, and tell Codex what to do differently'])),
    ).toMatchObject({ state: 'blocked', detail: 'Would you like to run the following command?' });
    expect(judgeScreen('gemini', pad(['⠏ Reading files (esc to cancel, 3s)', '', '>   Type your message or @path/to/file']))).toMatchObject({ state: 'working' });
    expect(judgeScreen('gemini', pad(['>   Type your message or @path/to/file']))).toMatchObject({ state: 'idle' });
    expect(judgeScreen('gemini', pad(['│ Allow execution of: npm test?', '│ ● 1. Yes, allow once', '│   2. No']))).toMatchObject({ state: 'blocked' });
    expect(judgeScreen('opencode', pad(['Permission required: bash npm test', 'Allow once   Allow always   Reject']))).toMatchObject({ state: 'blocked' });
  });

  it('has no rules for a shell or an unknown program, and says which rules were measured', () => {
    expect(judgeScreen('shell', pad(['$ ']))).toBeNull();
    expect(judgeScreen('other', CLAUDE_DIALOG)).toBeNull();
    for (const m of Object.values(STATE_MANIFEST)) expect(typeof m.measured).toBe('boolean');
  });
});
