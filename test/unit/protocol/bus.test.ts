import { describe, expect, it } from 'vitest';
import { BUS_ENVELOPE_VERSION, matchesFilter, ndjsonLines, normalizeEvent, parseSubscribeQuery, type BusEvent, type BusFilter } from '../../../src/protocol/bus.js';
import { codeOf } from '../../helpers/errors.js';

const T0 = Date.parse('2025-03-01T12:00:00.000Z');
const ctx = { machineId: 'host-a', now: () => T0, newId: () => 'generated-id' };

function filter(over: Partial<BusFilter> = {}): BusFilter {
  return { kinds: [], target: null, source: null, ...over };
}

type Ev = Pick<BusEvent, 'kind' | 'type' | 'target' | 'source'>;
function ev(over: Partial<Ev> = {}): Ev {
  return { kind: 'turn_request', type: 'turn_request', target: null, source: null, ...over };
}

describe('normalizeEvent', () => {
  it('fills kind from a legacy type', () => {
    const out = normalizeEvent({ type: 'session.idle' }, ctx);
    expect(out.kind).toBe('session.idle');
    expect(out.type).toBe('session.idle');
  });

  it('fills type from kind', () => {
    const out = normalizeEvent({ kind: 'turn_request' }, ctx);
    expect(out.kind).toBe('turn_request');
    expect(out.type).toBe('turn_request');
  });

  it('keeps a type that differs from kind (kind is canonical)', () => {
    const out = normalizeEvent({ kind: 'a.b', type: 'legacy' }, ctx);
    expect(out.kind).toBe('a.b');
    expect(out.type).toBe('legacy');
  });

  it('fills the envelope when fields are missing', () => {
    const out = normalizeEvent({ kind: 'x' }, ctx);
    expect(out).toEqual({
      version: BUS_ENVELOPE_VERSION,
      message_id: 'generated-id',
      kind: 'x',
      type: 'x',
      source: null,
      source_host: 'host-a',
      target: null,
      ts: new Date(T0).toISOString(),
    });
  });

  it('keeps message_id, ts, source_host, source and target when given', () => {
    const raw = { kind: 'x', message_id: 'm-1', ts: '2020-01-01T00:00:00.000Z', source_host: 'host-b', source: 'proj:s1', target: 'sess-1@host-b' };
    const out = normalizeEvent(raw, { ...ctx, newId: () => { throw new Error('newId must not be called when message_id is given'); } });
    expect(out.message_id).toBe('m-1');
    expect(out.ts).toBe('2020-01-01T00:00:00.000Z');
    expect(out.source_host).toBe('host-b');
    expect(out.source).toBe('proj:s1');
    expect(out.target).toBe('sess-1@host-b');
  });

  it('treats null envelope fields as missing', () => {
    const out = normalizeEvent({ kind: 'x', message_id: null, ts: null, source_host: null, target: null, source: null }, ctx);
    expect(out.message_id).toBe('generated-id');
    expect(out.ts).toBe(new Date(T0).toISOString());
    expect(out.source_host).toBe('host-a');
    expect(out.target).toBeNull();
  });

  it('passes other fields through untouched (same values, same references)', () => {
    const payload = { turn_id: 't1', prompt: 'hello', nested: { a: [1, 2, { b: null }] } };
    const trace = ['project:p', 'turn:t1'];
    const out = normalizeEvent({ kind: 'turn_request', payload, trace, reply_to: 'delib-1', session_id: 'd-1', n: 0, flag: false }, ctx);
    expect(out.payload).toBe(payload);
    expect(out.payload).toEqual({ turn_id: 't1', prompt: 'hello', nested: { a: [1, 2, { b: null }] } });
    expect(out.trace).toBe(trace);
    expect(out.reply_to).toBe('delib-1');
    expect(out.session_id).toBe('d-1');
    expect(out.n).toBe(0);
    expect(out.flag).toBe(false);
  });

  it('completes the object in place and sets version to the envelope version', () => {
    const raw: Record<string, unknown> = { kind: 'x', version: 99 };
    const out = normalizeEvent(raw, ctx);
    expect(out).toBe(raw);
    expect(raw.version).toBe(BUS_ENVELOPE_VERSION);
  });

  it.each([
    ['null', null],
    ['a string', 'turn_request'],
    ['a number', 42],
    ['an array', [{ kind: 'x' }]],
    ['undefined', undefined],
  ])('rejects %s', (_what, raw) => {
    expect(codeOf(() => normalizeEvent(raw, ctx))).toBe('INVALID_EVENT');
  });

  it.each([
    ['no kind nor type', {}],
    ['an empty kind', { kind: '' }],
    ['a kind with a space', { kind: 'a b' }],
    ['a kind starting with a dot', { kind: '.x' }],
    ['a kind with a star', { kind: 'x*' }],
    ['a numeric kind', { kind: 5 }],
    ['a kind of 129 characters', { kind: 'k'.repeat(129) }],
    ['an invalid legacy type', { type: 'bad type' }],
    ['a non-string type next to kind', { kind: 'x', type: 7 }],
  ])('rejects %s', (_what, raw) => {
    expect(codeOf(() => normalizeEvent(raw, ctx))).toBe('INVALID_EVENT');
  });

  it('accepts a kind of 128 characters', () => {
    expect(normalizeEvent({ kind: 'k'.repeat(128) }, ctx).kind).toHaveLength(128);
  });

  it.each([
    ['a path', '../x'],
    ['a space', 'a b'],
    ['an empty string', ''],
    ['a bad host part', 'sess@bad host'],
    ['an empty host part', 'sess@'],
    ['a non-string', 12],
    ['a control character', 'sess\n1'],
  ])('rejects a target with %s', (_what, target) => {
    expect(codeOf(() => normalizeEvent({ kind: 'x', target }, ctx))).toBe('INVALID_EVENT');
  });

  it('accepts a target with and without @host', () => {
    expect(normalizeEvent({ kind: 'x', target: 'sess-1' }, ctx).target).toBe('sess-1');
    expect(normalizeEvent({ kind: 'x', target: 'sess-1@100.100.100.5' }, ctx).target).toBe('sess-1@100.100.100.5');
  });

  it('rejects an overlong source and accepts one at the limit', () => {
    expect(codeOf(() => normalizeEvent({ kind: 'x', source: 's'.repeat(257) }, ctx))).toBe('INVALID_EVENT');
    expect(normalizeEvent({ kind: 'x', source: 's'.repeat(256) }, ctx).source).toHaveLength(256);
  });

  it('rejects an overlong message_id or ts', () => {
    expect(codeOf(() => normalizeEvent({ kind: 'x', message_id: 'm'.repeat(129) }, ctx))).toBe('INVALID_EVENT');
    expect(codeOf(() => normalizeEvent({ kind: 'x', ts: '1'.repeat(65) }, ctx))).toBe('INVALID_EVENT');
  });

  it.each([
    ['source', { source: 'a\u0000b' }],
    ['source', { source: 'a\nb' }],
    ['source_host', { source_host: 'h\u001b[31m' }],
    ['message_id', { message_id: 'm\r' }],
    ['ts', { ts: '2020\t01' }],
    ['source (DEL)', { source: 'a\u007fb' }],
  ])('rejects a control character in %s', (_field, extra) => {
    expect(codeOf(() => normalizeEvent({ kind: 'x', ...extra }, ctx))).toBe('INVALID_EVENT');
  });

  it('rejects non-string envelope fields', () => {
    expect(codeOf(() => normalizeEvent({ kind: 'x', source: 1 }, ctx))).toBe('INVALID_EVENT');
    expect(codeOf(() => normalizeEvent({ kind: 'x', message_id: {} }, ctx))).toBe('INVALID_EVENT');
    expect(codeOf(() => normalizeEvent({ kind: 'x', ts: 0 }, ctx))).toBe('INVALID_EVENT');
  });
});

