import { promises as fs } from 'node:fs';
import path from 'node:path';
import WebSocket from 'ws';
import { afterEach, describe, expect, it } from 'vitest';
import { sessionMembers } from '../../src/host/pty.js';
import type { ScreenSnapshot, SessionObject } from '../../src/protocol/session.js';
import { daemonPort, postApi, requestApi } from '../helpers/api.js';
import { parseJson, runCli } from '../helpers/cli.js';
import { hostsOf, liveDaemon, useHomes } from '../helpers/daemon.js';
import { BIN, ROOT, isAlive, testEnv, waitFor } from '../helpers/env.js';
import { TerminalDriver } from '../helpers/terminal.js';

const homes = useHomes();
const FULLSCREEN = path.join(ROOT, 'test', 'fixtures', 'fullscreen.mjs');
const drivers: TerminalDriver[] = [];
afterEach(() => {
  for (const d of drivers.splice(0)) d.dispose();
});

async function spawnJson(home: string, args: string[]): Promise<SessionObject> {
  return parseJson<SessionObject>(await runCli(home, ['spawn', '--json', ...args]));
}

async function list(home: string): Promise<SessionObject[]> {
  return parseJson<SessionObject[]>(await runCli(home, ['list', '--json']));
}

async function read(home: string, id: string, extra: string[] = []): Promise<ScreenSnapshot> {
  return parseJson<ScreenSnapshot>(await runCli(home, ['read', id, '--json', ...extra]));
}

/** Wait until `read` shows `text` (programs print asynchronously). */
async function readUntil(home: string, id: string, text: string | RegExp, extra: string[] = []): Promise<ScreenSnapshot> {
  return waitFor(`${id} to show ${String(text)}`, async () => {
    const s = await read(home, id, extra);
    const joined = s.lines.join('\n');
    return (typeof text === 'string' ? joined.includes(text) : text.test(joined)) ? s : null;
  });
}

function attachDriver(home: string, id: string): TerminalDriver {
  const d = new TerminalDriver(process.execPath, [BIN, 'attach', id], { env: testEnv(home) });
  drivers.push(d);
  return d;
}

