import { describe, expect, it } from 'vitest';
import { InjectMemory } from '../../../src/host/inject-memory.js';
import type { HostInjectResult } from '../../../src/protocol/host-link.js';

const result = (id: string): HostInjectResult => ({ type: 'inject_result', inject_id: id, status: 'submitted', written_at: 'w', submitted_at: 's' });

describe('InjectMemory: the host\'s memory of inject ids', () => {
  it('knows a running job, then its result until acked, and after the ack while within the bounds', () => {
    let now = 0;
    const m = new InjectMemory(() => now, { maxIds: 3, ttlMs: 1_000, maxUnacked: 5 });
    m.started('a', undefined);
    expect(m.get('a')).toMatchObject({ state: 'running' });
    m.finished(result('a'));
    expect(m.get('a')).toMatchObject({ state: 'done', acked: false });
    expect(m.unacked().map((r) => r.inject_id)).toEqual(['a']);
    m.ack(['a']);
    expect(m.unacked()).toEqual([]);
    expect(m.get('a')).toMatchObject({ state: 'done', acked: true });
    now = 1_001;
    expect(m.get('a')).toBeUndefined();
  });

  it('keeps unacknowledged results past the age and count bounds (up to their own), running jobs always', () => {
    let now = 0;
    const m = new InjectMemory(() => now, { maxIds: 2, ttlMs: 1_000, maxUnacked: 3 });
    m.started('run', undefined);
    for (const id of ['a', 'b', 'c']) {
      m.started(id, undefined);
      m.finished(result(id));
    }
    now = 5_000;
    m.started('d', undefined);
    expect(m.unacked().map((r) => r.inject_id)).toEqual(['a', 'b', 'c']);
    m.finished(result('d'));
    // Past maxUnacked the oldest unacknowledged result goes.
    expect(m.unacked().map((r) => r.inject_id)).toEqual(['b', 'c', 'd']);
    expect(m.get('run')).toMatchObject({ state: 'running' });
  });

  it('forgets acknowledged results past the count bound, oldest first', () => {
    const m = new InjectMemory(() => 0, { maxIds: 2, ttlMs: 1_000, maxUnacked: 10 });
    for (const id of ['a', 'b', 'c']) {
      m.started(id, undefined);
      m.finished(result(id));
      m.ack([id]);
    }
    expect(m.get('a')).toBeUndefined();
    expect(m.get('b')).toBeDefined();
    expect(m.get('c')).toBeDefined();
  });

  it('forgets a withdrawn job (nothing typed: the id may be used again)', () => {
    const m = new InjectMemory();
    m.started('a', undefined);
    m.forget('a');
    expect(m.get('a')).toBeUndefined();
  });
});
