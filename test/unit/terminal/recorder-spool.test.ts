import { spawnSync } from 'node:child_process';
import { copyFileSync, existsSync, promises as fs, statSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { parseCast } from '../../../src/protocol/asciicast.js';
import { rotatedName, CastRecorder } from '../../../src/terminal/recorder.js';
import { CastSpool, spoolFileOf, type SpoolClock, type SpoolEvent, type SpoolOptions } from '../../../src/terminal/recorder-spool.js';
import { recoverSpools } from '../../../src/terminal/recorder-spool-recovery.js';
import { sleep, waitFor } from '../../helpers/env.js';

// The recording's spool (issue 22): while output floods, the writer thread appends raw batches to <file>.spool and
// converts them once output calms; calm output is converted at once; a spool past its bound or one that cannot be
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

/** A pid that is no process now (a child that has ended). */
function deadPid(): number {
  const r = spawnSync(process.execPath, ['-e', 'process.stdout.write(String(process.pid))'], { encoding: 'utf8' });
  return Number(r.stdout);
}

async function open(file: string, o: SpoolOptions & { t?: { now: number }; castMaxBytes?: number } = {}): Promise<{ spool: CastSpool; recorder: CastRecorder; clock: SpoolClock; t: { now: number } }> {
  const t = o.t ?? { now: 1_700_000_000_000 };
  const clock: SpoolClock = { at: t.now };
  const opts = { file, format: 2 as const, cols: 80, rows: 24, recordInput: false, ...(o.castMaxBytes !== undefined ? { maxBytes: o.castMaxBytes } : {}) };
  const recorder = await CastRecorder.open({ ...opts, now: () => clock.at });
  return { spool: new CastSpool(recorder, clock, opts, { now: () => t.now, ...o }), recorder, clock, t };
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

describe('CastSpool', () => {
  it('a flood goes to the spool file and is converted once output calms: every byte in order, the spool removed', async () => {
    const file = path.join(await tmp(), 'flood.cast');
    const { spool, t } = await open(file);
    const header = statSync(file).size;
    let all = '';
    for (let i = 0; i < 10; i++) {
      t.now += 20;
      const b = batch(i, 600 * 1024, t.now);
      spool.add(b.events, b.data);
      all += b.data.toString();
    }
    expect(existsSync(spoolFileOf(file)), 'the flood is spooled').toBe(true);
    // Still hot (the clock has not moved): nothing is converted.
    await sleep(150);
    expect(statSync(file).size).toBe(header);
    expect(statSync(spoolFileOf(file)).mode & 0o777).toBe(0o600);
    t.now += 1000;
    await waitFor('the spool converted', () => !existsSync(spoolFileOf(file)));
    spool.add([{ at: t.now, code: 'x', status: 0 }], Buffer.alloc(0));
    await spool.close();
    const r = await recorded(file);
    expect(r.output).toBe(all);
    expect(r.markers).toEqual(['exit 0']);
    expect(r.times).toEqual([...r.times].sort((a, b) => a - b));
  });

  it('a spooled flood rotates at the size limit like any output: numbered parts within the limit, every byte across them', async () => {
    const file = path.join(await tmp(), 'rot.cast');
    const { spool, t } = await open(file, { castMaxBytes: 1024 * 1024 });
    let all = '';
    for (let i = 0; i < 6; i++) {
      t.now += 20;
      const b = batch(i, 700 * 1024, t.now);
      spool.add(b.events, b.data);
      all += b.data.toString();
    }
    expect(existsSync(spoolFileOf(file))).toBe(true);
    spool.add([{ at: t.now, code: 'x', status: 0 }], Buffer.alloc(0));
    await spool.close();
    expect(existsSync(rotatedName(file, 4))).toBe(true);
    for (let n = 1; existsSync(rotatedName(file, n)); n++) expect(statSync(rotatedName(file, n)).size).toBeLessThanOrEqual(1024 * 1024);
    expect((await recorded(file)).output).toBe(all);
  });

  it('calm output is converted at once, with no spool file', async () => {
    const file = path.join(await tmp(), 'calm.cast');
    const { spool, t } = await open(file);
    let all = '';
    for (let i = 0; i < 5; i++) {
      t.now += 300;
      const b = batch(i, 2000, t.now);
      spool.add(b.events, b.data);
      all += b.data.toString();
    }
    await waitFor('converted', async () => (await recorded(file)).output === all);
    expect(existsSync(spoolFileOf(file))).toBe(false);
    await spool.close();
  });

  it('past its bound the spool drops output to a marked gap (markers of the dropped batches kept); close converts the rest', async () => {
    const file = path.join(await tmp(), 'bound.cast');
    const { spool, t } = await open(file, { maxBytes: 1024 * 1024 });
    let kept = '';
    let dropped = 0;
    for (let i = 0; i < 8; i++) {
      t.now += 20;
      const b = batch(i, 300 * 1024, t.now);
      const events: SpoolEvent[] = [...b.events, { at: t.now, code: 'm', data: `mark ${i}` }];
      spool.add(events, b.data);
      // The first batch waits in memory (the output was not hot yet) and goes into the spool with the next two.
      if (i < 3) kept += b.data.toString();
      else dropped += b.data.length;
    }
    spool.add([{ at: t.now, code: 'x', status: 0 }], Buffer.alloc(0));
    await spool.close();
    const r = await recorded(file);
    expect(r.output).toBe(kept);
    expect(r.markers).toEqual(['mark 0', 'mark 1', 'mark 2', ...[3, 4, 5, 6, 7].flatMap((i) => [`gap: ${300 * 1024} bytes of output not recorded (the recording spool is full)`, `mark ${i}`]), 'exit 0']);
    expect(dropped).toBe(5 * 300 * 1024);
    expect(spool.dropped_bytes).toBe(dropped);
    expect(existsSync(spoolFileOf(file))).toBe(false);
  });

  it('a spool that cannot be written drops the flood to a marked gap, never silently', async () => {
    const file = path.join(await tmp(), 'nospool.cast');
    // A directory where the spool file would go: it cannot be created.
    await fs.mkdir(spoolFileOf(file));
    const { spool, t } = await open(file);
    let dropped = 0;
    for (let i = 0; i < 4; i++) {
      t.now += 20;
      const b = batch(i, 300 * 1024, t.now);
      spool.add(b.events, b.data);
      dropped += i === 0 ? 0 : b.data.length;
    }
    spool.add([{ at: t.now, code: 'x', status: 0 }], Buffer.alloc(0));
    await spool.close();
    const r = await recorded(file);
    // The first batch came before the output was hot (converted at once); the rest could not be spooled.
    expect(r.output.length).toBe(300 * 1024);
    expect(r.markers).toEqual([`gap: ${dropped} bytes of output not recorded (the recording spool could not be written)`, 'exit 0']);
  });

  it("a spool left by a host that ended is converted into its recording by recoverSpools: every byte once, in order, and a marker", async () => {
    const dir = await tmp();
    const file = path.join(dir, 'crash.cast');
    const { spool, t } = await open(file, { pid: deadPid() });
    let all = '';
    for (let i = 0; i < 12; i++) {
      t.now += 20;
      const b = batch(i, 200 * 1024, t.now);
      spool.add(b.events, b.data);
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
    await spool.close();
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

  it('recovers a spool whose conversion never started (the recording cut after its last whole line), and leaves a live host’s spool alone', async () => {
    const dir = await tmp();
    const file = path.join(dir, 'early.cast');
    const { spool, t } = await open(file, { pid: deadPid() });
    let all = '';
    // Batches of a flood from the first (600 KB in 20 ms): all spooled, none converted before the "crash".
    for (let i = 0; i < 4; i++) {
      t.now += 20;
      const b = batch(i, 600 * 1024, t.now);
      spool.add(b.events, b.data);
      all += b.data.toString();
    }
    const crashed = path.join(dir, 'crashed');
    await fs.mkdir(crashed);
    copyFileSync(spoolFileOf(file), spoolFileOf(path.join(crashed, 'early.cast')));
    copyFileSync(file, path.join(crashed, 'early.cast'));
    // A live recording's spool in the same folder (this process owns it): not touched.
    const live = await open(path.join(crashed, 'live.cast'), { t });
    t.now += 20;
    const lb = batch(99, 600 * 1024, t.now);
    live.spool.add(lb.events, lb.data);
    expect(existsSync(spoolFileOf(path.join(crashed, 'live.cast')))).toBe(true);
    const copy = path.join(crashed, 'early.cast');
    await fs.appendFile(copy, '[0.2,"o","torn');
    expect(await recoverSpools(crashed)).toEqual([spoolFileOf(copy)]);
    const r = await recorded(copy);
    expect(r.output).toBe(all);
    expect(existsSync(spoolFileOf(path.join(crashed, 'live.cast')))).toBe(true);
    await live.spool.close();
    await spool.close();
  });
});
