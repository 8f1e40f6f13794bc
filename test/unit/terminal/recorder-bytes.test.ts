import { promises as fs } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { StringDecoder } from 'node:string_decoder';
import { afterEach, describe, expect, it } from 'vitest';
import { parseCast } from '../../../src/protocol/asciicast.js';
import { CastRecorder, escapeJsonBytes, wholeUtf8End } from '../../../src/terminal/recorder.js';

// Raw output bytes (CastRecorder.outputBytes, what the session host's writer thread feeds): valid UTF-8 is escaped
// and written byte for byte without decoding; a character cut across chunks waits for its rest; invalid UTF-8 is
// written as a UTF-8 decoder reads it. The reference is what the recorder wrote before: a StringDecoder over the
// same chunks, each piece JSON-escaped as a string.

const dirs: string[] = [];
afterEach(async () => {
  for (const d of dirs.splice(0)) await fs.rm(d, { recursive: true, force: true });
});

async function record(chunks: readonly (Uint8Array | { marker: string } | { resize: [number, number] })[], format: 2 | 3 = 2): Promise<{ text: string; bytes: Buffer }> {
  const dir = await fs.mkdtemp(path.join(os.tmpdir(), 'telepty-castb-'));
  dirs.push(dir);
  const file = path.join(dir, 'b.cast');
  let t = 1_700_000_000_000;
  const r = await CastRecorder.open({ file, format, cols: 80, rows: 24, recordInput: false, now: () => t });
  for (const c of chunks) {
    t += 3;
    if (c instanceof Uint8Array) r.outputBytes(c);
    else if ('marker' in c) r.marker(c.marker);
    else r.resize(...c.resize);
  }
  r.exit(0);
  await r.close();
  const bytes = await fs.readFile(file);
  return { text: bytes.toString('utf8'), bytes };
}

/** The output a StringDecoder makes of the chunks (the old path, and what a player shows). */
function decoded(chunks: readonly Uint8Array[]): string {
  const d = new StringDecoder('utf8');
  return chunks.map((c) => d.write(Buffer.from(c))).join('') + d.end();
}

const outputOf = (text: string): string =>
  parseCast(text)
    .events.filter((e) => e.code === 'o')
    .map((e) => e.data)
    .join('');

/** Every way to cut `bytes` in two. */
function cuts(bytes: Buffer): Buffer[][] {
  const out: Buffer[][] = [];
  for (let i = 1; i < bytes.length; i++) out.push([bytes.subarray(0, i), bytes.subarray(i)]);
  return out;
}

