import { describe, expect, it } from 'vitest';
import { spec as injectSpec, parseFast } from '../../../src/commands/inject.js';
import { isDashText, textFirst } from '../../../src/commands/spec.js';

describe('prompt words that start with a dash', () => {
  it('tells text from options', () => {
    for (const w of ['- fix the test', '-> next', '-1', '--- rule', '-']) expect(isDashText(w), w).toBe(w !== '-');
    for (const w of ['--json', '-q', '--timeout=5', '--', '--no-wait']) expect(isDashText(w), w).toBe(false);
  });

  it('keeps such words as text, in order, with the options around them still options', () => {
    expect(textFirst(injectSpec, ['d1', '- fix the test', '--json'])).toEqual(['--json', '--', 'd1', '- fix the test']);
    expect(textFirst(injectSpec, ['--timeout', '5', 'd1', '- a', 'b', '--no-wait'])).toEqual(['--timeout', '5', '--no-wait', '--', 'd1', '- a', 'b']);
    expect(textFirst(injectSpec, ['d1', 'plain text', '--json'])).toEqual(['d1', 'plain text', '--json']);
    expect(textFirst(injectSpec, ['d1', '--', '- x'])).toEqual(['d1', '--', '- x']);
  });

  it('reaches the inject command as its prompt on the fast path', () => {
    const parsed = parseFast(['d1', '- fix the test', '--json', '--no-wait']);
    expect(parsed?.[0]).toBe('d1');
    expect(parsed?.[1]).toEqual(['- fix the test']);
    expect(parsed?.[2]).toMatchObject({ json: true, wait: false });
  });
});
