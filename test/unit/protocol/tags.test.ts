import { describe, expect, it } from 'vitest';
import { parseSize } from '../../../src/protocol/recording.js';
import { applyTagEdit, MAX_TAGS, parseTagEdit, parseTags, saneTags, tagsFromOptions } from '../../../src/protocol/tags.js';
import { isIdPattern, matchesIdPattern } from '../../../src/client/targets.js';

describe('session tags', () => {
  it('takes tags in the alphabet of ids, each once, at most MAX_TAGS', () => {
    expect(tagsFromOptions(['reviewers,team-a', 'reviewers', ' x.y_z '])).toEqual(['reviewers', 'team-a', 'x.y_z']);
    expect(() => tagsFromOptions(['a b'])).toThrow(/invalid tag/);
    expect(() => tagsFromOptions(['-lead'])).toThrow(/invalid tag/);
    expect(() => tagsFromOptions([''])).toThrow(/invalid tag/);
    expect(() => tagsFromOptions([Array.from({ length: MAX_TAGS + 1 }, (_, i) => `t${i}`).join(',')])).toThrow(/at most 16/);
    expect(parseTags(undefined)).toBeUndefined();
    expect(() => parseTags('reviewers')).toThrow(/array/);
    expect(() => parseTags(['ok', 7])).toThrow(/invalid/);
  });

  it('edits: clear first, then remove, then add (order kept, new ones last); an empty edit or one past the bound is refused', () => {
    expect(applyTagEdit(['a', 'b', 'c'], { clear: false, add: ['d', 'a'], remove: ['b'] })).toEqual(['a', 'c', 'd']);
    expect(applyTagEdit(['a', 'b'], { clear: true, add: ['z'], remove: [] })).toEqual(['z']);
    expect(() => applyTagEdit(Array.from({ length: MAX_TAGS }, (_, i) => `t${i}`), { clear: false, add: ['one-more'], remove: [] })).toThrow(/at most 16/);
    expect(parseTagEdit({ add: ['x'], clear: true })).toEqual({ clear: true, add: ['x'], remove: [] });
    expect(() => parseTagEdit({})).toThrow(/nothing to change/);
    expect(() => parseTagEdit({ remove: ['a/b'] })).toThrow(/invalid/);
  });

  it('keeps only valid tags from a file or a hello (a damaged file never fails a restart)', () => {
    expect(saneTags(['ok', 'no way', 3, 'ok', 'fine'])).toEqual(['ok', 'fine']);
    expect(saneTags('x')).toEqual([]);
    expect(saneTags(undefined)).toEqual([]);
  });

  it('patterns: * and ? over the whole id, nothing else special', () => {
    expect(isIdPattern('dev-*')).toBe(true);
    expect(isIdPattern('dev-1')).toBe(false);
    expect(matchesIdPattern('dev-?', 'dev-1')).toBe(true);
    expect(matchesIdPattern('dev-?', 'dev-12')).toBe(false);
    expect(matchesIdPattern('d.v*', 'dev')).toBe(false);
  });
});

describe('recording size limits', () => {
  it('reads 50M, 512K, 1.5G, 100MB, 64KiB and plain bytes (binary units); refuses the rest', () => {
    expect(parseSize('50M', 'x')).toBe(50 * 1024 * 1024);
    expect(parseSize('512k', 'x')).toBe(512 * 1024);
    expect(parseSize('1.5G', 'x')).toBe(1.5 * 1024 ** 3);
    expect(parseSize('100MB', 'x')).toBe(100 * 1024 * 1024);
    expect(parseSize('64KiB', 'x')).toBe(64 * 1024);
    expect(parseSize('65536', 'x')).toBe(65536);
    for (const bad of ['', 'abc', '10', '1K', '-5M', '2P', '5 M B', '1e9']) expect(() => parseSize(bad, '--record-max-size'), bad).toThrow(/--record-max-size must be a size/);
  });
});
