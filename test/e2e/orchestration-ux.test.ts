import { spawn } from 'node:child_process';
import { promises as fs } from 'node:fs';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { runCli, spawnCli } from '../helpers/cli.js';
import { liveDaemon, useHomes } from '../helpers/daemon.js';
import { BIN, sleep, testEnv, waitFor } from '../helpers/env.js';
import { FIXTURES, type Submission } from '../helpers/fixtures.js';
import { TerminalDriver } from '../helpers/terminal.js';

/** The orchestration commands as scripts use them: pipes, exit codes, and the messages a person reads. */
const homes = useHomes();
const drivers: TerminalDriver[] = [];
/** After the turn_request is on the bus, the router's job reaches the live host within milliseconds; this is ample. */
const HOST_TAKES_JOB_MS = 500;

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

describe('Ctrl-C while an inject waits', () => {
  it('says the prompt may still be typed, with its inject id and where its outcome comes, and exits 130', async () => {
    const home = homes.newHome();
    const spawned = await runCli(home, ['spawn', '--id', 'ci1', '--', 'bash', '--norc', '--noprofile']);
    expect(spawned.exitCode, spawned.stderr).toBe(0);
    // A shell is never idle: the prompt waits in the daemon until its timeout.
    const inject = spawnCli(home, ['inject', 'ci1', 'echo later', '--when-idle', '--timeout', '30', '--inject-id', 'ctrl-c-1']);
    await sleep(1_500);
    inject.kill('SIGINT');
    const r = await inject;
    expect(r.exitCode).toBe(130);
    expect(String(r.stderr)).toMatch(/stopped waiting; the prompt may still be typed \(inject ctrl-c-1\)\. Its outcome comes on the bus \(telepty tail --kind 'inject\*' --target ci1\); retry only with --inject-id ctrl-c-1/);
  });
});

describe('Ctrl-C while a reply waits', () => {
  it('says the same, naming the reply\'s inject id, and exits 130', async () => {
    const home = homes.newHome();
    // The sender reads raw and echoes nothing: the reply waits for its echo, then for its Enter's effect, for seconds.
    const silent = 'process.stdin.setRawMode(true); process.stdin.resume(); setInterval(() => {}, 1000)';
    expect((await runCli(home, ['spawn', '--id', 'asker', '--', process.execPath, '-e', silent])).exitCode).toBe(0);
    expect((await runCli(home, ['spawn', '--id', 'answerer', '--', 'bash', '--norc', '--noprofile'])).exitCode).toBe(0);
    expect((await runCli(home, ['inject', 'answerer', 'true', '--from', 'asker'])).exitCode).toBe(0);
    const reply = spawnCli(home, ['reply', 'the answer'], { env: { TELEPTY_SESSION_ID: 'answerer' } });
    await sleep(1_000);
    reply.kill('SIGINT');
    const r = await reply;
    expect(r.exitCode).toBe(130);
    expect(String(r.stderr)).toMatch(/stopped waiting; the prompt may still be typed \(inject [0-9a-f-]{36}\)\. Its outcome comes on the bus \(telepty tail --kind 'inject\*' --target asker\); retry only with --inject-id /);
    // Which reply takes, as inject does; checked before anything is sent.
    const bad = await runCli(home, ['reply', 'again', '--inject-id', 'bad id!'], { env: { TELEPTY_SESSION_ID: 'answerer' } });
    expect([bad.exitCode, bad.stderr]).toEqual([2, expect.stringMatching(/--inject-id takes 1-200 letters/)]);
  });
});

describe('tail into a reader that stops reading', () => {
  it('stops reading the bus until its stdout drains (the daemon drops and resumes it), instead of holding every event; every event comes once, in order', async () => {
    const home = homes.newHome();
    // The ring keeps every event of the test, so the resumed tail replays what it had not printed; the dropped tail
    // gets a minute to read its way to the close frame (the default cuts a stalled socket sooner, and it resumes all
    // the same, with nothing to say why).
    await runCli(home, ['daemon', 'start'], { env: { TELEPTY_BUS_RING: '100000', TELEPTY_BUS_DROP_GRACE_MS: '60000' } });
    const tail = spawn(process.execPath, [BIN, 'tail', '--kind', 'slow.*', '--json'], { env: testEnv(home), stdio: ['ignore', 'pipe', 'pipe'] });
    let err = '';
    tail.stderr.on('data', (d: Buffer) => (err += d.toString('utf8')));
    try {
      // A reader that takes nothing (a pager, `| sleep 60`): its pipe fills, and stays full.
      tail.stdout.pause();
      await sleep(500);
      const N = 60_000;
      const pad = 'p'.repeat(600);
      const events = Array.from({ length: N }, (_, i) => JSON.stringify({ kind: 'slow.one', payload: { i, pad } })).join('\n');
      // 45 MB: far over what the daemon holds for a subscriber (8 MiB) and the sockets' buffers between them.
      const pub = await runCli(home, ['publish'], { input: events, timeout: 60_000 });
      expect(pub.exitCode, pub.stderr).toBe(0);
      let out = '';
      tail.stdout.on('data', (d: Buffer) => (out += d.toString('utf8')));
      tail.stdout.resume();
      await waitFor('the last event', () => out.includes(`"i":${N - 1},`), 60_000);
      // It was dropped for being slow: so it did not read the socket while its reader took nothing.
      expect(err).toMatch(/the daemon dropped this tail \(too slow; reconnect with since=\d+\); resuming/);
      const got = out.trimEnd().split('\n').map((l) => (JSON.parse(l) as { payload: { i: number } }).payload.i);
      expect(got).toEqual(Array.from({ length: N }, (_, i) => i));
    } finally {
      tail.kill('SIGKILL');
    }
  }, 120_000);
});

