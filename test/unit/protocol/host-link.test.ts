import { describe, expect, it } from 'vitest';
import { HOST_LINK_VERSION, LAST_SCREEN_SCROLLBACK_LINES, isHostRequestResult, parseDaemonMessage, parseHostMessage } from '../../../src/protocol/host-link.js';

const AT = '2025-03-01T12:00:00.000Z';
const HELLO = {
  type: 'hello',
  link_version: HOST_LINK_VERSION,
  host_instance: 'a'.repeat(32),
  session_id: 'alpha',
  id_flexible: false,
  session: { type: 'spawned', command: 'sh', args: ['-l'], cwd: '/', pid: 10, host_pid: 9, cols: 80, rows: 24, term: 'xterm', created_at: AT, last_activity_at: AT, bracketed_paste: false, alt_screen: false },
};
const META = { from: 'a', reply_to: 'a', thread_id: null, reply_expected: false, no_enter: false, enter_only: false, source_type: 'api' };

const host = (m: unknown): unknown => parseHostMessage(JSON.stringify(m));
const daemon = (m: unknown): unknown => parseDaemonMessage(JSON.stringify(m));

describe('host link guards: every field of every message', () => {
  it('takes each message a host sends, whole', () => {
    const good = [
      HELLO,
      { ...HELLO, session: { ...HELLO.session, pid: null, spawn_request_id: 'r-1' } },
      { type: 'state', last_activity_at: AT },
      { type: 'state', cols: 100, rows: 30, direct_viewers: 2, bracketed_paste: true, alt_screen: false },
      { type: 'reply', req_id: 1, ok: true, result: { data: '' } },
      { type: 'reply', req_id: 2, ok: false, error: { error: 'no', code: 'INTERNAL' } },
      { type: 'exit', code: 0, signal: null },
      { type: 'exit', code: null, signal: 9 },
      { type: 'gap' },
      { type: 'inject_written', inject_id: 'i', written_at: AT },
      { type: 'inject_result', inject_id: 'i', status: 'entered', written_at: AT, submitted_at: null, seen: 'x', meta: META },
      { type: 'inject_result', inject_id: 'i', status: 'failed', written_at: null, submitted_at: null, code: 'SESSION_BUSY', error: 'busy', meta: { ...META, extra: { turn_id: 't' } } },
    ];
    for (const m of good) expect(host(m), JSON.stringify(m)).toEqual(m);
  });

  it('refuses a host message with any field missing or of the wrong type, and types no host sends', () => {
    const bad = [
      { ...HELLO, id_flexible: undefined },
      { ...HELLO, host_instance: 'short' },
      { ...HELLO, session: { ...HELLO.session, args: [1] } },
      { ...HELLO, session: { ...HELLO.session, term: 7 } },
      { ...HELLO, session: { ...HELLO.session, bracketed_paste: 'yes' } },
      { type: 'state', cols: 100 },
      { type: 'state', cols: 1.5, rows: 2 },
      { type: 'state', direct_viewers: -1 },
      { type: 'reply', req_id: '1', ok: true, result: 1 },
      { type: 'reply', req_id: 1, ok: false, error: 'no' },
      { type: 'exit', code: '0', signal: null },
      { type: 'inject_written', inject_id: 'i' },
      { type: 'inject_result', inject_id: 'i', status: 'done', written_at: AT, submitted_at: null },
      { type: 'inject_result', inject_id: 'i', status: 'written', written_at: AT, submitted_at: null, meta: { ...META, reply_expected: 'no' } },
      { type: 'event', kind: 'x', fields: {} },
      { type: 'welcome', link_version: 3, session_id: 'a' },
      [HELLO],
      'hello',
    ];
    for (const m of bad) expect(host(m), JSON.stringify(m)).toBeNull();
    expect(parseHostMessage('{not json')).toBeNull();
  });

  it('takes each message the daemon sends, whole, and refuses broken ones', () => {
    const good = [
      { type: 'welcome', link_version: 3, session_id: 'a' },
      { type: 'rename', new_id: 'b' },
      { type: 'kill', reason: 'r' },
      { type: 'input', data: 'x' },
      { type: 'resize', cols: 80, rows: 24 },
      { type: 'subscribe', on: true },
      { type: 'inject_ack', inject_ids: ['i'] },
      { type: 'request', req_id: 1, op: 'screen', args: { scrollback: false, ansi: true, lines: 10 } },
      { type: 'request', req_id: 2, op: 'replay', args: {} },
      { type: 'request', req_id: 3, op: 'inject', args: { inject_id: 'i', text: 't', no_enter: false, enter_only: false, force: true, meta: META } },
      { type: 'request', req_id: 4, op: 'cancel_inject', args: { inject_id: 'i' } },
    ];
    for (const m of good) expect(daemon(m), JSON.stringify(m)).toEqual(m);
    const bad = [
      { type: 'welcome', session_id: 'a' },
      { type: 'resize', cols: 80 },
      { type: 'inject_ack', inject_ids: [1] },
      { type: 'request', req_id: 1, op: 'format_disk', args: {} },
      { type: 'request', req_id: 1, op: 'inject', args: { inject_id: 'i', text: 't' } },
      { type: 'hello' },
    ];
    for (const m of bad) expect(daemon(m), JSON.stringify(m)).toBeNull();
  });

  it('checks the result a host answers for each request', () => {
    expect(isHostRequestResult('replay', { data: 'x' })).toBe(true);
    expect(isHostRequestResult('replay', { data: 1 })).toBe(false);
    expect(isHostRequestResult('cancel_inject', { cancelled: true })).toBe(true);
    expect(isHostRequestResult('inject', { queued: true, position: 0 })).toBe(true);
    expect(isHostRequestResult('inject', { queued: true, position: 0, known: 'done', result: { type: 'inject_result', inject_id: 'i', status: 'written', written_at: AT, submitted_at: null }, acked: true })).toBe(true);
    expect(isHostRequestResult('inject', { queued: true, position: 0, known: 'done', acked: true })).toBe(false);
    expect(isHostRequestResult('screen', { cols: 1, rows: 1, cursor: { x: 0, y: 0 }, alt_screen: false, bracketed_paste: false, lines: [] })).toBe(true);
    expect(isHostRequestResult('screen', { cols: 1, rows: 1, cursor: {}, alt_screen: false, bracketed_paste: false, lines: [] })).toBe(false);
  });
});

