import { existsSync, mkdtempSync, promises as fs, rmSync, statSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { SessionRecording } from '../../../src/host/recorder-sink.js';
import { openInHost } from '../../../src/host/recorder-batches.js';
import { parseCast } from '../../../src/protocol/asciicast.js';
import { spoolFileOf } from '../../../src/terminal/recorder-spool.js';
import { silentLogger } from '../../../src/util/log.js';
import { sleep } from '../../helpers/env.js';

// The recording's writer in the session host's own thread (openInHost, the host's default; issue 22): a flood is only
// appended to the spool while it lasts (no asciicast line is written, no writer thread exists), and written as lines
// once it has calmed; every byte in order, the markers, the exit.

const dirs: string[] = [];
afterEach(() => {
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
});

/** A recording of a `cat big` session into `<temp dir>/<name>`, started with the writer in the host's thread. */
async function recordingIn(name: string): Promise<{ file: string; rec: SessionRecording }> {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'telepty-rec-host-'));
  dirs.push(dir);
  const file = path.join(dir, name);
  const rec = new SessionRecording({ command: 'cat', args: ['big'], title: () => 's1', size: () => ({ cols: 80, rows: 24 }) }, silentLogger, () => undefined, openInHost);
  await rec.start({ file, format: 2, input: false });
  return { file, rec };
}

describe('openInHost (the writer in the host thread)', () => {
  it('spools a flood without writing lines, converts it after the calm second or the exit: every byte once, in order', async () => {
    const { file, rec } = await recordingIn('flood.cast');
    const header = statSync(file).size;
    let all = '';
    // 8 MB in 4 KiB reads, a few per turn of the loop (a flood: far over 512 KB in 200 ms).
    for (let i = 0; i < 2048; i++) {
      const chunk = Buffer.from(`${String(i).padStart(6, '0')} ${'y'.repeat(4089)}\r\n`);
      all += chunk.toString();
      rec.write(chunk);
      if (i % 16 === 15) await sleep(1);
    }
    rec.injected('i-9', undefined);
    await sleep(300);
    // Only the flood's start (its first batch, before the rate said flood) was written as lines; the rest waits raw.
    expect(statSync(spoolFileOf(file)).size, 'the flood is spooled').toBeGreaterThan(6 * 1024 * 1024);
    expect(statSync(file).size - header).toBeLessThan(1024 * 1024);
    await rec.end({ code: 0, signal: null });
    expect(existsSync(spoolFileOf(file))).toBe(false);
    const cast = parseCast(await fs.readFile(file, 'utf8'));
    let out = '';
    const markers: string[] = [];
    for (const ev of cast.events) {
      if (ev.code === 'o') out += ev.data;
      else if (ev.code === 'm') markers.push(ev.data);
    }
    expect(out).toBe(all);
    expect(markers).toEqual(['inject i-9', 'exit 0']);
    const times = cast.events.map((e) => e.time);
    expect(times).toEqual([...times].sort((a, b) => a - b));
  });

  it('holds a flood\'s reads as they come (tiny and large, over a thousand in one batch) and spools them: every byte once, in order, events of at most 64 KB', async () => {
    const { file, rec } = await recordingIn('reads.cast');
    const parts: Buffer[] = [];
    // 3000 reads of 1-40 bytes in one turn (more than a batch holds by count), then 4 MB in reads of up to 64 KiB.
    for (let i = 0; i < 3000; i++) parts.push(Buffer.from(`${i},`.padEnd(1 + (i % 40), '.')));
    for (let i = 0; i < 200; i++) parts.push(Buffer.from(`[${i}]`.padEnd(1 + ((i * 7919) % 65536), 'z')));
    for (const [i, chunk] of parts.entries()) {
      rec.write(chunk);
      if (i % 50 === 49) await sleep(0);
    }
    await rec.end({ code: 0, signal: null });
    expect(existsSync(spoolFileOf(file))).toBe(false);
    const cast = parseCast(await fs.readFile(file, 'utf8'));
    let out = '';
    for (const ev of cast.events) if (ev.code === 'o') out += ev.data;
    expect(out).toBe(Buffer.concat(parts).toString());
    // Reads within a millisecond are one event, but none holds more than a piece of the spool's conversion (64 KB).
    const sizes = cast.events.filter((e) => e.code === 'o').map((e) => Buffer.byteLength(e.data));
    expect(Math.max(...sizes)).toBeLessThanOrEqual(64 * 1024);
    expect(sizes.length).toBeLessThan(parts.length);
  });
});
