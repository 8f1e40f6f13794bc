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

describe('tail filters and errors in scripts', () => {
  it('refuses an empty --target/--kind/--source (an unset variable) instead of following every event, with its --json error on one line', async () => {
    const home = homes.newHome();
    await runCli(home, ['daemon', 'start']);
    await runCli(home, ['publish', '--kind', 'other.event', '--target', 'someone-else']);
    for (const empty of ['--target=', '--kind=', '--source=', '--exclude-kind=']) {
      const r = await runCli(home, ['tail', '--since', '0', '--timeout', '1', '--json', empty]);
      expect(r.exitCode, empty).toBe(2);
      const lines = r.stdout.trim().split('\n');
      expect(lines, empty).toHaveLength(1); // NDJSON: the error is one line, not the event that was not asked for
      expect(JSON.parse(lines[0] as string), empty).toMatchObject({ code: 'INVALID_FIELD' });
    }
  });

  it('tail and enter take --timeout in seconds with fractions, as wait and inject do', async () => {
    const home = homes.newHome();
    await runCli(home, ['daemon', 'start']);
    const t0 = Date.now();
    const r = await runCli(home, ['tail', '--kind', 'never.sent', '--count', '1', '--timeout', '0.5', '--json']);
    expect(r.exitCode, r.stderr).toBe(5);
    expect(Date.now() - t0).toBeLessThan(5_000);
    expect((await runCli(home, ['spawn', '--id', 'sh', '--', 'bash', '--norc', '--noprofile'])).exitCode).toBe(0);
    const enter = await runCli(home, ['enter', 'sh', '--timeout', '2.5']);
    expect(enter.exitCode, enter.stderr).toBe(0);
  });
});

describe('messages a person reads', () => {
  it('`keys` says "1 byte", `wait` times out "to change state" and says a shell is never idle, as `inject --when-idle` does, `inject --timeout 0` names its range', async () => {
    const home = homes.newHome();
    expect((await runCli(home, ['spawn', '--id', 'quiet', '--', 'sleep', '60'])).exitCode).toBe(0);
    const keys = await runCli(home, ['keys', 'quiet', 'Enter']);
    expect(keys.stdout.trim()).toBe('sent Enter to quiet (1 byte)');
    const wait = await runCli(home, ['wait', 'quiet', '--until', 'any-change', '--timeout', '0.5']);
    expect(wait.exitCode).toBe(5);
    expect(wait.stderr).toMatch(/timed out waiting for quiet \(now unknown\) to change state \[TIMEOUT\]/);
    // A program with no state rules is never idle: both waits say so rather than only "not idle in time".
    const idle = await runCli(home, ['wait', 'quiet', '--until', 'idle', '--timeout', '0.5']);
    expect(idle.stderr).toMatch(/to be idle \(a program with no state rules, such as a shell, is never idle\) \[TIMEOUT\]/);
    const held = await runCli(home, ['inject', 'quiet', 'hi', '--when-idle', '--timeout', '0.5']);
    expect(held.exitCode).toBe(5);
    expect(held.stderr).toMatch(/not idle within 500 ms \(it is unknown; a program with no state rules, such as a shell, is never idle: inject without --when-idle\)/);
    const zero = await runCli(home, ['inject', 'quiet', 'hi', '--timeout', '0']);
    expect(zero.exitCode).toBe(2);
    expect(zero.stderr).toMatch(/--timeout takes seconds \(more than 0, at most 600\), got "0"/);
  });
});