describe('publish into a reader that stops reading', () => {
  it('stops reading stdin until its stdout takes the answers, instead of holding one per event; every event is answered, in order', async () => {
    const home = homes.newHome();
    await runCli(home, ['daemon', 'start']);
    const pub = spawn(process.execPath, [BIN, 'publish', '--json'], { env: testEnv(home), stdio: ['pipe', 'pipe', 'pipe'] });
    let err = '';
    pub.stderr.on('data', (d: Buffer) => (err += d.toString('utf8')));
    try {
      // A reader that takes nothing (a pager, `| sleep 60`) while a producer offers 200,000 events (8 MB).
      pub.stdout.pause();
      const N = 200_000;
      const input = Array.from({ length: N }, (_, i) => `${JSON.stringify({ kind: 'load.x', payload: { i } })}\n`).join('');
      pub.stdin.end(input);
      await sleep(3_000);
      // Before, it read all of it and held an answer line per event (157 MB); now most of the input waits in the pipe.
      expect(pub.stdin.writableLength).toBeGreaterThan(input.length / 2);
      let out = '';
      pub.stdout.on('data', (d: Buffer) => (out += d.toString('utf8')));
      pub.stdout.resume();
      const code = await new Promise<number | null>((resolve) => pub.once('exit', resolve));
      expect(code, err).toBe(0);
      const seqs = out.trimEnd().split('\n').map((l) => (JSON.parse(l) as { seq: number }).seq);
      expect(seqs).toHaveLength(N);
      expect(seqs.every((seq, i) => i === 0 || seq > (seqs[i - 1] as number))).toBe(true);
    } finally {
      pub.kill('SIGKILL');
    }
  }, 120_000);
});

