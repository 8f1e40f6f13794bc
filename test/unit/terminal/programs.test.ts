import { describe, expect, it } from 'vitest';
import { PROGRAMS, programFor } from '../../../src/terminal/programs.js';
import { afterPrompt, historyEndShows, historyOpening, historyShows, markShows, placeholderIn, promptAgain, promptOf, showsTail, squeezedLastLine, textEndAbove, typingRows } from '../../../src/terminal/submit-evidence.js';
import type { CursorState } from '../../../src/terminal/inject-queue.js';

function at(line: string, above: string[] = []): CursorState {
  return { buffer: 'normal', x: line.length, y: 10, line, above };
}

describe('which program a session runs', () => {
  it('knows the AI CLIs by name, by path, through node/npx, and a shell only without -c', () => {
    expect(programFor('claude', []).name).toBe('claude');
    expect(programFor('/usr/local/bin/gemini', ['--yolo']).name).toBe('gemini');
    expect(programFor('npx', ['-y', '@openai/codex']).name).toBe('codex');
    expect(programFor('opencode', []).name).toBe('opencode');
    expect(programFor('node', ['/x/wrapper.mjs', '/x/gemini-like.mjs']).name).toBe('gemini');
    expect(programFor('bash', []).name).toBe('shell');
    expect(programFor('bash', ['-c', 'read x']).name).toBe('other');
    expect(programFor('python3', ['app.py']).name).toBe('other');
    expect(programFor('vim', ['claude.txt']).name).toBe('other');
  });

  it('looks through a launcher: env, nice and npx run a shell or an agent as if it were run directly', () => {
    expect(programFor('env', ['PS1=tools$ ', 'bash', '--norc']).name).toBe('shell');
    expect(programFor('nice', ['-n', '5', 'zsh']).name).toBe('shell');
    expect(programFor('env', ['bash', '-c', 'read x']).name).toBe('other');
    expect(programFor('env', ['A=1', 'nice', 'claude', '--resume']).name).toBe('claude');
    expect(programFor('npx', ['@google/gemini-cli@latest']).name).toBe('gemini');
    expect(programFor('uv', ['run', 'claude']).name).toBe('claude');
    expect(programFor('env', []).name).toBe('other');
  });

  it('gives Gemini a paste settle above its measured 50 ms newline window, Claude the 150 ms quiet row measured after its box reset', () => {
    expect(PROGRAMS.gemini.pasteEnterMs).toBeGreaterThanOrEqual(50);
    expect(PROGRAMS.claude.quietAfterSubmitMs).toBeGreaterThanOrEqual(150);
    for (const name of ['claude', 'codex', 'gemini', 'opencode'] as const) expect(PROGRAMS[name].echoes).toBe(true);
    expect(PROGRAMS.claude.quietAfterSubmitMs).toBeGreaterThan(0);
    // Codex draws every screen as a synchronized frame, and the frame that shows its box empty after the Enter is the
    // submit (framedScreen): no quiet interval after it, but its input row must still hold still (rowStillAfterSubmitMs
    // null: ROW_STILL_AFTER_SUBMIT_MS). OpenCode draws frames too; what once looked like its paste gone and then back
    // was an Enter sent before it had handled the paste (a mid-frame read): its whole frame is its proof too, and its
    // 50 ms after the Enter stay.
    expect(PROGRAMS.codex.framedScreen).toBe(true);
    expect(PROGRAMS.codex.quietAfterSubmitMs).toBe(0);
    expect(PROGRAMS.codex.rowStillAfterSubmitMs).toBeNull();
    expect(PROGRAMS.opencode.framedScreen).toBe(true);
    expect(PROGRAMS.opencode.quietAfterSubmitMs).toBe(50);
    expect(PROGRAMS.opencode.busyAppearMs).toBeGreaterThan(0);
    for (const name of ['claude', 'gemini', 'shell', 'other'] as const) expect(PROGRAMS[name].framedScreen).toBe(false);
    // Gemini CLI 0.61 empties its box in the key handler that takes the prompt, and what it queues during a turn shows
    // (queuedMark): no quiet interval after its submit, but never a second prompt while one is queued.
    expect(PROGRAMS.gemini.quietAfterSubmitMs).toBe(0);
    expect(PROGRAMS.gemini.queuedMark).not.toBeNull();
  });
});

