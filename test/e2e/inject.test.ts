import { promises as fs } from 'node:fs';
import http from 'node:http';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import type { BusEvent } from '../../src/protocol/bus.js';
import type { InjectResponse, MulticastResult } from '../../src/protocol/inject.js';
import type { SessionObject } from '../../src/protocol/session.js';
import { parseJson, runCli } from '../helpers/cli.js';
import { daemonPort, postApi, requestApi, subscribeBus } from '../helpers/api.js';
import { liveDaemon, useHomes } from '../helpers/daemon.js';
import { BIN, NOTHING_MORE_MS, sleep, testEnv, waitFor } from '../helpers/env.js';
import { FIXTURES, fixtureSession, type Submission } from '../helpers/fixtures.js';
import { TerminalDriver } from '../helpers/terminal.js';

const homes = useHomes();
const drivers: TerminalDriver[] = [];
afterEach(() => {
  for (const d of drivers.splice(0)) d.dispose();
});

/** Deterministic prompt text of a given size (letters, spaces, punctuation; no control characters). */
function promptOf(size: number, seed: string): string {
  const words = ['review', 'the', 'auth', 'module', 'and', 'report', 'failing', 'tests,', 'then', 'fix', 'them.'];
  let out = `${seed}:`;
  for (let i = 0; out.length < size; i++) out += ` ${words[i % words.length]}${i % 7 === 0 ? i : ''}`;
  return out.slice(0, size);
}

const MULTILINE = 'first line of the prompt\n  indented second line\n\nfourth line after a blank one\nlast: ok';

async function inject(home: string, id: string, prompt: string, extra: string[] = []): Promise<{ exitCode: number; json: InjectResponse; stderr: string }> {
  const file = path.join(home, `prompt-${Date.now()}-${Math.random().toString(36).slice(2)}.txt`);
  await fs.writeFile(file, prompt);
  const r = await runCli(home, ['inject', id, '--file', file, '--json', ...extra], { timeout: 60_000 });
  return { exitCode: r.exitCode, json: r.exitCode === 0 ? parseJson<InjectResponse>(r) : ({} as InjectResponse), stderr: r.stderr };
}

