import { describe, expect, it } from 'vitest';
import { banner, isFailure, prettyEvent } from '../../../src/commands/tail.js';
import type { BusEvent } from '../../../src/protocol/bus.js';

function event(over: Partial<BusEvent> = {}): BusEvent {
  return {
    version: 1,
    message_id: 'm-1',
    kind: 'inject_written',
    type: 'inject_written',
    source: 'daemon',
    source_host: 'box-a',
    target: 'dev-001',
    ts: '2025-03-01T12:34:56.789Z',
    timestamp: '2025-03-01T12:34:56.789Z',
    sender: 'daemon',
    seq: 42,
    ...over,
  };
}

describe('tail --pretty', () => {
  it('prints time, seq, kind, source → target, then the fields that are not envelope', () => {
    expect(prettyEvent(event({ inject_id: 'i-1', content: 'hello' }), 160, null)).toBe('12:34:56.789 #42 inject_written daemon → dev-001 {"inject_id":"i-1","content":"hello"}');
  });

  it('leaves out a missing target and shows a missing source as ?', () => {
    expect(prettyEvent(event({ source: null, target: null }), 160, null)).toBe('12:34:56.789 #42 inject_written ? {}');
  });

  it('shortens the fields to the width, with an ellipsis, keeping the head whole', () => {
    const line = prettyEvent(event({ content: 'x'.repeat(500) }), 80, null);
    expect(line).toHaveLength(80);
    expect(line.startsWith('12:34:56.789 #42 inject_written daemon → dev-001 {"content":"xxx')).toBe(true);
    expect(line.endsWith('…')).toBe(true);
  });

  it('keeps at least 20 characters of the fields on a narrow terminal', () => {
    const line = prettyEvent(event({ content: 'y'.repeat(100) }), 10, null);
    const body = line.slice(line.indexOf('{'));
    expect(body).toHaveLength(20);
    expect(body.endsWith('…')).toBe(true);
  });

  const paint = { head: (s: string) => `<${s}>`, failure: (s: string) => `!${s}!` };

  it('paints the head only', () => {
    expect(prettyEvent(event({ n: 1 }), 160, paint)).toBe('<12:34:56.789 #42 inject_written daemon → dev-001> {"n":1}');
  });

  it('shows a failure whole and painted apart, however narrow the terminal', () => {
    const long = 'the program exited before the prompt was delivered; '.repeat(4);
    const line = prettyEvent(event({ kind: 'inject_failed', type: 'inject_failed', code: 'SESSION_EXITED', error: long }), 60, paint);
    expect(line.startsWith('!12:34:56.789 #42 inject_failed daemon → dev-001 {')).toBe(true);
    expect(line).toContain(JSON.stringify(long));
    expect(line.endsWith('}!')).toBe(true);
    expect(isFailure(event({ kind: 'handoff.failed', type: 'handoff.failed' }))).toBe(true);
    expect(isFailure(event({ kind: 'bus.gap', type: 'bus.gap' }))).toBe(true);
    expect(isFailure(event())).toBe(false);
  });
});

describe('tail banner', () => {
  it('says what it follows and how to stop', () => {
    expect(banner({ kind: ['turn_request'], excludeKind: [], target: 'dev-001' })).toBe(
      'following the telepty bus: kind turn_request; target dev-001; new events only (--since SEQ replays). Ctrl-C stops.',
    );
    expect(banner({ kind: [], excludeKind: ['session_health'], since: 10 })).toBe('following the telepty bus: every kind; except session_health; replaying after seq 10. Ctrl-C stops.');
  });
});

describe('bus frames', () => {
  it('reads an event line, and gives null (never throws) for a line that is not an event', async () => {
    const { eventOfLine } = await import('../../../src/commands/tail.js');
    expect(eventOfLine(JSON.stringify(event()))?.seq).toBe(42);
    expect(eventOfLine('{"kind":"x"')).toBeNull();
    expect(eventOfLine('not json')).toBeNull();
    expect(eventOfLine('{"kind":"x"}')).toBeNull();
    expect(eventOfLine('[1,2]')).toBeNull();
    expect(eventOfLine('['.repeat(100) + ']'.repeat(100))).toBeNull();
  });
});
