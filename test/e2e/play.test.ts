import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { promises as fs } from 'node:fs';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { CastRecorder } from '../../src/terminal/recorder.js';
import { runCli } from '../helpers/cli.js';
import { BIN, makeHome, testEnv } from '../helpers/env.js';

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

  it('plays a recording whose last event was cut off (its writer killed mid-line), and says so on stderr', async () => {
    const { home, file, output } = await recording(2);
    const whole = await fs.readFile(file, 'utf8');
    const cut = path.join(home, 'cut.cast');
    await fs.writeFile(cut, `${whole}[9.5, "o", "half a li`);
    const r = await runCli(home, ['play', cut]);
    expect(r.exitCode, r.stderr).toBe(0);
    expect(r.stdout).toBe(output);
    expect(r.stderr).toMatch(/cut\.cast ends in a cut-off event \(line \d+, no newline after it\); playing what came before it/);
    // A bad line that is not the last one (or a bad last line followed by a newline) is still refused.
    await fs.writeFile(cut, `${whole}[9.5, "o", "half a li\n`);
    expect((await runCli(home, ['play', cut])).exitCode).toBe(2);
  });

  it('stops quietly, exit 0, when its reader goes away (`play x.cast | head -1`)', async () => {
    const { home, cleanup } = makeHome();
    cleanups.push(cleanup);
    const file = path.join(home, 'long.cast');
    const lines = ['{"version":2,"width":80,"height":24}'];
    for (let i = 0; i < 20_000; i++) lines.push(JSON.stringify([i / 1e6, 'o', `line ${i}\r\n`]));
    await fs.writeFile(file, `${lines.join('\n')}\n`);
    const child = spawn(process.execPath, [BIN, 'play', file], { env: testEnv(home), stdio: ['ignore', 'pipe', 'pipe'] });
    let stderr = '';
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    // The reader takes one chunk and closes its end, as `head -1` does.
    child.stdout.once('data', () => child.stdout.destroy());
    const [code] = (await once(child, 'exit')) as [number | null];
    expect(stderr).not.toMatch(/EPIPE|at /);
    expect(code).toBe(0);
  });
});
