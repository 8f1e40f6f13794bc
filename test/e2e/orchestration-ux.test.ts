import { describe, expect, it } from 'vitest';
import { runCli, spawnCli } from '../helpers/cli.js';
import { useHomes } from '../helpers/daemon.js';
import { waitFor } from '../helpers/env.js';

/** The orchestration commands as scripts use them: pipes, exit codes, and the messages a person reads. */
const homes = useHomes();

describe('orchestration commands in scripts', () => {
  it('`tail | head -1`: tail exits 0 quietly when its reader closed the pipe (no EPIPE stack trace)', async () => {
    const home = homes.newHome();
    await runCli(home, ['daemon', 'start']);
    await runCli(home, ['publish', '--kind', 'pipe.one']);
    const tail = spawnCli(home, ['tail', '--since', '0', '--kind', 'pipe.*', '--json', '--timeout', '30']);
    let got = '';
    tail.stdout?.on('data', (d: Buffer) => (got += d.toString('utf8')));
    await waitFor('the first event', () => got.includes('pipe.one'));
    tail.stdout?.destroy(); // the reader is gone, as `head -1` is after its line
    for (const n of ['two', 'three']) await runCli(home, ['publish', '--kind', `pipe.${n}`]);
    const r = await tail;
    expect(String(r.stderr)).not.toMatch(/EPIPE|Unhandled/);
    expect(r.exitCode).toBe(0);
  });
});

describe('messages a person reads', () => {
  it('`keys` says "1 byte", `wait --until any-change` times out "to change state", `inject --timeout 0` names the range it takes', async () => {
    const home = homes.newHome();
    expect((await runCli(home, ['spawn', '--id', 'quiet', '--', 'sleep', '60'])).exitCode).toBe(0);
    const keys = await runCli(home, ['keys', 'quiet', 'Enter']);
    expect(keys.stdout.trim()).toBe('sent Enter to quiet (1 byte)');
    const wait = await runCli(home, ['wait', 'quiet', '--until', 'any-change', '--timeout', '0.5']);
    expect(wait.exitCode).toBe(5);
    expect(wait.stderr).toMatch(/timed out waiting for quiet \(now unknown\) to change state \[TIMEOUT\]/);
    const zero = await runCli(home, ['inject', 'quiet', 'hi', '--timeout', '0']);
    expect(zero.exitCode).toBe(2);
    expect(zero.stderr).toMatch(/--timeout takes seconds \(more than 0, at most 600\), got "0"/);
  });
});
