import { describe, expect, it } from 'vitest';
import { isInjectId } from '../../../src/protocol/inject.js';
import { newRequestId } from '../../../src/util/request-id.js';

describe('request ids', () => {
  it('look like UUID v4, are valid inject ids, and do not repeat', () => {
    const ids = Array.from({ length: 10_000 }, newRequestId);
    for (const id of ids.slice(0, 50)) {
      expect(id).toMatch(/^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/);
      expect(isInjectId(id)).toBe(true);
    }
    expect(new Set(ids).size).toBe(ids.length);
  });
});