describe('CastRecorder.outputBytes', () => {
  it('escapes quotes, backslashes and every control character as JSON, and keeps DEL and non-ASCII as they are', async () => {
    const all = Buffer.alloc(128);
    for (let i = 0; i < 128; i++) all[i] = i;
    const text = `${all.toString('latin1')}"q" \\back\\ é→😀 \u2028\u2029`;
    const { text: file, bytes } = await record([Buffer.from(text)]);
    expect(outputOf(file)).toBe(text);
    // A JSON line holds no raw control character (a \n inside the data would split the event's line).
    const lines = file.split('\n').filter(Boolean);
    expect(lines).toHaveLength(3);
    for (const line of lines) expect(/[\x00-\x1f]/.test(line)).toBe(false);
    // The same bytes as JSON.stringify of the decoded text (the old path), non-ASCII written as UTF-8, not escaped.
    expect(lines[1]).toBe(`[0.003,"o",${JSON.stringify(text)}]`);
    expect(bytes.includes(Buffer.from('é→😀'))).toBe(true);
  });

  it('a multi-byte character cut across two chunks, at every byte, is recorded whole (in the later event)', async () => {
    const text = 'a é b → c 😀 d';
    for (const [x, y] of cuts(Buffer.from(text))) {
      const { text: file } = await record([x as Buffer, y as Buffer]);
      expect(outputOf(file)).toBe(text);
      const events = parseCast(file).events.filter((e) => e.code === 'o');
      // No event holds half a character (which would have been a replacement character in it).
      for (const e of events) expect(e.data).not.toContain('\ufffd');
    }
  });

  it('a character cut across three chunks, with markers and resizes between its pieces, stays whole and in order', async () => {
    const smile = Buffer.from('😀');
    const { text: file } = await record([Buffer.concat([Buffer.from('x'), smile.subarray(0, 1)]), { marker: 'inject i-1' }, smile.subarray(1, 3), { resize: [100, 30] }, Buffer.concat([smile.subarray(3), Buffer.from('"y"\r\n')])]);
    const events = parseCast(file).events;
    expect(events.map((e) => [e.code, e.data])).toEqual([
      ['o', 'x'],
      ['m', 'inject i-1'],
      ['r', '100x30'],
      ['o', '😀"y"\r\n'],
      ['m', 'exit 0'],
    ]);
    const times = events.map((e) => e.time);
    expect(times).toEqual([...times].sort((a, b) => a - b));
  });

  it('invalid UTF-8 is written as a decoder reads it (replacement characters), valid JSON either side of it', async () => {
    const cases: Buffer[][] = [
      [Buffer.from([0x61, 0xff, 0x62])],
      [Buffer.from([0x61, 0xc3]), Buffer.from([0x62, 0x63])], // a lead byte whose continuation never comes
      [Buffer.from([0xc0, 0xaf, 0x2f])], // overlong
      [Buffer.from([0xed, 0xa0, 0x80, 0x7a])], // a UTF-16 surrogate in UTF-8
      [Buffer.from([0x80, 0x80]), Buffer.from('ok')], // continuation bytes without a lead
      [Buffer.from('end '), Buffer.from([0xe2, 0x82])], // cut at the very end of the output: written at the exit
      [Buffer.from([0xf0, 0x9f]), Buffer.from([0x98]), Buffer.from([0x80, 0x22])],
    ];
    for (const chunks of cases) {
      for (const format of [2, 3] as const) {
        const { text: file } = await record(chunks, format);
        expect(outputOf(file)).toBe(decoded(chunks));
      }
    }
  });

  it('random chunks of mixed text (escapes, multi-byte, invalid bytes) give what the decoder gives, byte for byte in order', async () => {
    let seed = 7;
    const rand = (n: number): number => {
      seed = (seed * 1103515245 + 12345) % 2 ** 31;
      return seed % n;
    };
    const pieces = ['plain ', '\r\n', '"', '\\', '\x1b[1;31m', '\x00', 'é', '→', '😀', '\u2028'].map((s) => Buffer.from(s));
    const parts: Buffer[] = [];
    for (let i = 0; i < 2000; i++) parts.push(rand(50) === 0 ? Buffer.from([0xff]) : (pieces[rand(pieces.length)] as Buffer));
    const all = Buffer.concat(parts);
    const chunks: Buffer[] = [];
    for (let i = 0; i < all.length; ) {
      const n = 1 + rand(40);
      chunks.push(all.subarray(i, i + n));
      i += n;
    }
    const { text: file } = await record(chunks);
    expect(outputOf(file)).toBe(decoded(chunks));
  });

  it('escapeJsonBytes writes what JSON.stringify writes: every ASCII byte alone, and long runs between escapes', () => {
    const dst = Buffer.alloc(4096);
    for (let b = 0; b < 0x80; b++) {
      const end = escapeJsonBytes(Buffer.from([b]), dst, 3);
      expect(dst.subarray(3, end).toString('latin1')).toBe(JSON.stringify(String.fromCharCode(b)).slice(1, -1));
    }
    const text = `${'a'.repeat(40)}\r\n${'b'.repeat(5)}"\x1b[0m${'é'.repeat(30)}\\`;
    const end = escapeJsonBytes(Buffer.from(text), dst, 0);
    expect(dst.subarray(0, end).toString('utf8')).toBe(JSON.stringify(text).slice(1, -1));
  });

  it('output past the queue bound is dropped and the gap marked with its byte count', async () => {
    const dir = await fs.mkdtemp(path.join(os.tmpdir(), 'telepty-castb-'));
    dirs.push(dir);
    const file = path.join(dir, 'drop.cast');
    const r = await CastRecorder.open({ file, format: 2, cols: 80, rows: 24, recordInput: false, maxPendingBytes: 64 * 1024 });
    const chunk = Buffer.from('é'.repeat(8 * 1024)); // 16 KiB
    for (let i = 0; i < 64; i++) r.outputBytes(chunk); // 1 MiB in one turn of the loop: the writer cannot have run
    await new Promise((res) => setTimeout(res, 50));
    r.outputBytes(Buffer.from('after'));
    await r.close();
    const { events } = parseCast(await fs.readFile(file, 'utf8'));
    const gap = events.find((e) => e.code === 'm' && /^gap: \d+ bytes/.test(e.data));
    expect(gap).toBeDefined();
    const kept = events.filter((e) => e.code === 'o').reduce((n, e) => n + Buffer.byteLength(e.data), 0);
    expect(kept + Number(/gap: (\d+)/.exec(gap?.data ?? '')?.[1])).toBe(64 * chunk.length + 'after'.length);
    expect(events[events.length - 1]?.data).toBe('after');
  });

  it('wholeUtf8End leaves out only a character cut at the end', () => {
    const smile = Buffer.from('😀');
    expect(wholeUtf8End(Buffer.from('abc'))).toBe(3);
    expect(wholeUtf8End(Buffer.concat([Buffer.from('ab'), smile]))).toBe(6);
    for (let i = 1; i < 4; i++) expect(wholeUtf8End(Buffer.concat([Buffer.from('ab'), smile.subarray(0, i)]))).toBe(2);
    expect(wholeUtf8End(Buffer.from([0x61, 0xc3]))).toBe(1);
    expect(wholeUtf8End(Buffer.from([0x61, 0xff]))).toBe(2);
    expect(wholeUtf8End(Buffer.from([0x80, 0x80, 0x80, 0x80]))).toBe(4);
    expect(wholeUtf8End(new Uint8Array(0))).toBe(0);
  });
});
