import { describe, expect, it } from 'vitest';
import { isIdPattern, matchesIdPattern } from '../../../src/client/targets.js';

describe('session id patterns', () => {
  it('are ids with * or ?, nothing else', () => {
    expect(isIdPattern('dev-*')).toBe(true);
    expect(isIdPattern('worker-?')).toBe(true);
    expect(isIdPattern('dev-001')).toBe(false);
    expect(isIdPattern('../*')).toBe(false);
    expect(isIdPattern('a b*')).toBe(false);
  });

  it('match whole ids only, a dot literally', () => {
    expect(matchesIdPattern('dev-*', 'dev-001')).toBe(true);
    expect(matchesIdPattern('dev-*', 'mydev-001')).toBe(false);
    expect(matchesIdPattern('worker-?', 'worker-1')).toBe(true);
    expect(matchesIdPattern('worker-?', 'worker-12')).toBe(false);
    expect(matchesIdPattern('a.*', 'a.b')).toBe(true);
    expect(matchesIdPattern('a.*', 'axb')).toBe(false);
  });
});
