import { describe, expect, it } from 'vitest';
import { HOOK_CONFIRM_WAIT_MS, InjectFollowUp } from '../../../src/host/inject-follow.js';
import type { CursorState } from '../../../src/terminal/inject-queue.js';

/** A screen of `lines` (the whole buffer, scrollback included) with the cursor on row `y`. */
function follow(opts: { hooks?: boolean } = {}) {
  const screen = { lines: [] as string[], y: 0 };
  const f = new InjectFollowUp({
    cursor: async (): Promise<CursorState> => ({ buffer: 'normal', x: 2, y: screen.y, line: screen.lines[screen.y] ?? '', above: screen.lines.slice(Math.max(0, screen.y - 20), screen.y), below: [] }),
    lines: async () => [...screen.lines],
    hooksReporting: () => opts.hooks === true,
    now: Date.now,
    warn: () => undefined,
  });
  return { f, screen };
}

const submitted = { status: 'submitted' as const, written_at: '2026-12-05T00:00:00.000Z', submitted_at: '2026-12-05T00:00:00.010Z' };

describe("a host's follow-up of its injects (issue 19)", () => {
  it('read --since: the rows written from the submission on, and the rows above the cursor the program changed', async () => {
    const { f, screen } = follow();
    screen.lines = ['ready', '• prompt 5 chars', '╭────╮', '│ >  │'];
    screen.y = 3;
    f.expect('q1', 'hello');
    expect(await f.finish('q1', submitted)).toMatchObject({ status: 'submitted', confirmed_by: 'screen' });
    // The answer took the box's place (its top border changed), the earlier rows stayed.
    screen.lines = ['ready', '• prompt 5 chars', 'answer: hello', 'more', '❯'];
    const r = await f.since('q1');
    expect(r).toMatchObject({ inject_id: 'q1', lines: ['answer: hello', 'more', '❯'], total_lines: 3, truncated: false, lost: false });
  });

  it('finds its rows after the scrollback dropped the oldest ones, and says lost when they are gone', async () => {
    const { f, screen } = follow();
    screen.lines = Array.from({ length: 30 }, (_, i) => `line ${i}`);
    screen.y = 30;
    screen.lines.push('');
    f.expect('q1', 'x');
    await f.finish('q1', submitted);
    // 10 rows dropped off the top, the answer below.
    screen.lines = [...Array.from({ length: 20 }, (_, i) => `line ${i + 10}`), 'the answer'];
    expect((await f.since('q1')).lines).toEqual(['the answer']);
    screen.lines = ['all', 'new'];
    expect(await f.since('q1')).toMatchObject({ lost: true, lines: ['all', 'new'] });
    await expect(f.since('never')).rejects.toMatchObject({ code: 'NOT_FOUND' });
  });

  it('keeps the last 2,000 rows of a long answer', async () => {
    const { f, screen } = follow();
    screen.lines = ['before', ''];
    screen.y = 1;
    f.expect('q1', 'x');
    await f.finish('q1', submitted);
    screen.lines = ['before', ...Array.from({ length: 2_500 }, (_, i) => `row ${i}`)];
    const r = await f.since('q1');
    expect(r).toMatchObject({ total_lines: 2_500, truncated: true });
    expect(r.lines).toHaveLength(2_000);
    expect(r.lines[0]).toBe('row 500');
  });

  it("confirmed_by hook: the hook's report of the very text, before or after the screen's proof; also for an entered job", async () => {
    const { f } = follow({ hooks: true });
    f.expect('a', 'first prompt');
    f.hookPrompt('first prompt\n');
    expect(await f.finish('a', submitted)).toMatchObject({ status: 'submitted', confirmed_by: 'hook' });
    f.expect('b', 'second');
    const entered = f.finish('b', { status: 'entered', written_at: submitted.written_at, submitted_at: null, seen: 'the box did not change' });
    setTimeout(() => f.hookPrompt('second'), 20);
    const b = await entered;
    expect(b).toMatchObject({ status: 'submitted', confirmed_by: 'hook' });
    expect(b).not.toHaveProperty('seen');
    expect(typeof b.submitted_at).toBe('string');
  });

  it("matches a paste Claude Code reports in its <pasted_content> wrapping, at once and as the queue's proof", async () => {
    const { f } = follow({ hooks: true });
    const text = 'line one\nline two of a long paste';
    f.expect('p', text);
    const since = Date.now();
    f.hookPrompt(`\n\n<pasted_content id="1">\n${text}\n</pasted_content id="1">\n`);
    expect(f.reportedSince(text, since)).not.toBeNull();
    const t0 = Date.now();
    expect(await f.finish('p', submitted)).toMatchObject({ status: 'submitted', confirmed_by: 'hook' });
    expect(Date.now() - t0).toBeLessThan(HOOK_CONFIRM_WAIT_MS / 2);
    // Another text in the same wrapping is not this prompt.
    f.hookPrompt('<pasted_content id="2">\nsomething else\n</pasted_content id="2">');
    expect(f.reportedSince('line one', since)).toBeNull();
  });

  it('without the report within the bound, the screen decides', async () => {
    const { f } = follow({ hooks: true });
    f.expect('c', 'never reported');
    f.hookPrompt('another text');
    const t0 = Date.now();
    expect(await f.finish('c', submitted)).toMatchObject({ status: 'submitted', confirmed_by: 'screen' });
    expect(Date.now() - t0).toBeGreaterThanOrEqual(HOOK_CONFIRM_WAIT_MS - 50);
  });
});
