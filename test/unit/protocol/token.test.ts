import { describe, expect, it } from 'vitest';
import { MIN_TOKEN_LENGTH, tokenProblem } from '../../../src/protocol/token.js';

describe('token rules', () => {
  it('takes what the daemon makes and what a person may set', () => {
    expect(tokenProblem('a'.repeat(64))).toBeNull();
    expect(tokenProblem('Abc-123_xyz.~!@#$%^&*()')).toBeNull();
  });

  it('refuses what could not travel in a header, or is too short to be a secret', () => {
    expect(tokenProblem('abcdefgh\nijklmnopqrstuvwxyz')).toMatch(/line break/);
    expect(tokenProblem('abcdefgh\rijklmnopqrstuvwxyz')).toMatch(/line break/);
    expect(tokenProblem('abcdefgh\x07ijklmnopqrstuvwxyz')).toMatch(/control character/);
    expect(tokenProblem('abcdefgh ijklmnopqrstuvwxyz')).toMatch(/space/);
    expect(tokenProblem('abcdefghé-ijklmnopqrstuvwxyz')).toMatch(/non-ASCII/);
    expect(tokenProblem('a'.repeat(MIN_TOKEN_LENGTH - 1))).toMatch(/shorter than 16/);
  });
});
