import { promises as fs } from 'node:fs';
import net from 'node:net';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import type { MetaResponse } from '../../src/protocol/meta.js';
import type { SessionObject } from '../../src/protocol/session.js';
import { parseJson, runCli } from '../helpers/cli.js';
import { useHomes } from '../helpers/daemon.js';
import { BIN, freePort, testEnv, waitFor } from '../helpers/env.js';
import { fixtureSession } from '../helpers/fixtures.js';
import { TerminalDriver } from '../helpers/terminal.js';

const homes = useHomes();
const drivers: TerminalDriver[] = [];
afterEach(() => {
  for (const d of drivers.splice(0)) d.dispose();
});

async function ids(home: string): Promise<string[]> {
  return parseJson<SessionObject[]>(await runCli(home, ['list', '--json'])).map((s) => s.id);
}

describe('everyday use', () => {
  it('`daemon start --port P` starts on P (the option is the subcommand\'s, not swallowed by `daemon`)', async () => {
    const home = homes.newHome();
    const port = await freePort();
    const started = await runCli(home, ['daemon', 'start', '--port', String(port), '--json']);
    expect(started.exitCode, started.stderr).toBe(0);
    expect(parseJson(started)).toMatchObject({ started: true, port });
    const meta = parseJson<MetaResponse>(await runCli(home, ['meta', '--json']));
    expect(meta.port).toBe(port);
  });

  it('`daemon start` refuses a port out of range or not a number (exit 2) and starts nothing', async () => {
    const home = homes.newHome();
    for (const bad of ['99999', 'abc']) {
      const r = await runCli(home, ['daemon', 'start', '--port', bad, '--json']);
      expect(r.exitCode, r.stderr).toBe(2);
      expect(parseJson(r)).toMatchObject({ code: 'INVALID_FIELD' });
      expect(r.stderr).toContain('--port');
    }
    expect((await runCli(home, ['daemon', 'status'])).exitCode).toBe(3);
  });

  it('`list` fits COLUMNS and quotes arguments', async () => {
    const home = homes.newHome();
    const spawned = await runCli(home, ['spawn', '--id', 'fit-one', '--json', '--', 'sh', '-c', 'echo hi; sleep 60']);
    expect(spawned.exitCode, spawned.stderr).toBe(0);
    const wide = await runCli(home, ['list']);
    expect(wide.stdout).toContain("sh -c 'echo hi; sleep 60'");
    const narrow = await runCli(home, ['list'], { env: { COLUMNS: '40' } });
    for (const line of narrow.stdout.trimEnd().split('\n')) expect([...line].length, line).toBeLessThanOrEqual(40);
    expect(narrow.stdout).toMatch(/^fit-one\s+connected\s/m);
    // A mistyped id gets the close ones suggested (matching itself stays exact).
    const typo = await runCli(home, ['read', 'fti-one', '--json']);
    expect(typo.exitCode).toBe(3);
    expect(typo.stderr).toContain('no session "fti-one" (did you mean fit-one?)');
    expect(parseJson(typo)).toMatchObject({ code: 'SESSION_NOT_FOUND', suggestions: ['fit-one'] });
    await runCli(home, ['kill', 'fit-one']);
  });

  it('`publish` says what `delivered` counts, refuses a payload that is not an object and an empty kind', async () => {
    const home = homes.newHome();
    const sent = await runCli(home, ['publish', '--kind', 'note.x', '--payload', '{"a":1}']);
    expect(sent.exitCode, sent.stderr).toBe(0);
    expect(sent.stdout).toMatch(/sent to 0 subscribers/);
    const arr = await runCli(home, ['publish', '--kind', 'note.x', '--payload', '[1,2]']);
    expect(arr.exitCode).toBe(2);
    expect(arr.stderr).toMatch(/payload must be a JSON object/);
    const empty = await runCli(home, ['publish', '--kind', '']);
    expect(empty.exitCode).toBe(2);
    expect(empty.stderr).toMatch(/--kind needs a kind/);
  });

  it('`publish --wait` of a turn_request exits 0 once it was written, and with the failure\'s status when it was not', async () => {
    const home = homes.newHome();
    const spawned = await runCli(home, ['spawn', '--id', 'routed', '--json', '--', 'bash', '--norc']);
    expect(spawned.exitCode, spawned.stderr).toBe(0);
    const ok = await runCli(home, ['publish', '--wait', '--json', '--kind', 'turn_request', '--target', 'routed', '--payload', '{"turn_id":"t-1","prompt":"echo routed-ok"}']);
    expect(ok.exitCode, ok.stderr).toBe(0);
    const answer = parseJson<{ message_id: string; routed: Record<string, unknown> }>(ok);
    expect(answer.routed).toMatchObject({ kind: 'inject_written', turn_id: 't-1', original_message_id: answer.message_id, target_agent: 'routed' });
    const missing = await runCli(home, ['publish', '--wait', '--kind', 'turn_request', '--target', 'nobody', '--payload', '{"prompt":"x"}']);
    expect(missing.exitCode).toBe(3);
    expect(missing.stderr).toMatch(/not delivered to nobody.*SESSION_NOT_FOUND/);
    const notRouted = await runCli(home, ['publish', '--wait', '--kind', 'note.x']);
    expect(notRouted.exitCode).toBe(2);
    await runCli(home, ['kill', 'routed']);
  });

  it('`tail --exclude-kind` leaves out a kind (session_health every 10 s need not flood a terminal)', async () => {
    const home = homes.newHome();
    for (const kind of ['noise.tick', 'noise.tick', 'work.done']) expect((await runCli(home, ['publish', '--kind', kind])).exitCode).toBe(0);
    const r = await runCli(home, ['tail', '--since', '0', '--exclude-kind', 'noise.*', '--exclude-kind', 'session_*', '--count', '1', '--json', '--timeout', '20']);
    expect(r.exitCode, r.stderr).toBe(0);
    expect(JSON.parse(r.stdout.trim())).toMatchObject({ kind: 'work.done' });
  });

  it('`tail --since` beyond the daemon\'s last seq does not claim a restart it cannot know of', async () => {
    const home = homes.newHome();
    expect((await runCli(home, ['publish', '--kind', 'work.done'])).exitCode).toBe(0);
    const r = await runCli(home, ['tail', '--since', '999999', '--timeout', '2']);
    expect(r.stderr).toMatch(/gap in the bus: seq 999999 is ahead of this daemon's last \(\d+\): the daemon was restarted since, or the seq is not one of its/);
  });

  it('`reply` and `whoami` inside a session that was renamed after its shell started find it by process ancestry', async () => {
    const home = homes.newHome();
    const alice = await fixtureSession(home, 'alice', 'claude-like.mjs');
    expect((await runCli(home, ['spawn', '--id', 'bob', '--', 'bash', '--norc', '--noprofile'])).exitCode).toBe(0);
    await waitFor('bash prompt', async () => /[$#] $/m.test((await runCli(home, ['read', 'bob'])).stdout));
    const who = path.join(home, 'whoami.json');
    const cli = `${process.execPath} ${BIN}`;
    // The shell's TELEPTY_SESSION_ID is "bob"; by the time these run the session is "bob2".
    const line = `sleep 1; ${cli} whoami --json > ${who}; ${cli} reply pong-after-rename`;
    const r = await runCli(home, ['inject', 'bob', line, '--from', 'alice']);
    expect(r.exitCode, r.stderr).toBe(0);
    expect((await runCli(home, ['rename', 'bob', 'bob2'])).exitCode).toBe(0);
    const got = await waitFor('alice to get the reply', async () => ((await alice.submissions()).length ? alice.submissions() : null), 20_000);
    expect(got.map((s) => s.text)).toEqual(['pong-after-rename']);
    const me = JSON.parse(await fs.readFile(who, 'utf8')) as Record<string, unknown>;
    expect(me).toMatchObject({ id: 'bob2', found_by: 'process', env_id: 'bob', env_id_stale: true });
    // Outside any session, whoami says so (exit 3).
    const outside = await runCli(home, ['whoami']);
    expect(outside.exitCode).toBe(3);
    expect(outside.stderr).toMatch(/not inside a telepty session/);
  });

  it('`doctor` reports ok lines, a loose token file as a warning, a taken port as an error (exit 1), and starts no daemon', async () => {
    const home = homes.newHome();
    const clean = await runCli(home, ['doctor', '--json']);
    expect(clean.exitCode, clean.stdout).toBe(0);
    const checks = parseJson<{ check: string; status: string; fix?: string }[]>(clean);
    expect(checks.map((c) => c.check)).toEqual(expect.arrayContaining(['node', 'node-pty', 'daemon', 'token']));
    expect(checks.every((c) => c.status === 'ok')).toBe(true);
    expect((await runCli(home, ['daemon', 'status'])).exitCode).toBe(3);

    await fs.writeFile(path.join(home, 'token'), 'a'.repeat(43), { mode: 0o644 });
    await fs.chmod(path.join(home, 'token'), 0o644);
    const blocker = net.createServer();
    await new Promise<void>((resolve) => blocker.listen(0, '127.0.0.1', resolve));
    const port = (blocker.address() as net.AddressInfo).port;
    try {
      const r = await runCli(home, ['doctor'], { env: { TELEPTY_PORT: String(port) } });
      expect(r.exitCode).toBe(1);
      expect(r.stdout).toMatch(/warning\s+token: .* readable by others[\s\S]*fix: chmod 600/);
      expect(r.stdout).toMatch(new RegExp(`error\\s+port: 127.0.0.1:${port} is taken[\\s\\S]*fix: .*TELEPTY_PORT`));
    } finally {
      blocker.close();
    }
  });

  it('`doctor` diagnoses a TELEPTY_PORT that every other command refuses, and still runs its other checks', async () => {
    const home = homes.newHome();
    const r = await runCli(home, ['doctor', '--json'], { env: { TELEPTY_PORT: '38a' } });
    expect(r.exitCode, r.stderr).toBe(1);
    const checks = parseJson<{ check: string; status: string; detail: string; fix?: string }[]>(r);
    expect(checks[0]).toMatchObject({ check: 'config', status: 'error', detail: expect.stringMatching(/TELEPTY_PORT must be a port number 0-65535, got "38a"/), fix: expect.stringMatching(/unset TELEPTY_PORT/) });
    expect(checks.map((c) => c.check)).toEqual(expect.arrayContaining(['node', 'node-pty', 'home', 'token']));
    expect(checks.map((c) => c.check)).not.toContain('daemon');
  });

  it('`kill --all` asks on a terminal: "n" ends nothing, "y" ends them all; --yes does not ask', async () => {
    const home = homes.newHome();
    for (const id of ['ka-1', 'ka-2']) expect((await runCli(home, ['spawn', '--id', id, '--', 'sleep', '60'])).exitCode).toBe(0);
    const ask = (answer: string): Promise<number> => {
      const d = new TerminalDriver(process.execPath, [BIN, 'kill', '--all'], { env: testEnv(home) });
      drivers.push(d);
      return d.waitForText('end 2 sessions (ka-1, ka-2)? [y/N]').then(async () => {
        d.write(`${answer}\r`);
        return (await d.waitExit(30_000)).exitCode;
      });
    };
    expect(await ask('n')).toBe(1);
    expect(await ids(home)).toEqual(['ka-1', 'ka-2']);
    expect(await ask('y')).toBe(0);
    expect(await ids(home)).toEqual([]);
    expect((await runCli(home, ['spawn', '--id', 'ka-3', '--', 'sleep', '60'])).exitCode).toBe(0);
    const d = new TerminalDriver(process.execPath, [BIN, 'kill', '--all', '--yes'], { env: testEnv(home) });
    drivers.push(d);
    expect((await d.waitExit(30_000)).exitCode).toBe(0);
    expect(await ids(home)).toEqual([]);
  });

  it('`attach` names the session in a banner and the window title (restored on detach), and leaves at the end of its input', async () => {
    const home = homes.newHome();
    expect((await runCli(home, ['spawn', '--id', 'att', '--', 'bash', '--norc', '--noprofile'])).exitCode).toBe(0);
    const d = new TerminalDriver(process.execPath, [BIN, 'attach', 'att'], { env: testEnv(home), cols: 100, rows: 30 });
    drivers.push(d);
    await waitFor('the banner and the title', () => d.raw.includes('[telepty: attached to att (spawned, ') && d.raw.includes('telepty: att\x07'));
    expect(d.raw).toContain('Ctrl-] detaches and leaves it running.');
    expect(d.raw).toContain('\x1b[22;0t\x1b]2;telepty: att\x07');
    d.write('\x1d');
    expect((await d.waitExit()).exitCode).toBe(0);
    expect(d.raw).toContain('\x1b[23;0t');
    // No terminal and nothing to read: it detaches at once instead of hanging.
    const piped = await runCli(home, ['attach', 'att'], { input: '', timeout: 20_000 });
    expect(piped.exitCode, piped.stderr).toBe(0);
    expect(piped.stderr).toContain('[end of input: detached from att; it keeps running]');
    expect(await ids(home)).toEqual(['att']);
  });

  it('`inject` takes a prompt that starts with a dash (a Markdown list item) as text', async () => {
    const home = homes.newHome();
    const reader = await fixtureSession(home, 'md', 'line-reader.mjs');
    const r = await runCli(home, ['inject', 'md', '- fix the test', '--json']);
    expect(r.exitCode, r.stderr).toBe(0);
    expect(parseJson(r)).toMatchObject({ status: 'submitted' });
    await waitFor('the line to arrive', async () => (await reader.submissions()).some((x) => x.text === '- fix the test'));
  });

  it('a port taken by another program: a one-line error with the fix, the log lines of this start only', async () => {
    const home = homes.newHome();
    const blocker = net.createServer((socket) => socket.end('not telepty\n'));
    await new Promise<void>((resolve) => blocker.listen(0, '127.0.0.1', resolve));
    const port = (blocker.address() as net.AddressInfo).port;
    try {
      // A claim wait of a minute: the answer must come from knowing the port is another program's, not from waiting.
      const env = { TELEPTY_PORT: String(port), TELEPTY_ADDRESS_WAIT_MS: '60000' };
      for (let attempt = 0; attempt < 2; attempt++) {
        const r = await runCli(home, ['list', '--json'], { env, timeout: 20_000 });
        expect(r.exitCode).toBe(1);
        const body = parseJson<{ error: string; code: string; log_tail: string[] }>(r);
        expect(body.code).toBe('DAEMON_START_FAILED');
        expect(body.error).not.toContain('\n');
        expect(body.error).toContain(`port ${port} on 127.0.0.1 is in use by another program; stop that program or choose a free port, e.g. TELEPTY_PORT=${port + 1}`);
        // The second start quotes only its own lines, each once (it does not grow with every retry).
        expect(body.log_tail.filter((l) => l.includes('in use by another program'))).toHaveLength(1);
      }
    } finally {
      blocker.close();
    }
  });

  it('`kill` of a session that had already exited says it was only removed; `kill ID --json` of an unknown id prints {error, code}', async () => {
    const home = homes.newHome();
    expect((await runCli(home, ['spawn', '--id', 'gone', '--', 'sh', '-c', 'exit 3'])).exitCode).toBe(0);
    await waitFor('gone to exit', async () => parseJson<SessionObject[]>(await runCli(home, ['list', '--json']))[0]?.status === 'exited');
    const r = await runCli(home, ['kill', 'gone']);
    expect(r.exitCode, r.stderr).toBe(0);
    expect(r.stdout.trim()).toBe('gone: removed; it had already exited (exit 3)');
    const unknown = await runCli(home, ['kill', 'nobody', '--json']);
    expect(unknown.exitCode).toBe(3);
    expect(parseJson(unknown)).toMatchObject({ code: 'SESSION_NOT_FOUND', id: 'nobody', error: expect.stringContaining('no session') });
  });

  it('a pattern (`rev-*`) targets every session it matches for inject and kill; one matching nothing sends nothing', async () => {
    const home = homes.newHome();
    const one = await fixtureSession(home, 'rev-1', 'line-reader.mjs');
    const two = await fixtureSession(home, 'rev-2', 'line-reader.mjs');
    const other = await fixtureSession(home, 'other', 'line-reader.mjs');
    const r = await runCli(home, ['inject', 'rev-*', 'look at the diff', '--json']);
    expect(r.exitCode, r.stderr).toBe(0);
    expect(parseJson<{ results: { successful: { id: string }[] } }>(r).results.successful.map((x) => x.id).sort()).toEqual(['rev-1', 'rev-2']);
    for (const s of [one, two]) await waitFor('the prompt', async () => (await s.submissions()).some((x) => x.text === 'look at the diff'));
    expect(await other.submissions()).toEqual([]);
    const none = await runCli(home, ['inject', 'nothing-*', 'x']);
    expect(none.exitCode).toBe(3);
    expect(none.stderr).toContain('no session matches "nothing-*"');
    const k = await runCli(home, ['kill', 'rev-?', '--json']);
    expect(k.exitCode, k.stderr).toBe(0);
    expect(parseJson<{ id: string }[]>(k).map((x) => x.id).sort()).toEqual(['rev-1', 'rev-2']);
    expect(await ids(home)).toEqual(['other']);
  });
});
