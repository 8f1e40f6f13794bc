import { promises as fs } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { injectLabel, injectMarker, parseCast } from '../../../src/protocol/asciicast.js';
import { CastRecorder, rotatedName } from '../../../src/terminal/recorder.js';

const dirs: string[] = [];
async function tmp(): Promise<string> {
  const d = await fs.mkdtemp(path.join(os.tmpdir(), 'telepty-cast-'));
  dirs.push(d);
  return d;
}
afterEach(async () => {
  for (const d of dirs.splice(0)) await fs.rm(d, { recursive: true, force: true });
});

function clock(start = 1_700_000_000_000) {
  let t = start;
  return { now: () => t, advance: (ms: number) => void (t += ms) };
}

describe('asciicast recording', () => {
  for (const format of [2, 3] as const) {
    it(`writes v${format}: header, every output byte in order, resizes, inject markers, exit; no input unless asked`, async () => {
      const file = path.join(await tmp(), 'dev-001.cast');
      const c = clock();
      const r = await CastRecorder.open({ file, format, cols: 80, rows: 24, command: 'claude', title: 'dev-001', recordInput: false, now: c.now });
      const chunks = ['hello ', '\x1b[31mred\x1b[0m', ' wörld 🙂\r\n'];
      r.output(chunks[0]!);
      c.advance(250);
      r.input('secret-password\r');
      r.marker(injectLabel({ inject_id: 'inj-1', from: 'orchestrator', turn_id: 't-9' }));
      r.output(chunks[1]!);
      c.advance(1_000);
      r.resize(100, 30);
      r.output(chunks[2]!);
      r.exit(0);
      await r.close();
      expect((await fs.stat(file)).mode & 0o777).toBe(0o600);
      const { header, events } = parseCast(await fs.readFile(file, 'utf8'));
      expect(header).toMatchObject({ format, cols: 80, rows: 24, command: 'claude', title: 'dev-001', timestamp: 1_700_000_000 });
      expect(events.filter((e) => e.code === 'o').map((e) => e.data).join('')).toBe(chunks.join(''));
      expect(events.some((e) => e.code === 'i')).toBe(false);
      expect(events.map((e) => e.code)).toEqual(['o', 'm', 'o', 'r', 'o', format === 3 ? 'x' : 'm']);
      const times = events.map((e) => e.time);
      expect(times).toEqual([...times].sort((a, b) => a - b));
      expect(times[2]).toBeCloseTo(0.25, 5);
      expect(times[3]).toBeCloseTo(1.25, 5);
      expect(injectMarker(events[1]!.data)).toEqual({ inject_id: 'inj-1', from: 'orchestrator', turn_id: 't-9' });
      expect(events[3]!.data).toBe('100x30');
    });
  }

  it('records keyboard input only when asked', async () => {
    const file = path.join(await tmp(), 'in.cast');
    const r = await CastRecorder.open({ file, format: 2, cols: 80, rows: 24, recordInput: true });
    r.input('ls\r');
    await r.close();
    expect(parseCast(await fs.readFile(file, 'utf8')).events).toEqual([expect.objectContaining({ code: 'i', data: 'ls\r' })]);
  });

  it('goes on in a numbered next file at the size limit, each with its own header, nothing lost', async () => {
    const file = path.join(await tmp(), 'big.cast');
    const r = await CastRecorder.open({ file, format: 2, cols: 80, rows: 24, recordInput: false, maxBytes: 4_096 });
    const parts: string[] = [];
    for (let i = 0; i < 200; i++) {
      parts.push(`line ${i} ${'x'.repeat(40)}\r\n`);
      r.output(parts[i]!);
      if (i % 10 === 0) await new Promise((res) => setImmediate(res));
    }
    await r.close();
    expect(r.files.length).toBeGreaterThan(1);
    expect(r.files[1]).toBe(rotatedName(file, 2));
    let all = '';
    for (const f of r.files) {
      const text = await fs.readFile(f, 'utf8');
      expect(Buffer.byteLength(text)).toBeLessThan(4_096 * 2);
      all += parseCast(text).events.map((e) => e.data).join('');
    }
    expect(all).toBe(parts.join(''));
  });

  it('keeps every file within its limit when the output comes as one chunk larger than the limit, cut only between characters', async () => {
    const file = path.join(await tmp(), 'chunk.cast');
    const r = await CastRecorder.open({ file, format: 2, cols: 80, rows: 24, recordInput: false, maxBytes: 4_096 });
    // ~18 KB at once (a host that read late), with multi-byte characters and bytes that escape to six.
    const text = Array.from({ length: 600 }, (_, i) => `${i} é→😀 \x01"${'y'.repeat(i % 20)}\r\n`).join('');
    r.outputBytes(Buffer.from(text, 'utf8'));
    await r.close();
    expect(r.files.length).toBeGreaterThanOrEqual(Math.ceil(Buffer.byteLength(text) / 4_096));
    let all = '';
    for (const f of r.files) {
      const body = await fs.readFile(f, 'utf8');
      expect(Buffer.byteLength(body)).toBeLessThanOrEqual(4_096);
      all += parseCast(body).events.map((e) => e.data).join('');
    }
    expect(all).toBe(text);
  });

  it('a batch of several MB (more than one write buffer) with multi-byte characters and escapes is written exactly, and rotates mid-batch', async () => {
    const file = path.join(await tmp(), 'wide.cast');
    const r = await CastRecorder.open({ file, format: 3, cols: 80, rows: 24, recordInput: false, maxBytes: 2 * 1024 * 1024, maxPendingBytes: 64 * 1024 * 1024 });
    const parts: string[] = [];
    // One turn of the loop: the whole 6 MB is one batch for the writer.
    for (let i = 0; i < 3000; i++) {
      parts.push(`${i} é→😀 "q" \\ \x1b[1m${'z'.repeat(2000)}\r\n`);
      r.output(parts[i]!);
    }
    await r.close();
    expect(r.files.length).toBeGreaterThanOrEqual(3);
    let all = '';
    for (const f of r.files) {
      const text = await fs.readFile(f, 'utf8');
      expect(Buffer.byteLength(text)).toBeLessThanOrEqual(2 * 1024 * 1024);
      expect(text.endsWith('\n')).toBe(true);
      all += parseCast(text).events.map((e) => e.data).join('');
    }
    expect(all).toBe(parts.join(''));
  });

  it('drops output past the queue bound instead of holding the session, and marks the gap', async () => {
    const file = path.join(await tmp(), 'flood.cast');
    const r = await CastRecorder.open({ file, format: 2, cols: 80, rows: 24, recordInput: false, maxPendingBytes: 64 * 1024 });
    const chunk = 'y'.repeat(16 * 1024);
    for (let i = 0; i < 64; i++) r.output(chunk); // 1 MiB in one turn of the loop: the writer cannot have run
    await new Promise((res) => setTimeout(res, 50));
    r.output('after the flood');
    await r.close();
    const { events } = parseCast(await fs.readFile(file, 'utf8'));
    const gap = events.find((e) => e.code === 'm' && /^gap: \d+ bytes/.test(e.data));
    expect(gap).toBeDefined();
    const kept = events.filter((e) => e.code === 'o').reduce((n, e) => n + e.data.length, 0);
    expect(kept + Number(/gap: (\d+)/.exec(gap!.data)![1])).toBe(64 * chunk.length + 'after the flood'.length);
    expect(events[events.length - 1]!.data).toBe('after the flood');
  });

  it('never writes over an existing file', async () => {
    const file = path.join(await tmp(), 'exists.cast');
    await fs.writeFile(file, 'precious');
    await expect(CastRecorder.open({ file, format: 2, cols: 80, rows: 24, recordInput: false })).rejects.toThrow(/EEXIST/);
    expect(await fs.readFile(file, 'utf8')).toBe('precious');
  });
});