describe('publish --wait across a daemon crash', () => {
  afterEach(() => {
    for (const d of drivers.splice(0)) d.dispose();
  });

  it('a turn_request routed just before the daemon was killed (-9): publish --wait gets its outcome from the next daemon (exit 0)', async () => {
    const home = homes.newHome();
    await runCli(home, ['daemon', 'start']);
    const log = path.join(home, 'drafty.submissions');
    // A wrapped session whose person left a draft: the routed prompt waits in its host's queue (never glued onto a
    // draft) while the daemon that routed it is killed and replaced; the host outlives both.
    const d = new TerminalDriver(process.execPath, [BIN, 'wrap', '--quiet', '--id', 'drafty', '--', process.execPath, path.join(FIXTURES, 'line-reader.mjs')], {
      env: { ...testEnv(home), FIXTURE_LOG: log, TELEPTY_TYPING_DEFER_MAX_MS: '60000' },
    });
    drivers.push(d);
    await d.waitForText('line ready');
    d.write('draft');
    await d.waitForText('draft');
    const publish = spawnCli(home, ['publish', '--wait', '--timeout', '30', '--kind', 'turn_request', '--target', 'drafty', '--payload', '{"prompt":"ROUTED-THROUGH-A-CRASH"}']);
    await runCli(home, ['tail', '--since', '0', '--kind', 'turn_request', '--count', '1', '--timeout', '10']);
    await sleep(HOST_TAKES_JOB_MS);
    process.kill((await liveDaemon(home))?.record.pid as number, 'SIGKILL');
    await runCli(home, ['daemon', 'start']);
    d.write('\x7f'.repeat('draft'.length)); // the person deletes the draft: the prompt goes in
    const r = await publish;
    expect(r.exitCode, String(r.stderr)).toBe(0);
    expect(String(r.stdout)).toMatch(/written to drafty \(inject_id /);
    const submitted = (await fs.readFile(log, 'utf8')).trim().split('\n').map((l) => (JSON.parse(l) as Submission).text);
    expect(submitted).toEqual(['ROUTED-THROUGH-A-CRASH']);
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

  it('says on stderr when the daemon it follows is gone and none comes back, instead of hanging silently', async () => {
    const home = homes.newHome();
    await runCli(home, ['daemon', 'start']);
    const tail = spawnCli(home, ['tail', '--kind', 'never.sent', '--json', '--timeout', '6']);
    let err = '';
    tail.stderr?.on('data', (d: Buffer) => (err += d.toString('utf8')));
    await sleep(HOST_TAKES_JOB_MS); // subscribed
    expect((await runCli(home, ['daemon', 'stop'])).exitCode).toBe(0);
    await waitFor('the notice', () => /the daemon is gone; the tail goes on when one runs again/.test(err), 5_000);
    expect((await tail).exitCode).toBe(0);
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

describe('stdin as a file', () => {
  it('`inject --file -` and `publish --payload-file -` read stdin, as most tools take `-`', async () => {
    const home = homes.newHome();
    expect((await runCli(home, ['spawn', '--id', 'sh', '--', 'bash', '--norc', '--noprofile'])).exitCode).toBe(0);
    const injected = await runCli(home, ['inject', 'sh', '--file', '-', '--json'], { input: 'echo from-stdin-file\n' });
    expect(injected.exitCode, injected.stderr).toBe(0);
    await waitFor('the command run', async () => /^from-stdin-file$/m.test((await runCli(home, ['read', 'sh'])).stdout));
    const published = await runCli(home, ['publish', '--kind', 'from.stdin', '--payload-file', '-'], { input: '{"n":7}' });
    expect(published.exitCode, published.stderr).toBe(0);
    const tail = await runCli(home, ['tail', '--since', '0', '--kind', 'from.stdin', '--count', '1', '--timeout', '10', '--json']);
    expect(JSON.parse(tail.stdout)).toMatchObject({ payload: { n: 7 } });
  });
});

describe('wait in scripts', () => {
  it('`wait --until idle` of a session whose program exits ends with exit 4 (SESSION_EXITED), not 0 as if its turn were over', async () => {
    const home = homes.newHome();
    expect((await runCli(home, ['spawn', '--id', 'crashes', '--', 'sh', '-c', 'sleep 1; exit 3'])).exitCode).toBe(0);
    const idle = await runCli(home, ['wait', 'crashes', '--until', 'idle', '--timeout', '20']);
    expect(idle.exitCode, idle.stderr).toBe(4);
    expect(idle.stderr).toMatch(/crashes exited before it was idle \[SESSION_EXITED\]/);
    expect((await runCli(home, ['wait', 'crashes', '--until', 'exited', '--timeout', '20'])).exitCode).toBe(0);
  });
});

describe('messages a person reads', () => {
  it('`keys` says "1 byte", `wait` times out "to change state" and says a shell is never idle, as `inject --when-idle` does, `state --explain` says the state once, `inject --timeout 0` names its range', async () => {
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
    // …and says it when the wait starts, since without --timeout it may never end.
    expect(idle.stderr).toMatch(/^telepty: quiet: a program with no state rules, such as a shell, is never idle; waiting for its hooks or its exit\n/);
    const working = spawnCli(home, ['wait', 'quiet', '--until', 'working']);
    let said = '';
    working.stderr?.on('data', (d: Buffer) => (said += d.toString('utf8')));
    await waitFor('the note at the start of an unbounded wait', () => said.includes('is never working; waiting for its hooks or its exit (no --timeout: Ctrl-C to stop)'));
    working.kill();
    await working;
    const held = await runCli(home, ['inject', 'quiet', 'hi', '--when-idle', '--timeout', '0.5']);
    expect(held.exitCode).toBe(5);
    expect(held.stderr).toMatch(/not idle within 500 ms \(it is unknown; a program with no state rules, such as a shell, is never idle: inject without --when-idle\)/);
    // state --explain: the head line once, then why and each kind of evidence.
    const explained = (await runCli(home, ['state', 'quiet', '--explain'])).stdout.trim().split('\n');
    expect(explained[0]).toMatch(/^unknown since \S+$/);
    expect(explained.slice(1)).toEqual([expect.stringMatching(/^ {2}why: /), '  hooks: none seen', expect.stringMatching(/^ {2}terminal: /), expect.stringMatching(/^ {2}screen: /)]);
    const unrouted = await runCli(home, ['publish', '--wait', '--kind', 'other']);
    expect(unrouted.stderr).toMatch(/; an event of kind "other" is not routed/);
    const zero = await runCli(home, ['inject', 'quiet', 'hi', '--timeout', '0']);
    expect(zero.exitCode).toBe(2);
    expect(zero.stderr).toMatch(/--timeout takes seconds \(more than 0, at most 600\), got "0"/);
  });
});
