import { describe, expect, it } from 'vitest';
import { closeMatches, didYouMean, editDistance } from '../../../src/util/suggest.js';

describe('suggestions for a mistyped id', () => {
  it('counts a transposition, a missing and an extra character as one edit', () => {
    expect(editDistance('dev-001', 'dve-001')).toBe(1);
    expect(editDistance('dev-001', 'dev-01')).toBe(1);
    expect(editDistance('dev-001', 'dev-0011')).toBe(1);
    expect(editDistance('abc', 'xyz')).toBe(3);
  });

  it('offers close ids, closest first, at most three, and ids the word starts', () => {
    const ids = ['dev-001', 'dev-002', 'dev-003', 'dev-004', 'reviewer', 'worker-1'];
    expect(closeMatches('dev-01', ids)).toEqual(['dev-001', 'dev-002', 'dev-003']);
    expect(closeMatches('reveiwer', ids)).toEqual(['reviewer']);
    expect(closeMatches('work', ids)).toEqual(['worker-1']);
    expect(closeMatches('zzz', ids)).toEqual([]);
    expect(closeMatches('dev-001', ['dev-001'])).toEqual([]);
  });

  it('phrases them', () => {
    expect(didYouMean([])).toBe('');
    expect(didYouMean(['a'])).toBe(' (did you mean a?)');
    expect(didYouMean(['a', 'b', 'c'])).toBe(' (did you mean a, b or c?)');
  });
});
