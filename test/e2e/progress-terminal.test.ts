import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { ROOT, makeHome, testEnv } from '../helpers/env.js';
import { TerminalDriver } from '../helpers/terminal.js';

// The CLI's spinner (ui/progress.ts) on real terminals: one that reports no size, and a person typing meanwhile.
const FIXTURE = path.join(ROOT, 'test', 'fixtures', 'progress-wait.mjs');
const drivers: TerminalDriver[] = [];
afterEach(() => {
  for (const d of drivers.splice(0)) d.dispose();
});

function run(stty: string): TerminalDriver {
  const home = makeHome();
  const d = new TerminalDriver('sh', ['-c', `stty ${stty}; exec "$0" "$1"`, process.execPath, FIXTURE], { env: testEnv(home.home) });
  drivers.push(d);
  return d;
}

describe('the progress spinner on a terminal', () => {
  it('on a terminal of 0 columns (a pty nobody sized) shows nothing and ends, instead of erasing lines forever', async () => {
    const t = run('cols 0 rows 0');
    await t.waitForText(/^done$/m);
    expect((await t.waitExit()).exitCode).toBe(0);
    expect(t.raw).not.toContain('waiting-for-the-test');
    expect(t.raw.length).toBeLessThan(200);
  });

  it('leaves what the person types while it spins for the program that reads next', async () => {
    const t = run('cols 80 rows 24');
    await t.waitForText('waiting-for-the-test');
    t.write('typed-ahead\r');
    await t.waitForText(/^read:typed-ahead$/m);
    expect((await t.waitExit()).exitCode).toBe(0);
  });
});
