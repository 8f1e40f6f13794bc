import { describe, expect, it } from 'vitest';
import { formatSummary } from '../../helpers/summary-reporter.js';

/** The last line of the text, without the trailing newline. */
function lastLine(text: string): string {
  const lines = text.split('\n');
  if (lines.at(-1) === '') lines.pop();
  return lines.at(-1) ?? '';
}

describe('summary reporter', () => {
  it('closes with exactly "tests: N passed, N failed" when nothing is skipped', () => {
    const text = formatSummary({ passed: 12, failed: 0, skipped: 0 });
    expect(lastLine(text)).toBe('tests: 12 passed, 0 failed');
    expect(text).not.toMatch(/skip/);
  });

  it('prints skips on their own line before the unchanged closing line', () => {
    const text = formatSummary({ passed: 7, failed: 2, skipped: 3 });
    expect(lastLine(text)).toBe('tests: 7 passed, 2 failed');
    const lines = text.trim().split('\n');
    expect(lines).toEqual(['skipped: 3', 'tests: 7 passed, 2 failed']);
  });
});