describe('inject submits exactly once, text intact', () => {
  const cases: [string, string][] = [
    ['claude-like (bracketed paste, paste heuristics)', 'claude-like.mjs'],
    ['codex-like (no bracketed paste, Enter after a burst is a newline)', 'codex-like.mjs'],
    ['plain line reader', 'line-reader.mjs'],
  ];
  for (const [name, fixture] of cases) {
    it(`into a ${name}: 5, 100, 1,000 and 100,000 characters and a multi-line prompt`, async () => {
      const home = homes.newHome();
      const s = await fixtureSession(home, 'agent', fixture);
      const prompts = [promptOf(5, 'a'), promptOf(100, 'b'), promptOf(1_000, 'c'), promptOf(100_000, 'd'), MULTILINE];
      for (const [i, prompt] of prompts.entries()) {
        const r = await inject(home, 'agent', prompt);
        expect(r.exitCode, r.stderr).toBe(0);
        expect(r.json.status).toBe('submitted');
        const subs = await waitFor(`submission ${i + 1}`, async () => {
          const all = await s.submissions();
          return all.length >= i + 1 ? all : null;
        });
        expect(subs).toHaveLength(i + 1);
        expect(subs[i]?.text).toBe(prompt);
      }
      await sleep(NOTHING_MORE_MS); // no prompt is taken twice
      expect(await s.submissions()).toHaveLength(prompts.length);
    }, 120_000);
  }

  it('into bash: 5, 100, 1,000 and 100,000 characters and a multi-line prompt', async () => {
    const home = homes.newHome();
    await runCli(home, ['spawn', '--id', 'shell', '--', 'bash', '--norc', '--noprofile']);
    await waitFor('bash prompt', async () => /[$#] $/m.test((await runCli(home, ['read', 'shell'])).stdout));
    const prompts = [promptOf(5, 'a'), promptOf(100, 'b'), promptOf(1_000, 'c'), promptOf(100_000, 'd'), MULTILINE];
    for (const [i, text] of prompts.entries()) {
      // bash's "submission" is running the command: a heredoc that appends the text to a file.
      const out = path.join(home, `bash-${i}.txt`);
      const command = `cat >> ${out} <<'TELEPTY_EOF'\n${text}\nTELEPTY_EOF`;
      const r = await inject(home, 'shell', command);
      expect(r.exitCode, r.stderr).toBe(0);
      expect(r.json.status).toBe('submitted');
      const got = await waitFor(`bash to write ${out}`, async () => {
        const t = await fs.readFile(out, 'utf8').catch(() => null);
        return t !== null && t.length >= text.length + 1 ? t : null;
      });
      expect(got).toBe(`${text}\n`);
    }
  }, 120_000);
});

describe('inject into a program reading in canonical mode (no raw mode, no bracketed paste)', () => {
  it('submits 5, 100 and 1,000 characters whole, and a multi-line prompt as its lines, in order', async () => {
    const home = homes.newHome();
    const s = await fixtureSession(home, 'cooked', 'cooked-reader.mjs');
    const expected: string[] = [];
    for (const prompt of [promptOf(5, 'a'), promptOf(100, 'b'), promptOf(1_000, 'c'), MULTILINE]) {
      const r = await inject(home, 'cooked', prompt);
      expect(r.exitCode, r.stderr).toBe(0);
      expect(r.json.status).toBe('submitted');
      // The kernel's line editor hands over one line per newline: a multi-line prompt arrives as its lines.
      expected.push(...prompt.split('\n'));
      await waitFor(`${expected.length} lines`, async () => (await s.submissions()).length >= expected.length);
    }
    await sleep(NOTHING_MORE_MS); // no line is taken twice
    expect((await s.submissions()).map((x) => x.text)).toEqual(expected);
  });

  it('delivers lines up to 4,095 bytes whole and refuses a longer line with LINE_TOO_LONG, typing nothing', async () => {
    const home = homes.newHome();
    const s = await fixtureSession(home, 'cooked', 'cooked-reader.mjs');
    const watch = subscribeBus(await daemonPort(home), '?kind=inject_failed');
    await watch.open;
    const limit = promptOf(4_095, 'limit');
    const twoLong = `${promptOf(3_000, 'one')}\n${promptOf(3_000, 'two')}`;
    for (const prompt of [limit, twoLong]) {
      const r = await inject(home, 'cooked', prompt);
      expect(r.exitCode, r.stderr).toBe(0);
    }
    const delivered = [limit, ...twoLong.split('\n')];
    await waitFor('three lines', async () => (await s.submissions()).length >= 3);

    for (const [name, prompt] of [
      ['4,096 characters', promptOf(4_096, 'over')],
      ['2,100 two-byte characters (4,200 bytes)', 'é'.repeat(2_100)],
      ['a long second line', `fine\n${promptOf(5_000, 'second')}`],
    ] as const) {
      const file = await writePrompt(home, prompt);
      const r = await runCli(home, ['inject', 'cooked', '--file', file, '--json']);
      expect(r.exitCode, name).toBe(2);
      expect(parseJson(r), name).toMatchObject({ code: 'LINE_TOO_LONG', inject_id: expect.any(String) });
      expect(r.stderr, name).toMatch(/canonical mode.*at most 4095 bytes per line.*nothing was typed/);
    }
    const failed = await waitFor('three inject_failed', () => (watch.events.length >= 3 ? watch.events : null));
    expect(failed.map((e) => [e.code, e.target_agent])).toEqual(Array.from({ length: 3 }, () => ['LINE_TOO_LONG', 'cooked']));
    watch.ws.close();

    // Nothing of the refused prompts reached the program, and it still takes the next one.
    expect((await runCli(home, ['inject', 'cooked', 'still here'])).exitCode).toBe(0);
    await waitFor('the next line', async () => (await s.submissions()).length >= 4);
    expect((await s.submissions()).map((x) => x.text)).toEqual([...delivered, 'still here']);
  });
});

describe('inject ordering and concurrency', () => {
  it('keeps 2 clients × 100 concurrent injects as 200 separate submissions, none merged or lost, each client in order', async () => {
    const home = homes.newHome();
    const s = await fixtureSession(home, 'busy', 'claude-like.mjs');
    const port = (await liveDaemon(home))?.record.port as number;
    const agent = new http.Agent({ keepAlive: true, maxSockets: 4 });
    const post = (prompt: string): Promise<InjectResponse> =>
      new Promise((resolve, reject) => {
        const body = JSON.stringify({ prompt, wait: false });
        const req = http.request({ host: '127.0.0.1', port, method: 'POST', path: '/api/sessions/busy/inject', agent, headers: { 'content-type': 'application/json' } }, (res) => {
          let text = '';
          res.on('data', (c: Buffer) => (text += c.toString()));
          res.on('end', () => (res.statusCode === 200 ? resolve(JSON.parse(text) as InjectResponse) : reject(new Error(text))));
        });
        req.on('error', reject);
        req.end(body);
      });
    const client = async (name: string): Promise<string[]> => {
      const ids: string[] = [];
      for (let i = 0; i < 100; i++) ids.push((await post(`${name}-${String(i).padStart(3, '0')}`)).inject_id);
      return ids;
    };
    const [a, b] = await Promise.all([client('A'), client('B')]);
    expect(new Set([...a, ...b]).size).toBe(200);
    const subs = await waitFor('200 submissions', async () => ((await s.submissions()).length >= 200 ? s.submissions() : null), 90_000);
    agent.destroy();
    const texts = subs.map((x) => x.text);
    expect(texts).toHaveLength(200);
    expect(texts.every((t) => /^[AB]-\d{3}$/.test(t))).toBe(true);
    expect(texts.filter((t) => t.startsWith('A-'))).toEqual(Array.from({ length: 100 }, (_, i) => `A-${String(i).padStart(3, '0')}`));
    expect(texts.filter((t) => t.startsWith('B-'))).toEqual(Array.from({ length: 100 }, (_, i) => `B-${String(i).padStart(3, '0')}`));
  }, 150_000);

  /** The withdrawn prompt would be typed right after the long one: watched this long for it not to come. */
  const WITHDRAWN_STAYS_OUT_MS = 500;

  it('withdraws a prompt still queued when the caller stops waiting, and says nothing was typed', async () => {
    const home = homes.newHome();
    const s = await fixtureSession(home, 'slow', 'codex-like.mjs');
    const big = promptOf(100_000, 'long');
    const first = await runCli(home, ['inject', 'slow', '--no-wait', '--file', await writePrompt(home, big)]);
    expect(first.exitCode).toBe(0);
    // The long prompt is being typed (the fixture echoes it) when the second one arrives.
    // Polled through the API, not `telepty read`: a CLI start per poll is slower than the typing window on a
    // loaded machine, and the prompt could be typed whole between two polls.
    const port = await daemonPort(home);
    await waitFor('the long prompt to be typing', async () => JSON.stringify((await requestApi(port, 'GET', '/api/sessions/slow/screen')).json).includes('codex> …'), 10_000, 5);
    const second = await runCli(home, ['inject', 'slow', 'after the long one', '--timeout', '0.2']);
    expect(second.exitCode).toBe(5);
    expect(second.stderr).toMatch(/still queued .* withdrawn \(nothing was typed\)/);
    await waitFor('the long prompt to be submitted', async () => (await s.submissions()).length === 1, 60_000);
    await sleep(WITHDRAWN_STAYS_OUT_MS);
    expect((await s.submissions()).map((x) => x.text.length)).toEqual([100_000]);
  }, 90_000);
});

async function writePrompt(home: string, text: string): Promise<string> {
  const file = path.join(home, `p-${Math.random().toString(36).slice(2)}.txt`);
  await fs.writeFile(file, text);
  return file;
}

describe('inject edges', () => {
  it('types text only with --no-enter, and `enter` submits it', async () => {
    const home = homes.newHome();
    const s = await fixtureSession(home, 'draft', 'claude-like.mjs');
    const r = await runCli(home, ['inject', 'draft', '--no-enter', 'a draft prompt', '--json']);
    expect(r.exitCode).toBe(0);
    expect(parseJson<InjectResponse>(r).status).toBe('written');
    await sleep(NOTHING_MORE_MS); // --no-enter: the text must not be submitted
    expect(await s.submissions()).toEqual([]);
    expect((await runCli(home, ['read', 'draft'])).stdout).toContain('claude> a draft prompt');
    const e = await runCli(home, ['enter', 'draft', '--json']);
    expect(e.exitCode).toBe(0);
    expect(parseJson<InjectResponse>(e).status).toBe('submitted');
    expect((await waitFor('the draft submitted', async () => ((await s.submissions()).length === 1 ? s.submissions() : null)))[0]?.text).toBe('a draft prompt');
  });

  it('reads the prompt from stdin', async () => {
    const home = homes.newHome();
    const s = await fixtureSession(home, 'piped', 'line-reader.mjs');
    const r = await runCli(home, ['inject', 'piped'], { input: 'from stdin\nsecond line\n' });
    expect(r.exitCode, r.stderr).toBe(0);
    expect(r.stdout).toMatch(/^piped: submitted \[inject [0-9a-f]{8}\]$/m);
    expect((await waitFor('submission', async () => ((await s.submissions()).length ? s.submissions() : null)))[0]?.text).toBe('from stdin\nsecond line');
  });

  it('reads the prompt from stdin for the text "-", and refuses an empty text (exit 2, nothing typed)', async () => {
    const home = homes.newHome();
    const s = await fixtureSession(home, 'dash', 'line-reader.mjs');
    const r = await runCli(home, ['inject', 'dash', '-'], { input: 'piped text\n' });
    expect(r.exitCode, r.stderr).toBe(0);
    const empty = await runCli(home, ['inject', 'dash', '']);
    expect(empty.exitCode).toBe(2);
    expect(empty.stderr).toMatch(/the text is empty .*telepty enter/);
    await sleep(NOTHING_MORE_MS);
    expect((await s.submissions()).map((x) => x.text)).toEqual(['piped text']);
  });

  it('proves the submit when the prompt contains the text ("ls" after "tools$") or the output ends as the text does', async () => {
    const home = homes.newHome();
    // A shell (through env, as `env PS1=… bash` is started), and a REPL-like reader that prints back each line it takes.
    await runCli(home, ['spawn', '--id', 'sh', '--', 'env', 'PS1=tools$ ', 'bash', '--norc', '--noprofile']);
    await waitFor('the shell prompt', async () => /tools\$ $/m.test((await runCli(home, ['read', 'sh'])).stdout));
    const repl = await fixtureSession(home, 'repl', 'line-reader.mjs', ['FIXTURE_PROMPT=tools', 'FIXTURE_ECHO_BACK=1']);
    const texts = ['ls', 'echo hi', 'say hi', 's'];
    for (const id of ['sh', 'repl']) {
      for (const text of texts) {
        const r = await inject(home, id, text);
        // Before: `entered` (exit 8), then every later prompt SESSION_BUSY (exit 5), "still in the input box".
        expect(r.exitCode, `${id} ${text}: ${r.stderr}`).toBe(0);
        expect(r.json.status).toBe('submitted');
      }
    }
    expect((await repl.submissions()).map((x) => x.text)).toEqual(texts);
  });

  it('sends to several sessions at once (a,b and --all)', async () => {
    const home = homes.newHome();
    const one = await fixtureSession(home, 'one', 'claude-like.mjs');
    const two = await fixtureSession(home, 'two', 'line-reader.mjs');
    const m = await runCli(home, ['inject', 'one,two', 'to both', '--json']);
    expect(m.exitCode).toBe(0);
    expect(parseJson<MulticastResult>(m).results.successful.map((x) => x.id).sort()).toEqual(['one', 'two']);
    const all = await runCli(home, ['inject', '--all', 'to', 'everyone']);
    expect(all.exitCode).toBe(0);
    for (const s of [one, two]) {
      const texts = (await waitFor('two submissions', async () => ((await s.submissions()).length === 2 ? s.submissions() : null))).map((x) => x.text);
      expect(texts).toEqual(['to both', 'to everyone']);
    }
    const partial = await runCli(home, ['inject', 'one,nobody', 'partly', '--json']);
    expect(partial.exitCode).toBe(3);
    const res = parseJson<MulticastResult>(partial);
    // 0.1.53's answer to a partial failure: success, with the failed list (the exit status says it failed).
    expect(res.success).toBe(true);
    expect(res.results.failed).toEqual([expect.objectContaining({ id: 'nobody', code: 'SESSION_NOT_FOUND' })]);
  });

  it('fails with a code and a non-zero exit for unknown, exited and disconnected sessions', async () => {
    const home = homes.newHome();
    const unknown = await runCli(home, ['inject', 'ghost', 'hello', '--json']);
    expect(unknown.exitCode).toBe(3);
    expect(parseJson(unknown)).toMatchObject({ code: 'SESSION_NOT_FOUND' });

    await runCli(home, ['spawn', '--id', 'gone', '--', 'sh', '-c', 'exit 0']);
    await waitFor('gone to exit', async () => parseJson<SessionObject[]>(await runCli(home, ['list', '--json']))[0]?.status === 'exited');
    const exited = await runCli(home, ['inject', 'gone', 'hello', '--json']);
    expect(exited.exitCode).toBe(4);
    expect(parseJson(exited)).toMatchObject({ code: 'SESSION_EXITED' });

    const spawned = parseJson<SessionObject>(await runCli(home, ['spawn', '--id', 'away', '--json', '--', 'sleep', '60']));
    process.kill(spawned.host_pid as number, 'SIGSTOP');
    try {
      await runCli(home, ['daemon', 'stop']);
      const away = await runCli(home, ['inject', 'away', 'hello', '--json']);
      expect(away.exitCode).toBe(4);
      expect(parseJson(away)).toMatchObject({ code: 'SESSION_DISCONNECTED' });
    } finally {
      process.kill(spawned.host_pid as number, 'SIGCONT');
    }
  });

  it('answers at once, and publishes an outcome, for prompts still on their way when the program exits', async () => {
    const home = homes.newHome();
    // Raw mode and no echo: the first prompt waits for an echo that never comes; the others queue behind it.
    const ender = "process.stdin.setRawMode(true); process.stdin.resume(); setTimeout(() => process.exit(3), 1500)";
    await runCli(home, ['spawn', '--id', 'ender', '--', process.execPath, '-e', ender]);
    const watch = subscribeBus(await daemonPort(home), '?kind=inject_*&kind=entered&kind=submitted');
    await watch.open;
    try {
      const started = Date.now();
      const answers = await Promise.all(['one', 'two', 'three'].map((text) => runCli(home, ['inject', 'ender', text, '--json', '--timeout', '20'])));
      // Before: the host disposed of its screen with the jobs still waiting on it, and each caller waited its whole timeout.
      expect(Date.now() - started).toBeLessThan(8_000);
      for (const a of answers) {
        expect([4, 8]).toContain(a.exitCode);
        if (a.exitCode === 4) expect(parseJson(a)).toMatchObject({ code: 'SESSION_EXITED' });
      }
      expect(answers.filter((a) => a.exitCode === 4).length).toBeGreaterThanOrEqual(2);
      // An outcome on the bus for each of the three (one that reached the daemon only after the exit is refused
      // before it is accepted: its inject_failed carries no inject id).
      const ends = await waitFor('three outcomes', async () => {
        const done = watch.events.filter((e) => e.kind === 'inject_failed' || e.kind === 'entered' || e.kind === 'submitted');
        return done.length >= 3 ? done : null;
      });
      expect(ends.map((e) => e.target_agent)).toEqual(['ender', 'ender', 'ender']);
    } finally {
      watch.ws.close();
    }
  });

  it('refuses prompts that are empty, carry control characters, or have no session to go to', async () => {
    const home = homes.newHome();
    await fixtureSession(home, 'strict', 'claude-like.mjs');
    const cases: [string[], RegExp][] = [
      [['inject', 'strict', 'evil\x1b[201~\rrm -rf ~'], /control characters/],
      [['inject', 'strict', 'bell\x07'], /control characters/],
      [['inject', '../strict', 'x'], /INVALID_SESSION_ID/],
      [['inject', 'strict'], /no prompt/],
    ];
    for (const [args, message] of cases) {
      const r = await runCli(home, args, { input: '' });
      expect(r.exitCode, args.join(' ')).toBe(2);
      expect(r.stderr).toMatch(message);
    }
  });

  it('records the sender, and `telepty reply` inside the target answers it', async () => {
    const home = homes.newHome();
    const alice = await fixtureSession(home, 'alice', 'claude-like.mjs');
    await runCli(home, ['spawn', '--id', 'bob', '--', 'bash', '--norc', '--noprofile']);
    await waitFor('bash prompt', async () => /[$#] $/m.test((await runCli(home, ['read', 'bob'])).stdout));
    const r = await runCli(home, ['inject', 'bob', `${process.execPath} ${BIN} reply pong-from-bob`, '--from', 'alice', '--thread', 't-1']);
    expect(r.exitCode, r.stderr).toBe(0);
    const bob = parseJson<SessionObject[]>(await runCli(home, ['list', '--json'])).find((s) => s.id === 'bob');
    expect(bob).toMatchObject({ last_from: 'alice', last_reply_to: 'alice', last_thread_id: 't-1' });
    const got = await waitFor('alice to get the reply', async () => ((await alice.submissions()).length ? alice.submissions() : null));
    expect(got[0]?.text).toBe('pong-from-bob');
    const alices = parseJson<SessionObject[]>(await runCli(home, ['list', '--json'])).find((s) => s.id === 'alice');
    expect(alices).toMatchObject({ last_from: 'bob', last_thread_id: 't-1' });
  });
});

describe('inject events', () => {
  it('publishes inject_written with the seed fields, message_routed and submitted, all with the inject_id of the answer', async () => {
    const home = homes.newHome();
    const s = await fixtureSession(home, 'target', 'claude-like.mjs');
    const watch = subscribeBus(await daemonPort(home), '?kind=inject_*&kind=message_routed&kind=submitted');
    await watch.open;
    const r = await runCli(home, ['inject', 'target', '--from', 'a', '--reply-to', 'b', '--thread', 't', '--reply-expected', '--wait', '--json', 'the text']);
    expect(r.exitCode, r.stderr).toBe(0);
    const answer = parseJson<InjectResponse>(r);
    expect(answer.status).toBe('submitted');
    const events = await waitFor('three events', () => (watch.events.length >= 3 ? watch.events : null));
    watch.ws.close();
    expect(events.map((e) => e.kind)).toEqual(['inject_written', 'message_routed', 'submitted']);
    const [written, routed, submitted] = events as [BusEvent, BusEvent, BusEvent];
    expect(written).toMatchObject({
      kind: 'inject_written',
      type: 'inject_written',
      sender: 'daemon',
      timestamp: written.ts,
      inject_id: answer.inject_id,
      target_agent: 'target',
      content: 'the text',
      from: 'a',
      reply_to: 'b',
      thread_id: 't',
      reply_expected: true,
    });
    expect(routed).toMatchObject({ kind: 'message_routed', type: 'message_routed', inject_id: answer.inject_id, from: 'a', to: 'target', reply_to: 'b', thread_id: 't', message_id: expect.any(String) });
    expect(submitted).toMatchObject({ kind: 'submitted', type: 'submitted', inject_id: answer.inject_id, target_agent: 'target', written_at: answer.written_at, submitted_at: answer.submitted_at });
    expect((await s.submissions()).map((x) => x.text)).toEqual(['the text']);
  });

  it('publishes inject_failed with the code of the failure', async () => {
    const home = homes.newHome();
    await runCli(home, ['daemon', 'start']);
    const watch = subscribeBus(await daemonPort(home), '?kind=inject_*');
    await watch.open;
    const r = await runCli(home, ['inject', 'ghost', 'hello', '--from', 'a']);
    expect(r.exitCode).toBe(3);
    const failed = await waitFor('inject_failed', () => watch.events.find((e) => e.kind === 'inject_failed'));
    watch.ws.close();
    expect(failed).toMatchObject({ type: 'inject_failed', code: 'SESSION_NOT_FOUND', target_agent: 'ghost', delivered: false, error: expect.stringMatching(/ghost/) });
    expect(watch.events.filter((e) => e.kind === 'inject_written')).toEqual([]);
  });
});

describe('inject over plain HTTP', () => {
  it('answers at once with status "queued" by default, and after the job with written_at/submitted_at when wait is true', async () => {
    const home = homes.newHome();
    const s = await fixtureSession(home, 'h', 'claude-like.mjs');
    const p = await daemonPort(home);
    const watch = subscribeBus(p, '?kind=submitted');
    await watch.open;

    const queued = await postApi(p, '/api/sessions/h/inject', { prompt: 'not waited for' });
    expect(queued.status).toBe(200);
    expect(queued.json).toEqual({ success: true, inject_id: expect.any(String), session_id: 'h', status: 'queued', written_at: null, submitted_at: null, submit: { deferred: true, strategy: 'pty_split_cr' } });
    // The answer came before the outcome, which is published on the bus.
    expect(watch.events.some((e) => e.inject_id === queued.json.inject_id)).toBe(false);
    await waitFor('the queued one submitted', () => watch.events.find((e) => e.inject_id === queued.json.inject_id));

    const waited = await postApi(p, '/api/sessions/h/inject', { prompt: 'waited for', wait: true, timeout_ms: 20_000 });
    expect(waited.status).toBe(200);
    expect(waited.json).toMatchObject({ success: true, inject_id: expect.any(String), status: 'submitted', written_at: expect.any(String), submitted_at: expect.any(String) });
    expect(Date.parse(waited.json.submitted_at as string)).toBeGreaterThanOrEqual(Date.parse(waited.json.written_at as string));
    // ready_at: when the program was ready for it (issue 25: telepty's part is submitted_at − ready_at), before the Enter.
    expect(Date.parse(waited.json.ready_at as string)).toBeLessThanOrEqual(Date.parse(waited.json.written_at as string));
    // By the time the answer came the program had taken it.
    expect((await s.submissions()).map((x) => x.text)).toEqual(['not waited for', 'waited for']);

    const draft = await postApi(p, '/api/sessions/h/inject', { prompt: 'a draft', no_enter: true, wait: true });
    expect(draft.json).toMatchObject({ status: 'written', written_at: expect.any(String), submitted_at: null });
    const enter = await postApi(p, '/api/sessions/h/submit', { wait: true });
    expect(enter.json).toMatchObject({ success: true, status: 'submitted', submitted_at: expect.any(String) });
    expect((await s.submissions()).map((x) => x.text)).toEqual(['not waited for', 'waited for', 'a draft']);

    const bad = await postApi(p, '/api/sessions/h/inject', { prompt: 'x', wait: 'yes' });
    expect(bad).toMatchObject({ status: 400, json: { code: 'INVALID_FIELD' } });
    watch.ws.close();
  });
});

describe('reply across machines', () => {
  it('refuses to reply to a sender on another machine (UNKNOWN_HOST) and answers id@<this machine> locally', async () => {
    const home = homes.newHome();
    await runCli(home, ['daemon', 'start'], { env: { TELEPTY_MACHINE_ID: 'box-a' } });
    const alice = await fixtureSession(home, 'alice', 'claude-like.mjs');
    await fixtureSession(home, 'bob', 'line-reader.mjs');
    const asBob = { env: { TELEPTY_SESSION_ID: 'bob' } };

    // Someone called alice on another machine asked bob: a local alice must not get the answer.
    expect((await runCli(home, ['inject', 'bob', 'a question from afar', '--from', 'alice@box-b'])).exitCode).toBe(0);
    const remote = await runCli(home, ['reply', 'meant for box-b', '--json'], asBob);
    expect(remote.exitCode, remote.stderr).toBe(3);
    expect(parseJson(remote)).toMatchObject({ code: 'UNKNOWN_HOST' });
    expect(remote.stderr).toMatch(/box-b.*nothing was sent/);

    // The same id at this machine's own id is local.
    expect((await runCli(home, ['inject', 'bob', 'a question from here', '--from', 'alice@box-a'])).exitCode).toBe(0);
    const local = await runCli(home, ['reply', 'meant for the local alice', '--json'], asBob);
    expect(local.exitCode, local.stderr).toBe(0);
    expect(parseJson<InjectResponse>(local)).toMatchObject({ session_id: 'alice', status: 'submitted' });
    await waitFor('the reply at alice', async () => (await alice.submissions()).length >= 1);
    await sleep(NOTHING_MORE_MS); // and the one meant for box-b never comes
    expect((await alice.submissions()).map((s) => s.text)).toEqual(['meant for the local alice']);
  });
});

describe('inject into a wrapped session', () => {
  function wrap(home: string, args: string[]): TerminalDriver {
    const d = new TerminalDriver(process.execPath, [BIN, 'wrap', '--quiet', ...args], { env: { ...testEnv(home), PS1: 'wrapped$ ' } });
    drivers.push(d);
    return d;
  }

  it('reaches a wrapped program after kill -9 of the daemon and a new daemon', async () => {
    const home = homes.newHome();
    const t = wrap(home, ['--id', 'w', '--', 'bash', '--norc', '--noprofile']);
    await t.waitForText('wrapped$');
    const daemon = await liveDaemon(home);
    process.kill(daemon?.record.pid as number, 'SIGKILL');
    await runCli(home, ['daemon', 'start']);
    await waitFor('w to reconnect', async () => parseJson<SessionObject[]>(await runCli(home, ['list', '--json'])).some((s) => s.id === 'w' && s.status === 'connected'), 5_000);
    const r = await runCli(home, ['inject', 'w', 'echo injected-$((3*14))']);
    expect(r.exitCode, r.stderr).toBe(0);
    await t.waitForText(/^injected-42$/m);
  });

  /** A person typing steadily: one key this often, well under the host's typing pause (400 ms). */
  const KEY_EVERY_MS = 50;

  it('waits for the user to pause typing, never interleaving with the keystrokes', async () => {
    const home = homes.newHome();
    const s = { log: path.join(home, 'w.submissions') };
    const d = new TerminalDriver(process.execPath, [BIN, 'wrap', '--quiet', '--id', 'typed', '--', process.execPath, path.join(FIXTURES, 'line-reader.mjs')], {
      env: { ...testEnv(home), FIXTURE_LOG: s.log },
    });
    drivers.push(d);
    await d.waitForText('line ready');
    // The user types one key every 50 ms for 1.5 s while an inject arrives.
    const typing = (async () => {
      for (const ch of 'typed-by-hand-slowly-123456789') {
        d.write(ch);
        await sleep(KEY_EVERY_MS);
      }
      d.write('\r');
    })();
    await d.waitForText('typ'); // the person is typing
    const r = await runCli(home, ['inject', 'typed', 'INJECTED-PROMPT']);
    await typing;
    expect(r.exitCode, r.stderr).toBe(0);
    const subs = (await fs.readFile(s.log, 'utf8')).trim().split('\n').map((l) => (JSON.parse(l) as Submission).text);
    expect(subs).toEqual(['typed-by-hand-slowly-123456789', 'INJECTED-PROMPT']);
  });

  /** A person who never pauses: one key this often, far under the host's typing pause. */
  const HAMMER_KEY_EVERY_MS = 40;

  it('gives up with SESSION_BUSY (exit 5) when the user never pauses', async () => {
    const home = homes.newHome();
    const d = new TerminalDriver(process.execPath, [BIN, 'wrap', '--quiet', '--id', 'hammer', '--', process.execPath, path.join(FIXTURES, 'line-reader.mjs')], {
      env: { ...testEnv(home), TELEPTY_TYPING_DEFER_MAX_MS: '600' },
    });
    drivers.push(d);
    await d.waitForText('line ready');
    let typing = true;
    const keys = (async () => {
      while (typing) {
        d.write('x');
        await sleep(HAMMER_KEY_EVERY_MS);
      }
    })();
    const r = await runCli(home, ['inject', 'hammer', 'NEVER-TYPED', '--json']);
    typing = false;
    await keys;
    expect(r.exitCode).toBe(5);
    expect(parseJson(r)).toMatchObject({ code: 'SESSION_BUSY' });
    expect(await d.screenText()).not.toContain('NEVER-TYPED');
  });
});
