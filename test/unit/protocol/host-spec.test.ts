import { describe, expect, it } from 'vitest';
import { TeleptyError } from '../../../src/protocol/errors.js';
import { parseHostSpec, parseHostSpecText, type HostSpec } from '../../../src/protocol/host-spec.js';

const GOOD: HostSpec = {
  session_id: 'dev-1',
  id_flexible: false,
  host_instance: 'a'.repeat(32),
  type: 'spawned',
  command: 'claude',
  file: '/usr/bin/claude',
  args: ['--model', 'x'],
  cwd: '/tmp',
  env: { PATH: '/usr/bin', TERM: 'xterm-256color' },
  cols: 120,
  rows: 40,
  term: 'xterm-256color',
  spawn_request_id: 'req-1',
};

function refusal(value: unknown): TeleptyError {
  try {
    parseHostSpec(value);
  } catch (err) {
    if (err instanceof TeleptyError) return err;
    throw err;
  }
  throw new Error('the spec was taken');
}

describe('parseHostSpec', () => {
  it('takes a spec the daemon writes, field for field', () => {
    expect(parseHostSpec(JSON.parse(JSON.stringify(GOOD)))).toEqual(GOOD);
    const { file: _file, spawn_request_id: _req, ...bare } = GOOD;
    expect(parseHostSpec({ ...bare, type: 'wrapped', id_flexible: true })).toEqual({ ...bare, type: 'wrapped', id_flexible: true });
  });

  it.each([
    ['session_id', { session_id: '../x' }, 'INVALID_SESSION_ID'],
    ['id_flexible', { id_flexible: 'yes' }, 'INVALID_FIELD'],
    ['host_instance', { host_instance: '' }, 'INVALID_FIELD'],
    ['type', { type: 'remote' }, 'INVALID_FIELD'],
    ['command', { command: 42 }, 'INVALID_FIELD'],
    ['args', { args: ['ok', 7] }, 'INVALID_FIELD'],
    ['cwd', { cwd: 'a\0b' }, 'INVALID_FIELD'],
    ['env', { env: { A: 1 } }, 'INVALID_FIELD'],
    ['cols', { cols: 0 }, 'INVALID_FIELD'],
    ['rows', { rows: 2.5 }, 'INVALID_FIELD'],
    ['term', { term: undefined }, 'INVALID_FIELD'],
  ])('refuses a bad %s with a clear error', (field, patch, code) => {
    const err = refusal({ ...GOOD, ...patch });
    expect(err.code).toBe(code);
    expect(err.message).toMatch(/^invalid host spec: /);
    expect(err.message).toContain(field);
  });

  it('refuses what is not an object, and names a missing field', () => {
    expect(refusal(null).message).toBe('invalid host spec: the host spec must be a JSON object');
    const { rows: _rows, ...noRows } = GOOD;
    expect(refusal(noRows).message).toBe('invalid host spec: "rows" is required');
  });

  it('refuses stdin that is not JSON', () => {
    expect(() => parseHostSpecText('{"session_id":')).toThrow(/^invalid host spec: not JSON/);
    expect(parseHostSpecText(JSON.stringify(GOOD))).toEqual(GOOD);
  });
});