describe('host link: agent state, keys and hook (optional parts)', () => {
  const state = { type: 'agent_state', state: 'blocked', since: 1, source: 'screen', detail: 'Do you want to proceed?', reason: 'screen rule claude.dialog', explain: ['x'] };

  it('takes a whole agent_state message and refuses one with a bad field', () => {
    expect(parseHostMessage(JSON.stringify(state))).toEqual(state);
    expect(parseHostMessage(JSON.stringify({ ...state, state: 'sleepy' }))).toBeNull();
    expect(parseHostMessage(JSON.stringify({ ...state, source: 'guess' }))).toBeNull();
    const { explain: _explain, ...noExplain } = state;
    expect(parseHostMessage(JSON.stringify(noExplain))).toBeNull();
  });

  it('features are optional in hello and welcome, and must be strings when given', () => {
    expect(parseDaemonMessage(JSON.stringify({ type: 'welcome', link_version: HOST_LINK_VERSION, session_id: 'a' }))).not.toBeNull();
    expect(parseDaemonMessage(JSON.stringify({ type: 'welcome', link_version: HOST_LINK_VERSION, session_id: 'a', features: ['agent_state'] }))).not.toBeNull();
    expect(parseDaemonMessage(JSON.stringify({ type: 'welcome', link_version: HOST_LINK_VERSION, session_id: 'a', features: [1] }))).toBeNull();
  });

  it('checks keys and hook requests and their results', () => {
    expect(parseDaemonMessage(JSON.stringify({ type: 'request', req_id: 1, op: 'keys', args: { keys: ['Down', 'Enter'] } }))).not.toBeNull();
    expect(parseDaemonMessage(JSON.stringify({ type: 'request', req_id: 1, op: 'keys', args: { keys: 'Enter' } }))).toBeNull();
    expect(parseDaemonMessage(JSON.stringify({ type: 'request', req_id: 2, op: 'hook', args: { event: 'Stop' } }))).not.toBeNull();
    expect(parseDaemonMessage(JSON.stringify({ type: 'request', req_id: 2, op: 'hook', args: { event: 'Lunch' } }))).toBeNull();
    expect(isHostRequestResult('keys', { keys: ['Enter'], bytes: 1 })).toBe(true);
    expect(isHostRequestResult('keys', { keys: ['Enter'] })).toBe(false);
    const { type: _type, explain: _e, ...info } = state;
    expect(isHostRequestResult('hook', { state: info })).toBe(true);
    expect(isHostRequestResult('hook', { state: { ...info, state: 'nope' } })).toBe(false);
  });
});

describe('host link: last_screen (optional part)', () => {
  const rows = (n: number, prefix = 'r'): string[] => Array.from({ length: n }, (_, i) => `${prefix}${i}`);
  const last = { type: 'last_screen', cols: 80, rows: 24, cursor: { x: 0, y: 3 }, alt_screen: false, bracketed_paste: false, lines: ['a', 'b', 'FATAL'], ansi_lines: ['a', 'b', '\x1b[31mFATAL\x1b[0m'], visible: 2 };

  it('takes a whole last screen, its scrollback up to LAST_SCREEN_SCROLLBACK_LINES rows', () => {
    expect(parseHostMessage(JSON.stringify(last))).toEqual(last);
    const full = { ...last, lines: rows(LAST_SCREEN_SCROLLBACK_LINES + 24), ansi_lines: rows(LAST_SCREEN_SCROLLBACK_LINES + 24), visible: 24 };
    expect(parseHostMessage(JSON.stringify(full))).toEqual(full);
    expect(parseHostMessage(JSON.stringify({ ...last, lines: [], ansi_lines: [], visible: 0 }))).not.toBeNull();
  });

  it('refuses one whose rows do not agree, exceed the bound, or lack a field', () => {
    const bad = [
      { ...last, ansi_lines: ['a', 'b'] },
      { ...last, visible: 4 },
      { ...last, visible: -1 },
      { ...last, lines: rows(30), ansi_lines: rows(30), visible: 25 },
      { ...last, lines: rows(LAST_SCREEN_SCROLLBACK_LINES + 2), ansi_lines: rows(LAST_SCREEN_SCROLLBACK_LINES + 2), visible: 1 },
      { ...last, ansi_lines: undefined },
      { ...last, cursor: undefined },
      { ...last, lines: ['a', 2, 'c'] },
    ];
    for (const m of bad) expect(parseHostMessage(JSON.stringify(m)), JSON.stringify(m).slice(0, 120)).toBeNull();
  });
});