describe('parseSubscribeQuery', () => {
  const q = (s: string): URLSearchParams => new URLSearchParams(s);

  it('has defaults for an empty query', () => {
    expect(parseSubscribeQuery(q(''))).toEqual({ kinds: [], target: null, source: null, since: null, batch: false, ack: false, subscribe: true });
  });

  it('takes repeated and comma-separated kinds, trimmed, without empties', () => {
    expect(parseSubscribeQuery(q('kind=a&kind=b,c&kind= d ,,&kind=')).kinds).toEqual(['a', 'b', 'c', 'd']);
  });

  it('accepts trailing * prefixes, including a bare *', () => {
    expect(parseSubscribeQuery(q('kind=session*,handoff.*&kind=*')).kinds).toEqual(['session*', 'handoff.*', '*']);
  });

  it.each(['a b', '*x', 'a*b', 'x**', '.x', 'k'.repeat(129)])('rejects the kind filter %j', (k) => {
    expect(codeOf(() => parseSubscribeQuery(new URLSearchParams({ kind: k })))).toBe('INVALID_EVENT');
  });

  it('parses since as digits only', () => {
    expect(parseSubscribeQuery(q('since=0')).since).toBe(0);
    expect(parseSubscribeQuery(q('since=42')).since).toBe(42);
    expect(parseSubscribeQuery(q('since=999999999999999')).since).toBe(999_999_999_999_999);
  });

  it.each(['', '-1', '1.5', '1e3', 'abc', ' 1', '0x10', '1234567890123456'])('rejects since=%j', (since) => {
    expect(codeOf(() => parseSubscribeQuery(new URLSearchParams({ since })))).toBe('INVALID_EVENT');
  });

  it('reads flags as 1/true, anything else false', () => {
    expect(parseSubscribeQuery(q('batch=1&ack=true&subscribe=0'))).toMatchObject({ batch: true, ack: true, subscribe: false });
    expect(parseSubscribeQuery(q('batch=0&ack=no&subscribe=1'))).toMatchObject({ batch: false, ack: false, subscribe: true });
    expect(parseSubscribeQuery(q('subscribe=false')).subscribe).toBe(false);
  });

  it('takes target and source filters; empty ones are null', () => {
    expect(parseSubscribeQuery(q('target=sess-1&source=deliberation:*'))).toMatchObject({ target: 'sess-1', source: 'deliberation:*' });
    expect(parseSubscribeQuery(q('target=&source='))).toMatchObject({ target: null, source: null });
  });

  it('rejects overlong or control-character target/source filters', () => {
    expect(codeOf(() => parseSubscribeQuery(new URLSearchParams({ target: 't'.repeat(257) })))).toBe('INVALID_EVENT');
    expect(codeOf(() => parseSubscribeQuery(new URLSearchParams({ source: 'a\nb' })))).toBe('INVALID_EVENT');
  });
});

