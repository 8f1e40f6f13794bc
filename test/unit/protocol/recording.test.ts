import { describe, expect, it } from 'vitest';
import { isHostRequestResult, parseDaemonMessage, parseHostMessage } from '../../../src/protocol/host-link.js';
import { parseHostSpec } from '../../../src/protocol/host-spec.js';
import { defaultRecordingFile, parseRecordAction, parseRecordRequest, recordSpecOf } from '../../../src/protocol/recording.js';
import { parseSpawnRequest } from '../../../src/protocol/session.js';
import { freshRecordingFile } from '../../../src/util/recording-file.js';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';

const codeOf = (fn: () => unknown): string | undefined => {
  try {
    fn();
    return undefined;
  } catch (err) {
    return (err as { code?: string }).code;
  }
};

describe('recording requests (issue 22)', () => {
  it('reads {file?, format?, input?}: an absolute file, format 2 or 3, a boolean', () => {
    expect(parseRecordRequest({})).toEqual({});
    expect(parseRecordRequest({ file: '/tmp/a.cast', format: 3, input: true })).toEqual({ file: '/tmp/a.cast', format: 3, input: true });
    expect(codeOf(() => parseRecordRequest({ file: 'rel.cast' }))).toBe('INVALID_FIELD');
    expect(codeOf(() => parseRecordRequest({ file: '/a\0b' }))).toBe('INVALID_FIELD');
    expect(codeOf(() => parseRecordRequest({ format: 4 }))).toBe('INVALID_FIELD');
    expect(codeOf(() => parseRecordRequest({ format: '2' }))).toBe('INVALID_FIELD');
    expect(codeOf(() => parseRecordRequest({ input: 'yes' }))).toBe('INVALID_FIELD');
    expect(codeOf(() => parseRecordRequest([]))).toBe('INVALID_FIELD');
  });

  it('fills in the defaults: <dir>/<id>-<UTC time>.cast, v2, no keystrokes', () => {
    const at = new Date('2026-12-04T23:01:02.345Z');
    expect(defaultRecordingFile('/rec/', 'dev-001', at)).toBe('/rec/dev-001-20261204T230102Z.cast');
    expect(recordSpecOf({}, '/rec', 'dev-001', at)).toEqual({ file: '/rec/dev-001-20261204T230102Z.cast', format: 2, input: false });
    expect(recordSpecOf({ file: '/x.cast', format: 3, input: true }, '/rec', 'a', at)).toEqual({ file: '/x.cast', format: 3, input: true });
  });

  it('a default name never meets an existing file: -2, -3 … within the same second', async () => {
    const dir = mkdtempSync(path.join(os.tmpdir(), 'telepty-recname-'));
    try {
      const at = new Date('2026-12-04T23:01:02Z');
      const first = await freshRecordingFile(dir, 'a', at);
      expect(first).toBe(path.join(dir, 'a-20261204T230102Z.cast'));
      writeFileSync(first, '');
      const second = await freshRecordingFile(dir, 'a', at);
      expect(second).toBe(path.join(dir, 'a-20261204T230102Z-2.cast'));
      writeFileSync(second, '');
      expect(await freshRecordingFile(dir, 'a', at)).toBe(path.join(dir, 'a-20261204T230102Z-3.cast'));
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('reads a start or a stop, and nothing else', () => {
    expect(parseRecordAction({ action: 'stop' })).toEqual({ action: 'stop' });
    expect(parseRecordAction({ action: 'start', format: 3 })).toEqual({ action: 'start', record: { format: 3 } });
    expect(codeOf(() => parseRecordAction({ action: 'pause' }))).toBe('INVALID_FIELD');
    expect(codeOf(() => parseRecordAction({}))).toBe('INVALID_FIELD');
  });

  it('a spawn body takes `record` (true for the defaults); a host spec takes a complete one', () => {
    expect(parseSpawnRequest({ command: 'sh', record: true }).record).toEqual({});
    expect(parseSpawnRequest({ command: 'sh', record: { format: 3 } }).record).toEqual({ format: 3 });
    expect(parseSpawnRequest({ command: 'sh' }).record).toBeUndefined();
    expect(codeOf(() => parseSpawnRequest({ command: 'sh', record: { file: 'x' } }))).toBe('INVALID_FIELD');
    const spec = { session_id: 'a', id_flexible: false, host_instance: 'i', type: 'spawned', command: 'sh', args: [], cwd: '/', env: {}, cols: 80, rows: 24, term: 'xterm' };
    expect(parseHostSpec({ ...spec, record: { file: '/r.cast', format: 2, input: false } }).record).toEqual({ file: '/r.cast', format: 2, input: false });
    expect(parseHostSpec({ ...spec, record: { file: '/r.cast' } }).record).toEqual({ file: '/r.cast', format: 2, input: false });
    expect(codeOf(() => parseHostSpec({ ...spec, record: { format: 2 } }))).toBe('INVALID_FIELD');
  });

  it('the host link: the record request, its result, and the recording in state and hello are checked whole', () => {
    const req = (args: unknown): unknown => parseDaemonMessage(JSON.stringify({ type: 'request', req_id: 1, op: 'record', args }));
    expect(req({ action: 'start', record: { file: '/r.cast', format: 3, input: false } })).not.toBeNull();
    expect(req({ action: 'stop' })).not.toBeNull();
    expect(req({ action: 'start', record: { file: 'r.cast', format: 3, input: false } })).toBeNull();
    expect(req({ action: 'start', record: { file: '/r.cast', format: 4, input: false } })).toBeNull();
    expect(req({ action: 'start', record: { file: '/r.cast', format: 2 } })).toBeNull();
    expect(req({ action: 'go' })).toBeNull();
    expect(isHostRequestResult('record', { recording: { file: '/r.cast', format: 2 } })).toBe(true);
    expect(isHostRequestResult('record', { recording: null, files: ['/r.cast'], dropped_bytes: 0 })).toBe(true);
    expect(isHostRequestResult('record', { recording: { file: '/r.cast', format: 5 } })).toBe(false);
    expect(isHostRequestResult('record', { recording: null, files: [1] })).toBe(false);
    expect(parseHostMessage(JSON.stringify({ type: 'state', recording: null }))).not.toBeNull();
    expect(parseHostMessage(JSON.stringify({ type: 'state', recording: { file: '/r.cast', format: 3 } }))).not.toBeNull();
    expect(parseHostMessage(JSON.stringify({ type: 'state', recording: { file: 1, format: 3 } }))).toBeNull();
  });
});
