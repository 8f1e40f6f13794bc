import { promises as fs } from 'node:fs';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { CastRecorder } from '../../src/terminal/recorder.js';
import { runCli } from '../helpers/cli.js';
import { makeHome } from '../helpers/env.js';

describe('telepty play', () => {
  const cleanups: (() => void)[] = [];
  afterEach(() => {
    for (const c of cleanups.splice(0)) c();
  });

  async function recording(format: 2 | 3): Promise<{ home: string; file: string; output: string }> {
    const { home, cleanup } = makeHome();
    cleanups.push(cleanup);
    const file = path.join(home, `s.v${format}.cast`);
    let t = 1_700_000_000_000;
    const r = await CastRecorder.open({ file, format, cols: 80, rows: 24, recordInput: false, now: () => t });
    const parts = ['$ claude\r\n', '\x1b[1m> review auth\x1b[0m\r\n', 'Done. 🙂']; // no final newline: the CLI helper strips one
    r.output(parts[0]!);
    t += 5_000; // a long pause the idle limit shortens
    r.marker('inject inj-1 from ci');
    r.output(parts[1]!);
    t += 200;
    r.output(parts[2]!);
    await r.close();
    return { home, file, output: parts.join('') };
  }

  for (const format of [2, 3] as const) {
    it(`replays every output byte of a v${format} recording, in order, the pauses shortened by --idle-limit and --speed`, async () => {
      const { home, file, output } = await recording(format);
      const t0 = Date.now();
      const r = await runCli(home, ['play', file, '--idle-limit', '0.5', '--speed', '2']);
      const took = Date.now() - t0;
      expect(r.exitCode, r.stderr).toBe(0);
      expect(r.stdout).toBe(output);
      // 5 s pause → 0.5 s → /2 = 250 ms, plus 200 ms / 2 = 100 ms: well under the 2.6 s unshortened at speed 2.
      expect(took).toBeLessThan(2_500);
    });
  }

  it('says what is wrong with a file that is not a recording (exit 2) or is missing (exit 3)', async () => {
    const { home, cleanup } = makeHome();
    cleanups.push(cleanup);
    const bad = path.join(home, 'bad.cast');
    await fs.writeFile(bad, '{"version":2,"width":80,"height":24}\n[0.1, "o"]\n');
    const r = await runCli(home, ['play', bad]);
    expect(r.exitCode).toBe(2);
    expect(r.stderr).toMatch(/not an asciicast recording \(line 2: an event is not \[time, code, data\]\)/);
    const missing = await runCli(home, ['play', path.join(home, 'nope.cast')]);
    expect(missing.exitCode).toBe(3);
    const speed = await runCli(home, ['play', bad, '--speed', '0']);
    expect(speed.stderr).toMatch(/--speed must be a positive number/);
  });
});