describe('reading the input box', () => {
  it('finds the text end on the cursor row, or wrapped onto it from the row above, inside box borders', () => {
    expect(showsTail(at('│ > review it │'), 'eview it')).toBe(true);
    expect(showsTail(at('│ ew it         │', ['│ > please revi │']), 'eview it')).toBe(true);
    // The same words higher up (an earlier prompt) with an empty cursor row do not count.
    expect(showsTail(at('│ >', ['> please review it']), 'eview it')).toBe(false);
  });

  it('sees a known placeholder', () => {
    expect(placeholderIn(['│ > [Pasted Text: 640 chars] │'], PROGRAMS.gemini.placeholder)).toBe('[Pasted Text: 640 chars]');
    expect(placeholderIn(['│ > hello │'], PROGRAMS.gemini.placeholder)).toBeNull();
  });

  it('sees a mark of the text on a row or across a wrap, and the wrapped end of the text above the cursor', () => {
    expect(markShows(['│ > please review it │', '│'], 'eview it')).toBe(true);
    expect(markShows(['│ > please rev │', '│ iew it │'], 'eview it')).toBe(true);
    expect(markShows(['[line] submitted #1: 22 chars', 'line>'], 'ond line')).toBe(false);
    const lastLine = squeezedLastLine('first\nplease review the whole module');
    expect(textEndAbove(at('│', ['│ hole module │']), lastLine)).toBe(true);
    expect(textEndAbove(at('│ >', ['╭──────╮']), lastLine)).toBe(false);
  });
});

describe('a submitted prompt in the conversation (Gemini CLI\'s "> " rows)', () => {
  const HISTORY = PROGRAMS.gemini.historyRow;
  const state = (y: number, above: string[], line = ' >   Type your message'): CursorState => ({ buffer: 'normal', x: 0, y, line, above });
  const before = state(10, ['✦ Noted.', '', 'Shift+Tab to accept edits', '───']);
  const opening = historyOpening('b3: check the queue and report') ?? '';

  it('takes the first line\'s first characters, none of a text that starts with a tab', () => {
    expect(opening).toBe('b3: check the qu');
    expect(historyOpening('  one\ntwo')).toBe('one');
    expect(historyOpening('\tx')).toBe('x');
    expect(historyOpening('a\tb')).toBeNull();
  });

  it('a row new since the Enter that shows the prompt, above the box, is the submission', () => {
    const after = state(12, ['✦ Noted.', '', '> b3: check the queue and report', '', 'Shift+Tab to accept edits', '───']);
    expect(historyShows(after, before, HISTORY, 1, opening)).toBe(true);
    expect(historyShows(state(12, ['✦ Noted.', '', ' > b3: check the queue and report', '', 'x', '───']), before, HISTORY, 1, opening)).toBe(true);
  });

  it('is not a row that showed it before the Enter, a row scrolled into view from above, or the box', () => {
    const same = state(10, ['> b3: check the queue and report', '', 'Shift+Tab to accept edits', '───']);
    expect(historyShows(same, same, HISTORY, 1, opening)).toBe(false);
    // A redraw moved the cursor up 3 rows: an earlier identical prompt at row 3 comes into view (the screen seen before began at row 6).
    expect(historyShows(state(7, ['> b3: check the queue and report', '', '', '']), before, HISTORY, 1, opening)).toBe(false);
    // In the box (the cursor row and the row above it): a newline, not a submission.
    expect(historyShows(state(11, ['✦ Noted.', '', 'Shift+Tab', '───', '> b3: check the queue and report'], ''), before, HISTORY, 1, opening)).toBe(false);
    // Another prompt's row.
    expect(historyShows(state(12, ['✦ Noted.', '', '> b4: check the queue', '', 'x', '───']), before, HISTORY, 1, opening)).toBe(false);
  });
});