describe('spawn, list, read, attach, kill', () => {
  it('runs a session through its whole life and leaves no process behind', async () => {
    const home = homes.newHome();
    const s = await spawnJson(home, ['--id', 'life', '--', 'bash', '--norc', '--noprofile']);
    expect(s).toMatchObject({ id: 'life', type: 'spawned', status: 'connected', command: 'bash', args: ['--norc', '--noprofile'] });
    expect((await list(home)).map((x) => x.id)).toEqual(['life']);
    await readUntil(home, 'life', /[$#] $/m);

    const viewer = attachDriver(home, 'life');
    await viewer.waitForText(/[$#]/);
    viewer.write('echo attached-$((6*7))\r');
    await viewer.waitForText('attached-42');
    expect((await list(home))[0]?.active_clients).toBe(1);
    viewer.write('\x1d');
    expect((await viewer.waitExit()).exitCode).toBe(0);
    expect(await viewer.screenText()).toContain('[detached from life');
    await readUntil(home, 'life', 'attached-42');
    expect((await list(home))[0]).toMatchObject({ status: 'connected', active_clients: 0 });

    const hostPid = s.host_pid as number;
    const members = await sessionMembers(s.pid as number);
    expect(members).toContain(s.pid);
    const killed = await runCli(home, ['kill', 'life', '--json']);
    expect(killed.exitCode).toBe(0);
    expect(parseJson<{ status: string }[]>(killed)[0]).toMatchObject({ id: 'life', status: 'killed' });
    expect(await list(home)).toEqual([]);
    await waitFor('host and child to be gone', () => [hostPid, ...members].every((p) => !isAlive(p)), 5_000);
  });

  it('renders cursor moves and overwrites the way a terminal does', async () => {
    const home = homes.newHome();
    await spawnJson(home, ['--id', 'draw', '--', 'sh', '-c', "printf 'abcdef\\rXY\\033[1;5HZ\\n\\033[31mred\\033[0m\\n'; exec sleep 60"]);
    const screen = await readUntil(home, 'draw', 'red');
    expect(screen.lines.slice(0, 2)).toEqual(['XYcdZf', 'red']);
    const ansi = await read(home, 'draw', ['--ansi']);
    expect(ansi.lines[1]).toBe('\x1b[0;31mred\x1b[0m');
    const last = await read(home, 'draw', ['--lines', '1']);
    expect(last.lines).toEqual(['red']);
  });

  it("reads a full-screen program's alternate screen", async () => {
    const home = homes.newHome();
    await spawnJson(home, ['--id', 'tui', '--cols', '60', '--rows', '12', '--', process.execPath, FULLSCREEN]);
    const screen = await readUntil(home, 'tui', 'FULLSCREEN FIXTURE 60x12');
    expect(screen).toMatchObject({ alt_screen: true, cols: 60, rows: 12 });
    expect(screen.lines[0]).toBe(`+${'-'.repeat(58)}+`);
    expect(screen.lines[2]).toBe(`|   FULLSCREEN FIXTURE 60x12${' '.repeat(31)}|`);
  });

  it('lets several terminals attach at once, each replayed, all seeing live output', async () => {
    const home = homes.newHome();
    await spawnJson(home, ['--id', 'shared', '--', 'bash', '--norc', '--noprofile']);
    await readUntil(home, 'shared', /[$#] $/m);
    const a = attachDriver(home, 'shared');
    await a.waitForText(/[$#]/);
    a.write('echo from-a\r');
    await a.waitForText(/^from-a$/m);
    const b = attachDriver(home, 'shared');
    await b.waitForText(/^from-a$/m); // replayed screen
    b.write('echo from-b\r');
    await a.waitForText(/^from-b$/m);
    await b.waitForText(/^from-b$/m);
    expect((await list(home))[0]?.active_clients).toBe(2);
    a.write('\x1d');
    b.write('\x1d');
    await Promise.all([a.waitExit(), b.waitExit()]);
  });

  it('drops a stalled viewer without slowing the session or another viewer', async () => {
    const home = homes.newHome();
    await spawnJson(home, ['--id', 'flood', '--', 'sh', '-c', 'read go; head -c 20000000 /dev/zero | tr "\\0" x; echo; echo flood-done; exec sleep 60']);
    const live = await liveDaemon(home);
    const url = `ws://127.0.0.1:${live?.record.port}/api/sessions/flood`;
    const fast = new WebSocket(url);
    const slow = new WebSocket(url);
    let fastFrames = 0;
    let fastSawEnd = false;
    fast.on('message', (d: Buffer) => {
      fastFrames++;
      // The end marker arrives as live output, or inside a repaint if the host had to skip frames.
      if (d.includes('flood-done')) fastSawEnd = true;
    });
    await Promise.all([new Promise((r) => fast.once('open', r)), new Promise((r) => slow.once('open', r))]);
    // Stop reading on the slow viewer's socket: the kernel buffers fill, then the daemon's.
    (slow as unknown as { _socket: { pause(): void } })._socket.pause();
    await waitFor('both viewers to be attached', async () => (await list(home))[0]?.active_clients === 2);
    fast.send(JSON.stringify({ type: 'input', data: '\r' }));
    await waitFor('the fast viewer to see the end of the flood', () => fastSawEnd, 90_000);
    await waitFor('the stalled viewer to be dropped', async () => (await list(home))[0]?.active_clients === 1, 10_000);
    expect(fastFrames).toBeGreaterThan(10);
    expect((await readUntil(home, 'flood', 'flood-done')).lines.at(-1)).toBe('flood-done');
    fast.close();
    slow.terminate();
  }, 120_000);

  it('removes nested-agent variables and sets TELEPTY_SESSION_ID in the child', async () => {
    const home = homes.newHome();
    await spawnJson(home, ['--id', 'envtest', '--env', 'CLAUDECODE=1', '--env', 'CLAUDECODE_ENTRYPOINT=cli', '--env', 'CODEX_CI=1', '--env', 'CODEX_THREAD_ID=t', '--env', 'KEEP_ME=yes', '--rows', '60', '--', 'sh', '-c', 'env | sort; echo env-done; exec sleep 60']);
    const text = (await readUntil(home, 'envtest', 'env-done', ['--scrollback'])).lines.join('\n');
    expect(text).toContain('TELEPTY_SESSION_ID=envtest');
    expect(text).toContain('KEEP_ME=yes');
    expect(text).not.toMatch(/CLAUDECODE|CODEX_CI|CODEX_THREAD_ID/);
  });

  it('lists an exited session with its exit code, then removes it by the retention rule', async () => {
    const home = homes.newHome();
    const env = { TELEPTY_EXITED_RETENTION_MS: '1500' };
    await runCli(home, ['spawn', '--id', 'brief', '--', 'sh', '-c', 'sleep 0.3; exit 3'], { env });
    const exited = await waitFor('brief to exit', async () => (await list(home)).find((s) => s.status === 'exited'));
    expect(exited).toMatchObject({ id: 'brief', exit_code: 3 });
    await waitFor('brief to be removed', async () => (await list(home)).length === 0, 5_000);
  });
});

describe('sessions outlive the daemon', () => {
  it('keeps three sessions running through kill -9 of the daemon and reconnects them to the next one within 3 s', async () => {
    const home = homes.newHome();
    const spawned = [];
    for (const n of [1, 2, 3]) spawned.push(await spawnJson(home, ['--id', `keep-${n}`, '--', 'sh', '-c', `printf 'screen of %s\\n' keep-${n}; exec sleep 120`]));
    for (const s of spawned) await readUntil(home, s.id, `screen of ${s.id}`);
    const daemon = await liveDaemon(home);
    process.kill(daemon?.record.pid as number, 'SIGKILL');
    await waitFor('the daemon to die', () => !isAlive(daemon?.record.pid as number));
    for (const s of spawned) expect(isAlive(s.pid as number)).toBe(true);

    const t0 = Date.now();
    const first = await list(home); // auto-starts a new daemon
    expect(first.map((s) => s.id).sort()).toEqual(['keep-1', 'keep-2', 'keep-3']);
    await waitFor('all three to reconnect', async () => (await list(home)).every((s) => s.status === 'connected'), 10_000);
    const newDaemon = await liveDaemon(home);
    const elapsed = Date.now() - Date.parse(newDaemon?.meta.started_at as string);
    expect(elapsed).toBeLessThan(3_000);
    expect(Date.now() - t0).toBeLessThan(6_000);
    for (const s of spawned) {
      expect(isAlive(s.pid as number)).toBe(true);
      expect((await read(home, s.id)).lines[0]).toBe(`screen of ${s.id}`);
    }
  });

  it('keeps a rename through a host reconnect and a daemon restart', async () => {
    const home = homes.newHome();
    await spawnJson(home, ['--id', 'before', '--', 'sh', '-c', 'echo renamed-session; exec sleep 120']);
    expect((await runCli(home, ['rename', 'before', 'after'])).exitCode).toBe(0);
    const stop = await runCli(home, ['daemon', 'stop']);
    expect(stop.exitCode).toBe(0);
    const afterRestart = await waitFor('after to reconnect under its new id', async () => {
      const l = await list(home);
      return l.length === 1 && l[0]?.id === 'after' && l[0].status === 'connected' ? l : null;
    });
    expect(afterRestart.map((s) => s.id)).toEqual(['after']);
    const persisted = JSON.parse(await fs.readFile(path.join(home, 'sessions.json'), 'utf8')) as { sessions: { id: string }[] };
    expect(persisted.sessions.map((s) => s.id)).toEqual(['after']);
    expect((await read(home, 'after')).lines[0]).toBe('renamed-session');
    const hostLog = await fs.readFile(path.join(home, 'hosts', 'before.log'), 'utf8');
    expect(hostLog).toMatch(/renamed before → after/);
  });

  it('does not let a reconnecting host undo a kill made while it was away', async () => {
    const home = homes.newHome();
    const s = await spawnJson(home, ['--id', 'doomed', '--', 'sleep', '120']);
    const [host] = await hostsOf(home);
    expect(host).toBe(s.host_pid);
    // Hold the host away: freeze it (our own process, found by pid and home), restart the daemon.
    process.kill(s.host_pid as number, 'SIGSTOP');
    try {
      expect((await runCli(home, ['daemon', 'stop'])).exitCode).toBe(0);
      const away = await list(home);
      expect(away).toEqual([expect.objectContaining({ id: 'doomed', status: 'disconnected' })]);
      const k = await runCli(home, ['kill', 'doomed', '--json']);
      expect(k.exitCode).toBe(4);
      expect(parseJson<{ status: string }[]>(k)[0]).toMatchObject({ id: 'doomed', status: 'pending' });
    } finally {
      process.kill(s.host_pid as number, 'SIGCONT');
    }
    await waitFor('the child to be gone', () => !isAlive(s.pid as number), 10_000);
    await waitFor('the host to be gone', () => !isAlive(s.host_pid as number), 10_000);
    await waitFor('the session to be removed', async () => (await list(home)).length === 0, 5_000);
  });

  it('marks a session exited when its host died while the daemon was down', async () => {
    const home = homes.newHome();
    const s = await spawnJson(home, ['--id', 'orphan', '--', 'sleep', '120']);
    expect((await runCli(home, ['daemon', 'stop'])).exitCode).toBe(0);
    process.kill(s.host_pid as number, 'SIGKILL');
    process.kill(s.pid as number, 'SIGKILL');
    await waitFor('host gone', () => !isAlive(s.host_pid as number));
    const gone = await waitFor('orphan to be marked exited', async () => (await list(home)).find((x) => x.id === 'orphan' && x.status === 'exited'));
    expect(gone.id).toBe('orphan');
  });
});

describe('bad input to sessions', () => {
  it('refuses bad ids, unknown ids, missing commands, bad cwds and huge environments, registering nothing', async () => {
    const home = homes.newHome();
    const cases: [string[], number, RegExp][] = [
      [['spawn', '--id', '../../x', '--', 'sh'], 2, /INVALID_SESSION_ID/],
      [['spawn', '--id', 'a;rm -rf', '--', 'sh'], 2, /INVALID_SESSION_ID/],
      [['spawn', '--id', 'x'.repeat(10_000), '--', 'sh'], 2, /INVALID_SESSION_ID/],
      [['spawn', '--', 'no-such-program-here'], 2, /command not found/],
      [['spawn', '--cwd', '/no/such/dir', '--', 'sh'], 2, /does not exist/],
      [['spawn', '--cwd', '/etc/hostname', '--', 'sh'], 2, /not a directory/],
      // Linux caps one argv string at 128 KiB, so the 300 KB environment comes in three parts.
      [['spawn', ...['A', 'B', 'C'].flatMap((k) => ['--env', `HUGE_${k}=${'x'.repeat(100_000)}`]), '--', 'sh'], 2, /at most 262144/],
      [['spawn'], 2, /missing required argument/],
      [['read', 'nobody'], 3, /no session "nobody"/],
      [['kill', 'nobody'], 3, /no session "nobody"/],
      [['rename', 'nobody', 'other'], 3, /no session/],
      [['read', '../etc/passwd'], 2, /INVALID_SESSION_ID/],
      [['attach', 'nobody'], 3, /no session/],
    ];
    for (const [args, code, message] of cases) {
      const r = await runCli(home, args);
      expect(r.exitCode, `${args.join(' ').slice(0, 60)}: ${r.stderr}`).toBe(code);
      expect(r.stderr).toMatch(message);
    }
    expect(await list(home)).toEqual([]);
    expect(await hostsOf(home)).toEqual([]);
  });

  it('reserves the ids multicast and broadcast, whose literal inject routes would shadow such a session', async () => {
    const home = homes.newHome();
    await spawnJson(home, ['--id', 'worker', '--', 'sleep', '60']);
    for (const args of [
      ['spawn', '--id', 'multicast', '--', 'sh'],
      ['spawn', '--id', 'broadcast', '--', 'sh'],
      ['rename', 'worker', 'broadcast'],
      ['wrap', '--id', 'multicast', '--', 'true'],
    ]) {
      const r = await runCli(home, args);
      expect(r.exitCode, args.join(' ')).toBe(2);
      expect(r.stderr, args.join(' ')).toMatch(/"(multicast|broadcast)" is reserved: \/api\/sessions\/\1\/inject is the \1 route.*\[INVALID_SESSION_ID\]/);
    }
    // The daemon refuses them too, whoever asks.
    const p = await daemonPort(home);
    expect(await postApi(p, '/api/sessions/spawn', { session_id: 'multicast', command: 'sh' })).toMatchObject({ status: 400, json: { code: 'INVALID_SESSION_ID' } });
    expect(await requestApi(p, 'PATCH', '/api/sessions/worker', { new_id: 'broadcast' })).toMatchObject({ status: 400, json: { code: 'INVALID_SESSION_ID' } });
    expect(await postApi(p, '/api/sessions/register', { session_id: 'broadcast' })).toMatchObject({ status: 400, json: { code: 'INVALID_SESSION_ID' } });
    expect((await list(home)).map((s) => s.id)).toEqual(['worker']);
    // Ids that only look alike are ordinary ids.
    await spawnJson(home, ['--id', 'multicast-1', '--', 'sleep', '60']);
    expect((await runCli(home, ['rename', 'worker', 'Broadcast'])).exitCode).toBe(0);
    expect((await list(home)).map((s) => s.id).sort()).toEqual(['Broadcast', 'multicast-1']);
  });

  it('refuses a rename onto an id in use', async () => {
    const home = homes.newHome();
    await spawnJson(home, ['--id', 'one', '--', 'sleep', '60']);
    await spawnJson(home, ['--id', 'two', '--', 'sleep', '60']);
    const r = await runCli(home, ['rename', 'one', 'two']);
    expect(r.exitCode).toBe(1);
    expect(r.stderr).toMatch(/already in use/);
    expect((await list(home)).map((s) => s.id).sort()).toEqual(['one', 'two']);
    expect((await runCli(home, ['spawn', '--id', 'one', '--', 'sleep', '1'])).stderr).toMatch(/already in use/);
  });
});
