import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { execa } from 'execa';
import { afterEach, describe, expect, it } from 'vitest';
import { recordingFileError } from '../../../src/util/recording-file.js';
import { ROOT } from '../../helpers/env.js';

// A recording whose disk fills up (wave 2: robustness under full disks), on a real full filesystem: a 256 KiB tmpfs
// mounted in a mount namespace of the test's own (`unshare -rm`: nothing is mounted on the machine, and the mount is
// gone with the process). The recorder (the build's, as hosts run it) runs inside it.
const dirs: string[] = [];
afterEach(() => {
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
});

/** Inside the namespace: record, fill the disk, record on, free it, record again; print the file. */
const SCRIPT = `
import { openSync, writeSync, closeSync, rmSync, readFileSync, existsSync } from 'node:fs';
const { CastRecorder, DISK_FULL_RETRY_MS } = await import(process.env.RECORDER_URL);
const dir = process.argv[1];
let t = 1_700_000_000_000;
const rec = await CastRecorder.open({ file: dir + '/s.cast', format: 2, cols: 80, rows: 24, recordInput: false, now: () => t });
rec.output('before\\r\\n');
await rec.idle();
const fd = openSync(dir + '/fill', 'w');
try {
  for (;;) writeSync(fd, Buffer.alloc(4096, 'f'));
} catch (err) {
  if (err.code !== 'ENOSPC') throw err;
}
closeSync(fd);
let refusedOpen = null;
await CastRecorder.open({ file: dir + '/t.cast', format: 2, cols: 80, rows: 24, recordInput: false }).catch((err) => {
  refusedOpen = { code: err.code, left: existsSync(dir + '/t.cast') };
});
rec.output('x'.repeat(20000));
rec.marker('inject A');
await rec.idle();
t += 100;
rec.output('during\\r\\n');
await rec.idle();
rmSync(dir + '/fill');
t += DISK_FULL_RETRY_MS + 100;
rec.output('after\\r\\n');
await rec.idle();
rec.exit(0);
await rec.close();
process.stdout.write(JSON.stringify({ cast: readFileSync(dir + '/s.cast', 'utf8'), stats: rec.stats, refusedOpen }));
`;

async function inFullDisk(dir: string): Promise<{ ok: true; stdout: string } | { ok: false; why: string }> {
  const r = await execa('unshare', ['-rm', 'sh', '-c', 'mount -t tmpfs -o size=256k tmpfs "$1" && exec node --input-type=module -e "$2" "$1"', 'sh', dir, SCRIPT], {
    reject: false,
    env: { RECORDER_URL: pathToFileURL(path.join(ROOT, 'dist', 'terminal', 'recorder.js')).href },
    timeout: 20_000,
  });
  if (r.exitCode !== 0 && /unshare|mount/.test(String(r.stderr)) && !/Error: /.test(String(r.stderr))) return { ok: false, why: String(r.stderr).split('\n')[0] ?? '' };
  expect(r.exitCode, String(r.stderr)).toBe(0);
  return { ok: true, stdout: String(r.stdout) };
}

describe('a recording whose disk is full', () => {
  it('drops output to a marked gap while the disk refuses it, keeps the markers, stays a valid asciicast, and records again once there is room', async (ctx) => {
    const dir = mkdtempSync(path.join(os.tmpdir(), 'telepty-diskfull-'));
    dirs.push(dir);
    const r = await inFullDisk(dir);
    if (!r.ok) {
      console.warn(`skipping: no mount namespace here (${r.why})`);
      return ctx.skip();
    }
    const { cast, stats, refusedOpen } = JSON.parse(r.stdout) as { cast: string; stats: { dropped_bytes: number }; refusedOpen: { code: string; left: boolean } | null };
    // A recording started on the full disk fails with the disk's error and leaves no empty file behind.
    expect(refusedOpen).toEqual({ code: 'ENOSPC', left: false });
    // Every line whole (the refused write's part that went was cut off again), each a JSON value.
    expect(cast.endsWith('\n')).toBe(true);
    const lines = cast.trimEnd().split('\n').map((l) => JSON.parse(l) as unknown);
    const events = lines.slice(1) as [number, string, string][];
    // Each gap where it happened: the output being written when the disk refused it, then what came while it did.
    expect(events.map((e) => [e[1], e[2]])).toEqual([
      ['o', 'before\r\n'],
      ['m', 'gap: 20000 bytes of output not recorded (the disk was full)'],
      ['m', 'inject A'],
      ['m', 'gap: 8 bytes of output not recorded (the disk was full)'],
      ['o', 'after\r\n'],
      ['m', 'exit 0'],
    ]);
    expect(stats.dropped_bytes).toBe(20008);
  });
});

describe('why a recording cannot be made', () => {
  it('is the disk (PERSIST_FAILED) when it has no room, the path (INVALID_FIELD) otherwise', () => {
    const errno = (code: string): NodeJS.ErrnoException => Object.assign(new Error(`${code}: failed`), { code });
    expect(recordingFileError('/r/a.cast', errno('ENOSPC'), 'file').code).toBe('PERSIST_FAILED');
    expect(recordingFileError('/r/a.cast', errno('EDQUOT'), 'file').code).toBe('PERSIST_FAILED');
    const path = recordingFileError('/r/a.cast', errno('EACCES'), 'record');
    expect([path.code, path.details]).toEqual(['INVALID_FIELD', { field: 'record' }]);
    expect(path.message).toBe('cannot record to /r/a.cast: EACCES: failed');
  });
});
