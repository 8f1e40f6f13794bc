import { mkdtempSync, promises as fs, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { SessionRecording } from '../../../src/host/recorder-sink.js';
import { openUnbatched } from '../../../src/host/recorder-batches.js';
import { injectMarker, parseCast } from '../../../src/protocol/asciicast.js';
import type { RecordingInfo } from '../../../src/protocol/recording.js';
import { silentLogger } from '../../../src/util/log.js';

const dirs: string[] = [];
afterEach(() => {
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
});

function setup(): { dir: string; rec: SessionRecording; changes: (RecordingInfo | null)[] } {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'telepty-rec-'));
  dirs.push(dir);
  const changes: (RecordingInfo | null)[] = [];
  const rec = new SessionRecording({ command: 'claude', args: ['--x'], title: () => 'dev-1', size: () => ({ cols: 90, rows: 30 }) }, silentLogger, (i) => changes.push(i), openUnbatched);
  return { dir, rec, changes };
}

describe('SessionRecording (a host output sink)', () => {
  it('keeps output read while its file opens, and a UTF-8 character cut across chunks whole', async () => {
    const { dir, rec, changes } = setup();
    const file = path.join(dir, 'a.cast');
    const started = rec.start({ file, format: 2, input: false });
    expect(rec.info).toEqual({ file, format: 2 });
    const bytes = Buffer.from('early é 🙂 late');
    rec.write(bytes.subarray(0, 7)); // cuts "é" in two
    rec.write(bytes.subarray(7, 12));
    await started;
    rec.write(bytes.subarray(12));
    rec.injected('i-1', { from: 'ci', reply_to: null, thread_id: null, reply_expected: false, no_enter: false, enter_only: false, source_type: 'bus_auto_route', extra: { turn_id: 't1' } });
    rec.input('secret');
    rec.resize(100, 40);
    await rec.end({ code: 3, signal: null });
    const cast = parseCast(await fs.readFile(file, 'utf8'));
    expect(cast.header).toMatchObject({ format: 2, cols: 90, rows: 30, command: 'claude --x', title: 'dev-1' });
    expect(cast.events.filter((e) => e.code === 'o').map((e) => e.data).join('')).toBe('early é 🙂 late');
    expect(cast.events.filter((e) => e.code !== 'o').map((e) => [e.code, e.data])).toEqual([
      ['m', 'inject i-1 from ci turn t1'],
      ['r', '100x40'],
      ['m', 'exit 3'],
    ]);
    expect(injectMarker('inject i-1 from ci turn t1')).toEqual({ inject_id: 'i-1', from: 'ci', turn_id: 't1' });
    expect(changes).toEqual([{ file, format: 2 }, null]);
    expect(rec.info).toBeNull();
  });

  it('records nothing when none is under way; a second start is CONFLICT; stop then start again on a new file', async () => {
    const { dir, rec } = setup();
    rec.write(Buffer.from('not recorded'));
    expect(await rec.stop()).toEqual({ recording: null, files: [], dropped_bytes: 0 });
    const a = path.join(dir, 'a.cast');
    await rec.start({ file: a, format: 3, input: true });
    await expect(rec.start({ file: path.join(dir, 'b.cast'), format: 2, input: false })).rejects.toMatchObject({ code: 'CONFLICT' });
    rec.input('k');
    rec.write(Buffer.from('one'));
    expect(await rec.stop()).toEqual({ recording: null, files: [a], dropped_bytes: 0 });
    rec.write(Buffer.from('between'));
    await expect(rec.start({ file: a, format: 2, input: false })).rejects.toMatchObject({ code: 'CONFLICT' });
    const b = path.join(dir, 'b.cast');
    await rec.start({ file: b, format: 2, input: false });
    rec.input('not kept');
    rec.write(Buffer.from('two'));
    await rec.end({ code: null, signal: 9 });
    const first = parseCast(await fs.readFile(a, 'utf8'));
    expect(first.events.map((e) => [e.code, e.data])).toEqual([
      ['i', 'k'],
      ['o', 'one'],
    ]);
    const second = parseCast(await fs.readFile(b, 'utf8'));
    expect(second.events.map((e) => [e.code, e.data])).toEqual([
      ['o', 'two'],
      ['m', 'exit 137'],
    ]);
  });
});

describe('CastRecorder at the end of a recording', () => {
  it('marks output dropped just before the exit (no later event would), and counts it in its stats', async () => {
    const dir = mkdtempSync(path.join(os.tmpdir(), 'telepty-rec-'));
    dirs.push(dir);
    const file = path.join(dir, 'gap.cast');
    const { CastRecorder } = await import('../../../src/terminal/recorder.js');
    const r = await CastRecorder.open({ file, format: 3, cols: 80, rows: 24, recordInput: false, maxPendingBytes: 1000 });
    for (let i = 0; i < 10; i++) r.output('x'.repeat(400));
    r.exit(0);
    await r.close();
    const cast = parseCast(await fs.readFile(file, 'utf8'));
    const kept = cast.events.filter((e) => e.code === 'o').reduce((n, e) => n + e.data.length, 0);
    const gaps = cast.events.filter((e) => e.code === 'm' && e.data.startsWith('gap: ')).map((e) => Number(/gap: (\d+)/.exec(e.data)?.[1]));
    expect(kept + gaps.reduce((a, b) => a + b, 0)).toBe(4000);
    expect(gaps.length).toBeGreaterThan(0);
    expect(cast.events.at(-1)).toMatchObject({ code: 'x', data: '0' });
    expect(r.stats.dropped_bytes).toBe(4000 - kept);
  });
});