describe('matchesFilter', () => {
  it('passes everything with no filters', () => {
    expect(matchesFilter(filter(), ev())).toBe(true);
    expect(matchesFilter(filter(), ev({ kind: 'anything', type: 'anything', target: 'a@b', source: 's' }))).toBe(true);
  });

  it('matches exact kinds only', () => {
    const f = filter({ kinds: ['session.idle', 'turn_request'] });
    expect(matchesFilter(f, ev({ kind: 'session.idle', type: 'session.idle' }))).toBe(true);
    expect(matchesFilter(f, ev({ kind: 'turn_request', type: 'turn_request' }))).toBe(true);
    expect(matchesFilter(f, ev({ kind: 'session.idle2', type: 'session.idle2' }))).toBe(false);
    expect(matchesFilter(f, ev({ kind: 'session', type: 'session' }))).toBe(false);
  });

  it('matches kind prefixes written with a trailing *', () => {
    const f = filter({ kinds: ['handoff.*'] });
    expect(matchesFilter(f, ev({ kind: 'handoff.created', type: 'handoff.created' }))).toBe(true);
    expect(matchesFilter(f, ev({ kind: 'handoff.', type: 'handoff.' }))).toBe(true);
    expect(matchesFilter(f, ev({ kind: 'handoff', type: 'handoff' }))).toBe(false);
    expect(matchesFilter(f, ev({ kind: 'thread.opened', type: 'thread.opened' }))).toBe(false);
    expect(matchesFilter(filter({ kinds: ['*'] }), ev({ kind: 'z', type: 'z' }))).toBe(true);
  });

  it('matches a kind filter against a legacy type that differs from kind', () => {
    const e = ev({ kind: 'bus.turn', type: 'turn_request' });
    expect(matchesFilter(filter({ kinds: ['turn_request'] }), e)).toBe(true);
    expect(matchesFilter(filter({ kinds: ['turn_*'] }), e)).toBe(true);
    expect(matchesFilter(filter({ kinds: ['bus.turn'] }), e)).toBe(true);
    expect(matchesFilter(filter({ kinds: ['other'] }), e)).toBe(false);
  });

  it('lets a target filter id match id and id@host, but not another id', () => {
    const f = filter({ target: 'sess-1' });
    expect(matchesFilter(f, ev({ target: 'sess-1' }))).toBe(true);
    expect(matchesFilter(f, ev({ target: 'sess-1@host-b' }))).toBe(true);
    expect(matchesFilter(f, ev({ target: 'sess-10' }))).toBe(false);
    expect(matchesFilter(f, ev({ target: 'xsess-1' }))).toBe(false);
    expect(matchesFilter(f, ev({ target: null }))).toBe(false);
  });

  it('lets a target filter id@host match only that host', () => {
    const f = filter({ target: 'sess-1@host-b' });
    expect(matchesFilter(f, ev({ target: 'sess-1@host-b' }))).toBe(true);
    expect(matchesFilter(f, ev({ target: 'sess-1' }))).toBe(false);
    expect(matchesFilter(f, ev({ target: 'sess-1@host-c' }))).toBe(false);
  });

  it('takes a target prefix with *', () => {
    const f = filter({ target: 'worker-*' });
    expect(matchesFilter(f, ev({ target: 'worker-3' }))).toBe(true);
    expect(matchesFilter(f, ev({ target: 'boss' }))).toBe(false);
  });

  it('matches a source filter exactly or by prefix; a null source never matches', () => {
    expect(matchesFilter(filter({ source: 'deliberation:d1' }), ev({ source: 'deliberation:d1' }))).toBe(true);
    expect(matchesFilter(filter({ source: 'deliberation:d1' }), ev({ source: 'deliberation:d12' }))).toBe(false);
    expect(matchesFilter(filter({ source: 'deliberation:*' }), ev({ source: 'deliberation:d12' }))).toBe(true);
    expect(matchesFilter(filter({ source: 'deliberation:*' }), ev({ source: 'devkit:x' }))).toBe(false);
    expect(matchesFilter(filter({ source: 'daemon' }), ev({ source: null }))).toBe(false);
  });

  it('requires every filter to pass', () => {
    const f = filter({ kinds: ['turn_request'], target: 'sess-1', source: 'deliberation:*' });
    expect(matchesFilter(f, ev({ target: 'sess-1', source: 'deliberation:d1' }))).toBe(true);
    expect(matchesFilter(f, ev({ kind: 'other', type: 'other', target: 'sess-1', source: 'deliberation:d1' }))).toBe(false);
    expect(matchesFilter(f, ev({ target: 'sess-2', source: 'deliberation:d1' }))).toBe(false);
    expect(matchesFilter(f, ev({ target: 'sess-1', source: 'devkit:d1' }))).toBe(false);
  });
});

describe('ndjsonLines', () => {
  it('splits on newlines and drops blank lines', () => {
    expect(ndjsonLines('{"a":1}\n{"b":2}\n')).toEqual(['{"a":1}', '{"b":2}']);
    expect(ndjsonLines('\n\n{"a":1}\n   \n\t\n{"b":2}')).toEqual(['{"a":1}', '{"b":2}']);
  });

  it('returns one line for a single event without newline, none for blank text', () => {
    expect(ndjsonLines('{"kind":"x"}')).toEqual(['{"kind":"x"}']);
    expect(ndjsonLines('')).toEqual([]);
    expect(ndjsonLines('  \n \n')).toEqual([]);
  });

  it('keeps each line as is (no trimming of content lines)', () => {
    expect(ndjsonLines('  {"a":1}  \r\n{"b":2}')).toEqual(['  {"a":1}  \r', '{"b":2}']);
  });
});
