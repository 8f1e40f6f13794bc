import { spawnSync } from 'node:child_process';
import { closeSync, copyFileSync, existsSync, openSync, promises as fs, readFileSync, statSync, writeSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { parseCast } from '../../../src/protocol/asciicast.js';
import { rotatedName, CastRecorder } from '../../../src/terminal/recorder.js';
import { CastSpool, CONVERT_AFTER_CALM_MS, discardSpool, FEED_PIECE_BYTES, feedEvent, feedRecord, HOT_BATCH_BYTES, spoolFileOf, type SpoolClock, type SpoolEvent, type SpoolOptions } from '../../../src/terminal/recorder-spool.js';
import { SpoolWriter, type SpoolWriterOptions } from '../../../src/terminal/recorder-spool-writer.js';
import { recoverSpools } from '../../../src/terminal/recorder-spool-recovery.js';
import { sleep, waitFor } from '../../helpers/env.js';

// The recording's spool (issue 22): while output floods, the host appends raw batches to <file>.spool and the writer
// thread converts them once output calms; calm output is converted at once; a spool past its bound or one that cannot be
// written drops output to a marked gap; a spool left by a host that ended is converted into its recording by the
// next recording in the folder, every byte once and in order.

const dirs: string[] = [];
afterEach(async () => {
  for (const d of dirs.splice(0)) await fs.rm(d, { recursive: true, force: true });
});

async function tmp(): Promise<string> {
  const dir = await fs.mkdtemp(path.join(os.tmpdir(), 'telepty-spool-'));
  dirs.push(dir);
  return dir;
}

/** A batch of `n` bytes of numbered text lines (each batch's bytes differ), as the host posts it. */
function batch(i: number, n: number, at: number): { events: SpoolEvent[]; data: Buffer } {
  const line = `batch ${i} ${'x'.repeat(100)}\r\n`;
  const data = Buffer.from(line.repeat(Math.ceil(n / line.length)).slice(0, n));
  return { events: [{ at, code: 'o', len: data.length }], data };
}

/** `data` cut in pieces of `n` bytes (the last shorter). */
function pieces(data: Buffer, n: number): Buffer[] {
  const out: Buffer[] = [];
  for (let at = 0; at < data.length; at += n) out.push(data.subarray(at, at + n));
  return out;
}

/** A pid that is no process now (a child that has ended). */
function deadPid(): number {
  const r = spawnSync(process.execPath, ['-e', 'process.stdout.write(String(process.pid))'], { encoding: 'utf8' });
  return Number(r.stdout);
}

/**
 * A recording as the host and its writer thread run it, in one thread: the host's SpoolWriter (floods to the spool
 * file, announced once calm) and the thread's CastSpool (converts), wired as their messages wire them.
 */
async function open(
  file: string,
  o: SpoolWriterOptions & SpoolOptions & { t?: { now: number }; castMaxBytes?: number } = {},
): Promise<{ add: (events: SpoolEvent[], data: Buffer) => void; close: () => Promise<void>; spool: CastSpool; writer: SpoolWriter; t: { now: number } }> {
  const t = o.t ?? { now: 1_700_000_000_000 };
  const clock: SpoolClock = { at: t.now };
  const opts = { file, format: 2 as const, cols: 80, rows: 24, recordInput: false, ...(o.castMaxBytes !== undefined ? { maxBytes: o.castMaxBytes } : {}) };
  const recorder = await CastRecorder.open({ ...opts, now: () => clock.at });
  // Messages between the threads arrive later, in order.
  const later = (f: () => void): void => void setImmediate(f);
  let writer: SpoolWriter | null = null;
  const spool = new CastSpool(recorder, clock, opts, (to) => later(() => writer?.convertedTo(to)), o);
  const w = new SpoolWriter(
    opts,
    {
      announce: (from, to) => later(() => spool.spooled(from, to)),
      direct: (events, data) => {
        const copy = Buffer.from(data);
        later(() => spool.add(events, copy));
      },
    },
    { now: () => t.now, ...o },
  );
  writer = w;
  return {
    add: (events, data) => {
      // In 4 KiB pieces, as the host holds a batch's reads.
      if (!w.take(events, pieces(data, 4096), () => undefined)) {
        const copy = Buffer.from(data);
        later(() => spool.add(events, copy));
      }
    },
    close: async () => {
      await w.close();
      await new Promise((r) => setImmediate(r));
      await spool.close();
    },
    spool,
    writer: w,
    t,
  };
}

/** Every file of a recording (its rotated parts) parsed: output joined, markers. */
async function recorded(file: string): Promise<{ output: string; markers: string[]; times: number[] }> {
  let output = '';
  const markers: string[] = [];
  const times: number[] = [];
  for (let n = 1; existsSync(rotatedName(file, n)); n++) {
    const cast = parseCast(await fs.readFile(rotatedName(file, n), 'utf8'));
    for (const ev of cast.events) {
      times.push(ev.time);
      if (ev.code === 'o') output += ev.data;
      else if (ev.code === 'm') markers.push(ev.data);
    }
  }
  return { output, markers, times };
}

describe('the recording spool (SpoolWriter in the host, CastSpool in the writer thread)', () => {
  it('a flood goes to the spool file and is converted once output calms: every byte in order, the spool removed', async () => {
    const file = path.join(await tmp(), 'flood.cast');
    const { add, close, t } = await open(file);
    const header = statSync(file).size;
    let all = '';
    for (let i = 0; i < 10; i++) {
      t.now += 20;
      const b = batch(i, 600 * 1024, t.now);
      add(b.events, b.data);
      all += b.data.toString();
    }
    expect(existsSync(spoolFileOf(file)), 'the flood is spooled').toBe(true);
    // Still hot (the clock has not moved): nothing is converted.
    await sleep(150);
    expect(statSync(file).size).toBe(header);
    expect(statSync(spoolFileOf(file)).mode & 0o777).toBe(0o600);
    // No longer a flood, but not calm for CONVERT_AFTER_CALM_MS yet: still not converted.
    t.now += CONVERT_AFTER_CALM_MS / 2;
    await sleep(150);
    expect(statSync(file).size).toBe(header);
    t.now += CONVERT_AFTER_CALM_MS;
    await waitFor('the spool converted', () => !existsSync(spoolFileOf(file)));
    expect(statSync(file).size).toBeGreaterThan(all.length);
    add([{ at: t.now, code: 'x', status: 0 }], Buffer.alloc(0));
    await close();
    const r = await recorded(file);
    expect(r.output).toBe(all);
    expect(r.markers).toEqual(['exit 0']);
    expect(r.times).toEqual([...r.times].sort((a, b) => a - b));
  });

  it('a second flood after a calm spell makes a new spool; output between them and after is converted at once, all in order', async () => {
    const file = path.join(await tmp(), 'two.cast');
    const { add, close, t } = await open(file);
    let all = '';
    const flood = async (from: number): Promise<void> => {
      for (let i = from; i < from + 4; i++) {
        t.now += 20;
        const b = batch(i, 600 * 1024, t.now);
        add(b.events, b.data);
        all += b.data.toString();
      }
      expect(existsSync(spoolFileOf(file))).toBe(true);
      t.now += 1000;
      await waitFor('the spool converted', () => !existsSync(spoolFileOf(file)));
    };
    await flood(0);
    for (let i = 10; i < 13; i++) {
      t.now += 300;
      const b = batch(i, 2000, t.now);
      add(b.events, b.data);
      all += b.data.toString();
    }
    expect(existsSync(spoolFileOf(file))).toBe(false);
    await flood(20);
    t.now += 300;
    const b = batch(30, 2000, t.now);
    add([...b.events, { at: t.now, code: 'm', data: 'after' }], b.data);
    all += b.data.toString();
    add([{ at: t.now, code: 'x', status: 0 }], Buffer.alloc(0));
    await close();
    const r = await recorded(file);
    expect(r.output).toBe(all);
    expect(r.markers).toEqual(['after', 'exit 0']);
    expect(r.times).toEqual([...r.times].sort((a, b) => a - b));
  });

  it('a spooled flood rotates at the size limit like any output: numbered parts within the limit, every byte across them', async () => {
    const file = path.join(await tmp(), 'rot.cast');
    const { add, close, t } = await open(file, { castMaxBytes: 1024 * 1024 });
    let all = '';
    for (let i = 0; i < 6; i++) {
      t.now += 20;
      const b = batch(i, 700 * 1024, t.now);
      add(b.events, b.data);
      all += b.data.toString();
    }
    expect(existsSync(spoolFileOf(file))).toBe(true);
    add([{ at: t.now, code: 'x', status: 0 }], Buffer.alloc(0));
    await close();
    expect(existsSync(rotatedName(file, 4))).toBe(true);
    for (let n = 1; existsSync(rotatedName(file, n)); n++) expect(statSync(rotatedName(file, n)).size).toBeLessThanOrEqual(1024 * 1024);
    expect((await recorded(file)).output).toBe(all);
    expect(existsSync(spoolFileOf(file))).toBe(false);
  });

  it('calm output is converted at once, with no spool file', async () => {
    const file = path.join(await tmp(), 'calm.cast');
    const { add, close, t } = await open(file);
    let all = '';
    for (let i = 0; i < 5; i++) {
      t.now += 300;
      const b = batch(i, 2000, t.now);
      add(b.events, b.data);
      all += b.data.toString();
    }
    await waitFor('converted', async () => (await recorded(file)).output === all);
    expect(existsSync(spoolFileOf(file))).toBe(false);
    await close();
  });

  it('a first batch of HOT_BATCH_BYTES is a flood by itself (spooled, not escaped while output floods); a smaller one stays calm', async () => {
    const file = path.join(await tmp(), 'burst.cast');
    const { add, close, t } = await open(file);
    // A screen's redraw: under HOT_BATCH_BYTES, converted at once.
    const redraw = batch(0, 64 * 1024, t.now);
    add(redraw.events, redraw.data);
    await waitFor('redraw converted', async () => (await recorded(file)).output === redraw.data.toString());
    expect(existsSync(spoolFileOf(file))).toBe(false);
    // The start of a flood, a second later: its first batch alone goes to the spool, and nothing of it is converted
    // while the output has not calmed.
    t.now += 1000;
    const start = batch(1, HOT_BATCH_BYTES, t.now);
    add(start.events, start.data);
    expect(existsSync(spoolFileOf(file))).toBe(true);
    await sleep(100);
    expect((await recorded(file)).output).toBe(redraw.data.toString());
    await close();
    expect((await recorded(file)).output).toBe(redraw.data.toString() + start.data.toString());
  });

  it('past its bound the spool drops output to a marked gap (markers of the dropped batches kept); close converts the rest', async () => {
    const file = path.join(await tmp(), 'bound.cast');
    const { add, close, spool, writer, t } = await open(file, { maxBytes: 1024 * 1024 });
    let kept = '';
    let dropped = 0;
    for (let i = 0; i < 8; i++) {
      t.now += 20;
      const b = batch(i, 300 * 1024, t.now);
      const events: SpoolEvent[] = [...b.events, { at: t.now, code: 'm', data: `mark ${i}` }];
      add(events, b.data);
      // Each batch is a flood by itself (over HOT_BATCH_BYTES): the first three fill the spool's bound.
      if (i < 3) kept += b.data.toString();
      else dropped += b.data.length;
    }
    add([{ at: t.now, code: 'x', status: 0 }], Buffer.alloc(0));
    await close();
    const r = await recorded(file);
    expect(r.output).toBe(kept);
    expect(r.markers).toEqual(['mark 0', 'mark 1', 'mark 2', ...[3, 4, 5, 6, 7].flatMap((i) => [`gap: ${300 * 1024} bytes of output not recorded (the recording spool is full)`, `mark ${i}`]), 'exit 0']);
    expect(dropped).toBe(5 * 300 * 1024);
    expect(writer.dropped_bytes + spool.dropped_bytes).toBe(dropped);
    expect(existsSync(spoolFileOf(file))).toBe(false);
  });

  it('a spool that cannot be written sends the flood to the writer thread in memory instead: every byte kept', async () => {
    const file = path.join(await tmp(), 'nospool.cast');
    // A directory where the spool file would go: it cannot be created.
    await fs.mkdir(spoolFileOf(file));
    const warned = new Promise<unknown>((r) => process.once('warning', r));
    const { add, close, t } = await open(file);
    let all = '';
    for (let i = 0; i < 4; i++) {
      t.now += 20;
      const b = batch(i, 300 * 1024, t.now);
      add(b.events, b.data);
      all += b.data.toString();
    }
    add([{ at: t.now, code: 'x', status: 0 }], Buffer.alloc(0));
    await close();
    expect(String(await warned)).toContain('could not be written');
    const r = await recorded(file);
    expect(r.output).toBe(all);
    expect(r.markers).toEqual(['exit 0']);
  });

  it('the writer thread past its memory bound drops output to a marked gap, never silently', async () => {
    const file = path.join(await tmp(), 'memory.cast');
    const { close, spool, t } = await open(file, { memoryMaxBytes: 700 * 1024 });
    // Four batches reach the thread in one go (as when the host's spool cannot be written): two fit its bound.
    for (let i = 0; i < 4; i++) {
      t.now += 20;
      const b = batch(i, 300 * 1024, t.now);
      spool.add(b.events, b.data);
    }
    spool.add([{ at: t.now, code: 'x', status: 0 }], Buffer.alloc(0));
    await close();
    const r = await recorded(file);
    expect(r.output.length).toBe(2 * 300 * 1024);
    expect(r.markers).toEqual([`gap: ${2 * 300 * 1024} bytes of output not recorded (the recorder fell behind)`, 'exit 0']);
    expect(spool.dropped_bytes).toBe(2 * 300 * 1024);
  });

  it("a spool left by a host that ended is converted into its recording by recoverSpools: every byte once, in order, and a marker", async () => {
    const dir = await tmp();
    const file = path.join(dir, 'crash.cast');
    const { add, close, t } = await open(file, { pid: deadPid() });
    let all = '';
    for (let i = 0; i < 12; i++) {
      t.now += 20;
      const b = batch(i, 200 * 1024, t.now);
      add(b.events, b.data);
      all += b.data.toString();
    }
    // Output calms: the converter starts. The "crash" is a copy of the files taken while it is half way (the spool
    // first, then the recording: what a crash leaves is at least as far as the spool's progress says).
    t.now += 1000;
    const crashed = path.join(dir, 'crashed');
    await fs.mkdir(crashed);
    await waitFor('half converted', () => statSync(file).size > 600 * 1024 && existsSync(spoolFileOf(file)), 10_000, 1);
    copyFileSync(spoolFileOf(file), spoolFileOf(path.join(crashed, 'crash.cast')));
    copyFileSync(file, path.join(crashed, 'crash.cast'));
    await close();
    const copy = path.join(crashed, 'crash.cast');
    // A torn last line, as a host killed mid-write leaves.
    await fs.appendFile(copy, '[1.5,"o","half a li');
    expect(await recoverSpools(crashed)).toEqual([spoolFileOf(copy)]);
    expect(existsSync(spoolFileOf(copy))).toBe(false);
    const r = await recorded(copy);
    expect(r.output).toBe(all);
    expect(r.markers).toEqual(['the session host ended without closing the recording; recovered from its spool']);
    expect(r.times).toEqual([...r.times].sort((a, b) => a - b));
  });

  it('recovers a spool whose conversion never started (the recording cut after its last whole line; output converted before the flood is not doubled), and leaves a live host’s spool alone', async () => {
    const dir = await tmp();
    const file = path.join(dir, 'early.cast');
    const { add, close, t } = await open(file, { pid: deadPid() });
    // Calm output first: converted at once, never copied into the spool that the flood then starts.
    t.now += 300;
    const calm = batch(-1, 2000, t.now);
    add(calm.events, calm.data);
    await waitFor('converted', async () => (await recorded(file)).output === calm.data.toString());
    let all = calm.data.toString();
    // Batches of a flood (600 KB in 20 ms): all spooled, none converted before the "crash".
    for (let i = 0; i < 4; i++) {
      t.now += 20;
      const b = batch(i, 600 * 1024, t.now);
      add(b.events, b.data);
      all += b.data.toString();
    }
    const crashed = path.join(dir, 'crashed');
    await fs.mkdir(crashed);
    await waitFor('spooled', () => statSync(spoolFileOf(file)).size > 4 * 600 * 1024);
    copyFileSync(spoolFileOf(file), spoolFileOf(path.join(crashed, 'early.cast')));
    copyFileSync(file, path.join(crashed, 'early.cast'));
    // A live recording's spool in the same folder (this process owns it): not touched.
    const live = await open(path.join(crashed, 'live.cast'), { t });
    t.now += 20;
    const lb = batch(99, 600 * 1024, t.now);
    live.add(lb.events, lb.data);
    expect(existsSync(spoolFileOf(path.join(crashed, 'live.cast')))).toBe(true);
    const copy = path.join(crashed, 'early.cast');
    await fs.appendFile(copy, '[0.2,"o","torn');
    expect(await recoverSpools(crashed)).toEqual([spoolFileOf(copy)]);
    const r = await recorded(copy);
    expect(r.output).toBe(all);
    expect(r.markers).toEqual(['gap: output written just before the spool started may be missing (the session host ended)', 'the session host ended without closing the recording; recovered from its spool']);
    expect(existsSync(spoolFileOf(path.join(crashed, 'live.cast')))).toBe(true);
    await live.close();
    await close();
  });

  it('feeds a spooled record back in pieces (FEED_PIECE_BYTES) with turns of the loop between: the file is byte for byte the one feeding it at once makes', async () => {
    const dir = await tmp();
    const at0 = 1_700_000_000_000;
    // One record's events and output: tiny and large events (one over a piece), a character cut across two events and
    // two pieces, invalid UTF-8, a marker and a resize between, about 1.7 MB in all.
    const events: SpoolEvent[] = [];
    const parts: Buffer[] = [];
    const out = (b: Buffer, dt = 1): void => {
      events.push({ at: at0 + events.length * dt, code: 'o', len: b.length });
      parts.push(b);
    };
    for (let i = 0; i < 40; i++) out(Buffer.from(`line ${i} ${'é'.repeat(i * 97)}\r\n`));
    out(Buffer.from('x'.repeat(FEED_PIECE_BYTES + 1000)));
    const euro = Buffer.from('€');
    out(Buffer.concat([Buffer.from('y'.repeat(FEED_PIECE_BYTES - 500)), euro.subarray(0, 1)]));
    out(Buffer.concat([euro.subarray(1), Buffer.from('after the cut\r\n')]));
    events.push({ at: at0 + 5000, code: 'm', data: 'inject i-1' });
    out(Buffer.from([0x61, 0xff, 0xfe, 0x62, 0xc3]));
    out(Buffer.from([0xa9, 0x0a]));
    events.push({ at: at0 + 6000, code: 'r', cols: 100, rows: 30 });
    for (let i = 0; i < 400; i++) out(Buffer.from(`${i} ${'z'.repeat(4000)}\n`), 0);
    const data = Buffer.concat(parts);
    // The record's bytes sit in a file at an offset, as in a spool.
    const spoolFile = path.join(dir, 'record.bin');
    const fd = openSync(spoolFile, 'w+');
    writeSync(fd, Buffer.from('head'), 0);
    writeSync(fd, data, 0, data.length, 4);

    const convert = async (file: string, feed: (r: CastRecorder, clock: SpoolClock) => Promise<void>): Promise<Buffer> => {
      const clock: SpoolClock = { at: at0 };
      const r = await CastRecorder.open({ file, format: 2, cols: 80, rows: 24, recordInput: false, title: 't', command: 'c', now: () => clock.at, writeBytes: 64 * 1024 });
      await feed(r, clock);
      await r.close();
      return readFileSync(file);
    };
    const atOnce = await convert(path.join(dir, 'once.cast'), async (r, clock) => {
      let o = 0;
      for (const ev of events) o += feedEvent(r, clock, ev, data, o);
    });
    let turns = 0;
    let ticking = true;
    const tick = (): void => {
      turns++;
      if (ticking) setImmediate(tick);
    };
    const pieces = await convert(path.join(dir, 'pieces.cast'), async (r, clock) => {
      setImmediate(tick);
      await feedRecord(r, clock, events, fd, 4);
      ticking = false;
    });
    closeSync(fd);
    expect(pieces.equals(atOnce), 'the same file').toBe(true);
    // About 1.7 MB in pieces of at most FEED_PIECE_BYTES (an event larger than that alone): the loop turned between them.
    expect(turns).toBeGreaterThanOrEqual(Math.floor(data.length / FEED_PIECE_BYTES) - 2);
    const cast = parseCast(atOnce.toString('utf8'));
    expect(cast.events.filter((e) => e.code === 'o').map((e) => e.data).join('')).toBe(new TextDecoder().decode(data));
  });

  it('removes a converted spool by renaming it aside and unlinking it off the thread; the recovery removes one a dead host left aside', async () => {
    const dir = await tmp();
    const spool = path.join(dir, 'a.cast.spool');
    await fs.writeFile(spool, Buffer.alloc(4 * 1024 * 1024, 1));
    const gone = discardSpool(spool);
    // Renamed aside at once: a new spool of the same name may be created before the unlink is done.
    expect(existsSync(spool)).toBe(false);
    await fs.writeFile(spool, 'the next flood');
    await gone;
    expect(await fs.readdir(dir)).toEqual(['a.cast.spool']);
    await discardSpool(path.join(dir, 'none.spool'));
    // A host that ended between the rename and the unlink left its converted spool aside: the next recording's
    // recovery removes it; one of a live host's is left to that host.
    const dead = path.join(dir, `b.cast.spool.${deadPid()}.1.gone`);
    const live = path.join(dir, `c.cast.spool.${process.pid}.7.gone`);
    await fs.writeFile(dead, 'x');
    await fs.writeFile(live, 'x');
    await fs.rm(spool);
    await recoverSpools(dir);
    expect(existsSync(dead)).toBe(false);
    expect(existsSync(live)).toBe(true);
  });
});