describe("a long paste's end in the conversation (Gemini CLI draws its start beyond the rows read above the box)", () => {
  const PASTE = `s6: ${'check the queue and report what failed, then retry once. '.repeat(40)}`.trimEnd();
  const state = (y: number, above: string[], line = ' >   Type your message'): CursorState => ({ buffer: 'normal', x: 0, y, line, above });
  const before = state(10, ['✦ Noted.', '', 'Shift+Tab to accept edits', '───'], ' > [Pasted Text: 2000 chars]');

  it('a row new since the Enter showing nothing but the end of the prompt, above the box, is the submission', () => {
    const after = state(30, ['  check the queue and report what failed, then retry once.', '', ' ⠋ Thinking...', '───', 'Shift+Tab', '───']);
    expect(historyEndShows(after, before, 1, PASTE)).toBe(true);
  });

  it('is not a row seen before the Enter, a row too short to tell, a row in the box, or a row scrolled into view from above', () => {
    const end = '  check the queue and report what failed, then retry once.';
    // The same end showed before the Enter (an earlier identical paste): no proof.
    const seen = state(10, [end, '', 'Shift+Tab', '───'], ' > [Pasted Text: 2000 chars]');
    expect(historyEndShows(state(30, [end, '', 'x', '───']), seen, 1, PASTE)).toBe(false);
    // Fewer than 16 characters, even though they end the prompt.
    expect(historyEndShows(state(30, ['  retry once.', '', 'x', '───']), before, 1, PASTE)).toBe(false);
    // In the box (the row right above the cursor row).
    expect(historyEndShows(state(12, ['x', '───', end]), before, 1, PASTE)).toBe(false);
    // Above the part of the screen seen before the Enter (it began at row 6): a redraw brought it into view.
    expect(historyEndShows(state(8, [end, '', '', '']), before, 1, PASTE)).toBe(false);
    // A row that is not the prompt's end.
    expect(historyEndShows(state(30, ['  check the queue and report what failed, then', '', 'x', '───']), before, 1, PASTE)).toBe(false);
  });
});

describe('the prompt left of the typed text', () => {
  const before: CursorState = { buffer: 'normal', x: 7, y: 4, line: 'tools$ ' };

  it('is what the row showed left of the cursor before typing, its end blanks left out', () => {
    expect(promptOf(before)).toBe('tools$');
    expect(promptOf({ ...before, line: '│ > Try "fix lint"', x: 4 })).toBe('│ >');
  });

  it('is not taken for the text: only what follows it on the row can be', () => {
    expect(afterPrompt('tools$ ls', 'tools$')).toBe(' ls');
    expect(markShows([afterPrompt('tools$ ', 'tools$')], 'ls')).toBe(false);
    expect(markShows([afterPrompt('tools$ ls', 'tools$')], 'ls')).toBe(true);
    // A row that no longer starts with the prompt is looked at whole.
    expect(afterPrompt('[1] tools$ ls', 'tools$')).toBe('[1] tools$ ls');
    expect(typingRows({ ...before, y: 6, line: 'tools$ ', above: ['ls'] }, 1, 'tools$')).toEqual(['ls', ' ']);
  });

  it('shown again alone on a new row means a new line was started, whatever the output above it', () => {
    const entered: CursorState = { ...before, x: 14, line: 'tools$ echo hi' };
    expect(promptAgain({ ...before, y: 6, above: ['hi'] }, entered, 'tools$')).toBe(true);
    expect(promptAgain({ ...before, y: 4 }, entered, 'tools$')).toBe(false); // the same row: the text erased, not submitted
    expect(promptAgain({ ...before, y: 5, line: '> ' }, entered, 'tools$')).toBe(false); // a continuation row
    expect(promptAgain({ ...before, y: 5, line: '' }, entered, '')).toBe(false); // no prompt: nothing to go by
  });
});
