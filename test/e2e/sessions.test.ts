import { promises as fs } from 'node:fs';
import path from 'node:path';
import WebSocket from 'ws';
import { afterEach, describe, expect, it } from 'vitest';
import { sessionMembers } from '../../src/host/pty.js';
import type { ScreenSnapshot, SessionObject } from '../../src/protocol/session.js';
import { VIEWER_CLOSE, parseViewerServerMessage, type ViewerServerMessage } from '../../src/protocol/viewer.js';
import { daemonPort, postApi, requestApi } from '../helpers/api.js';
import { parseJson, runCli } from '../helpers/cli.js';
import { hostsOf, liveDaemon, persistedSessionIds, useHomes } from '../helpers/daemon.js';
import { BIN, ROOT, isAlive, sleep, testEnv, waitFor } from '../helpers/env.js';
import { listSessions, spawnJson } from '../helpers/sessions.js';
import { TerminalDriver } from '../helpers/terminal.js';

const homes = useHomes();
const FULLSCREEN = path.join(ROOT, 'test', 'fixtures', 'fullscreen.mjs');
const drivers: TerminalDriver[] = [];
afterEach(() => {
  for (const d of drivers.splice(0)) d.dispose();
});

const list = listSessions;

/**
 * The daemon marks a session whose host died exited as its link closes (SWEEP_SOON_MS), and attach looks again within 1 s: an
 * attach that sees that end is over well within this (one that retries until it gives up takes 10 s and more).
 */
const HOST_DEATH_SEEN_MS = 5_000;

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
    expect(parseJson<{ status: string }>(killed)).toMatchObject({ id: 'life', status: 'killed' });
    expect(await list(home)).toEqual([]);
    await waitFor('host and child to be gone', () => [hostPid, ...members].every((p) => !isAlive(p)), 5_000);
  });

  it('SIGKILLs what ignores the hang-up after the grace, so kill leaves no process of the session', async () => {
    const home = homes.newHome();
    const env = { TELEPTY_KILL_GRACE_MS: '500' };
    // The background sleep ignores SIGHUP (an ignored signal stays ignored across exec); the direct child does not.
    const s = await spawnJson(home, ['--id', 'stubborn', '--', 'bash', '-c', '(trap "" HUP; exec sleep 300) & exec sleep 301'], env);
    const sid = s.pid as number;
    const members = await waitFor('both sleeps to run in the session', async () => {
      const m = await sessionMembers(sid);
      return m.length === 2 ? m : null;
    });
    try {
      const killed = await runCli(home, ['kill', 'stubborn', '--json']);
      expect(killed.exitCode).toBe(0);
      expect(parseJson<{ status: string }>(killed)).toMatchObject({ id: 'stubborn', status: 'killed' });
      // `kill` answered after the host reported the exit: by then nothing of the session may be left.
      expect(members.filter(isAlive)).toEqual([]);
      expect(await sessionMembers(sid)).toEqual([]);
      await waitFor('the host to exit', () => !isAlive(s.host_pid as number), 5_000);
    } finally {
      for (const pid of members) if (isAlive(pid)) process.kill(pid, 'SIGKILL');
    }
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

describe.each([
  { path: 'served by the host the daemon spawned', viewerEnv: {} as Record<string, string> },
  { path: 'relayed by the daemon (as for wrapped sessions)', viewerEnv: { TELEPTY_DIRECT_VIEWERS: '0' } },
])('viewers $path', ({ viewerEnv }) => {
    it('lets several terminals attach at once, each replayed, all seeing live output', async () => {
      const home = homes.newHome();
      await spawnJson(home, ['--id', 'shared', '--', 'bash', '--norc', '--noprofile'], viewerEnv);
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

    it('lets the daemon stop at once after a viewer came and went (no connection left counted)', async () => {
      const home = homes.newHome();
      await spawnJson(home, ['--id', 'visited', '--', 'cat'], viewerEnv);
      const live = await liveDaemon(home);
      const viewer = new WebSocket(`ws://127.0.0.1:${live?.record.port}/api/sessions/visited`);
      await new Promise((r) => viewer.once('message', r));
      viewer.close();
      await new Promise((r) => viewer.once('close', r));
      const t0 = Date.now();
      const r = await runCli(home, ['daemon', 'stop']);
      expect(r.exitCode, r.stderr).toBe(0);
      await waitFor('the daemon process to exit', () => !isAlive(live?.record.pid as number), 5_000);
      // Well inside the shutdown grace: nothing was waited for.
      expect(Date.now() - t0).toBeLessThan(2_000);
      await runCli(home, ['kill', '--all']);
    });

    it('drops a stalled viewer without slowing the session or another viewer', async () => {
      const home = homes.newHome();
      await spawnJson(home, ['--id', 'flood', '--', 'sh', '-c', 'read go; head -c 20000000 /dev/zero | tr "\\0" x; echo; echo flood-done; exec sleep 60'], viewerEnv);
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

    it('pauses a viewer that falls behind instead of feeding it, and repaints it from the screen once it reads again', async () => {
      const home = homes.newHome();
      // Long enough that the paused viewer is not dropped while the flood runs on a slow machine.
      const env = { ...viewerEnv, TELEPTY_VIEWER_CATCH_UP_MS: '60000' };
      await spawnJson(home, ['--id', 'lag', '--', 'sh', '-c', 'read go; head -c 20000000 /dev/zero | tr "\\0" x; echo; echo lag-done; exec sleep 60'], env);
      const live = await liveDaemon(home);
      const viewer = new WebSocket(`ws://127.0.0.1:${live?.record.port}/api/sessions/lag`);
      const messages: ViewerServerMessage[] = [];
      let bytes = 0;
      viewer.on('message', (d: Buffer) => {
        bytes += d.length;
        const m = parseViewerServerMessage(d.toString());
        if (m) messages.push(m);
      });
      await waitFor('the first replay', () => messages[0]?.type === 'replay');
      const socket = (viewer as unknown as { _socket: { pause(): void; resume(): void } })._socket;
      socket.pause();
      viewer.send(JSON.stringify({ type: 'input', data: '\r' }));
      await readUntil(home, 'lag', 'lag-done');
      socket.resume();
      const repaint = await waitFor('a repaint showing the end of the flood', () =>
        messages.slice(1).find((m) => m.type === 'replay' && m.data.includes('lag-done')),
      );
      expect(repaint).toBeDefined();
      // It was sent about one window (1 MiB) of the 20 MB, then nothing until it caught up: not the backlog.
      expect(bytes).toBeLessThan(4_000_000);
      expect(viewer.readyState).toBe(WebSocket.OPEN);
      expect((await list(home, env))[0]?.active_clients).toBe(1);
      // Live output flows again after the repaint.
      viewer.send(JSON.stringify({ type: 'input', data: 'after' }));
      await waitFor('live output after the repaint', () => messages.some((m) => m.type === 'output' && m.data.includes('after')));
      viewer.close();
    }, 120_000);
});

describe('list, kill --all, spawn and attach options, idle events', () => {
  /** Where each header column starts: left-aligned values start there, right-aligned ones end where it ends. */
  function columns(header: string): Record<string, { start: number; end: number }> {
    const out: Record<string, { start: number; end: number }> = {};
    for (const m of header.matchAll(/\S+/g)) out[m[0]] = { start: m.index, end: m.index + m[0].length };
    return out;
  }

  it('lists sessions as an aligned table, without colour when not on a terminal', async () => {
    const home = homes.newHome();
    const dir = path.join(home, 'proj');
    await fs.mkdir(dir);
    await spawnJson(home, ['--id', 'tab-one', '--cwd', dir, '--', 'sleep', '60']);
    await spawnJson(home, ['--id', 'tab-two-longer', '--', 'sh', '-c', 'exit 3']);
    await waitFor('tab-two-longer to exit', async () => (await list(home)).some((x) => x.status === 'exited'));
    // NO_COLOR unset: stdout not being a terminal is enough to print no escape codes.
    const r = await runCli(home, ['list'], { unset: ['NO_COLOR'] });
    expect(r.exitCode).toBe(0);
    expect(r.stdout).not.toContain('\x1b');
    const [header, ...rows] = r.stdout.trimEnd().split('\n') as [string, ...string[]];
    expect(header.split(/\s{2,}/)).toEqual(['ID', 'TYPE', 'STATUS', 'COMMAND', 'CWD', 'IDLE', 'CLIENTS']);
    const col = columns(header);
    const one = rows.find((l) => l.startsWith('tab-one ')) as string;
    const two = rows.find((l) => l.startsWith('tab-two-longer ')) as string;
    expect(rows).toHaveLength(2);
    for (const [row, status, command] of [[one, 'connected', 'sleep 60'], [two, 'exited(3)', "sh -c 'exit 3'"]] as const) {
      expect(row.indexOf(' spawned ') + 1, row).toBe(col.TYPE?.start);
      expect(row.indexOf(` ${status} `) + 1, row).toBe(col.STATUS?.start);
      expect(row.indexOf(` ${command} `) + 1, row).toBe(col.COMMAND?.start);
      expect(row.slice(col.IDLE?.start).trim()).toMatch(/^\d+s\s+0$/);
      expect(row.length).toBe(col.CLIENTS?.end); // right-aligned last column
    }
    expect(one.slice(col.CWD?.start, col.IDLE?.start).trim()).toBe(dir);
    const ls = (await runCli(home, ['ls'], { unset: ['NO_COLOR'] })).stdout.split('\n');
    expect(ls[0]).toBe(header); // the alias prints the same table
    expect(ls.slice(1).map((l) => l.split(' ')[0])).toEqual(rows.map((l) => l.split(' ')[0]));
  });

  it('colours the table on a terminal, and not when NO_COLOR is set', async () => {
    const home = homes.newHome();
    await spawnJson(home, ['--id', 'painted', '--', 'sleep', '60']);
    const show = async (noColor: string | undefined): Promise<TerminalDriver> => {
      const d = new TerminalDriver(process.execPath, [BIN, 'list'], { env: { ...testEnv(home), TERM: 'xterm-256color', NO_COLOR: noColor } });
      drivers.push(d);
      expect((await d.waitExit()).exitCode).toBe(0);
      await d.waitForText(/^painted\s+spawned\s+connected/m);
      return d;
    };
    const coloured = await show(undefined);
    expect(coloured.raw).toMatch(/\x1b\[1mID/); // bold header
    expect(coloured.raw).toMatch(/\x1b\[32mconnected/); // green status
    const plain = await show('1');
    expect(plain.raw).not.toContain('\x1b');
    // The same table but for the idle time, which may have ticked between the two runs.
    const idleFree = async (d: TerminalDriver): Promise<string> => (await d.screenText()).replace(/ \d+s /g, ' Ns ');
    expect(await idleFree(plain)).toBe(await idleFree(coloured));
  });

  it('kill --all ends every session and leaves no process of them', async () => {
    const home = homes.newHome();
    const spawned = [];
    for (const id of ['all-a', 'all-b', 'all-c']) spawned.push(await spawnJson(home, ['--id', id, '--', 'sleep', '60']));
    const r = await runCli(home, ['kill', '--all']);
    expect(r.exitCode, r.stderr).toBe(0);
    expect(r.stdout.trim().split('\n').sort()).toEqual([expect.stringMatching(/^all-a: killed/), expect.stringMatching(/^all-b: killed/), expect.stringMatching(/^all-c: killed/)]);
    expect(await list(home)).toEqual([]);
    for (const s of spawned) {
      expect(isAlive(s.pid as number)).toBe(false);
      await waitFor(`host of ${s.id} to exit`, () => !isAlive(s.host_pid as number), 5_000);
    }
    const none = await runCli(home, ['kill', '--all', '--json']);
    expect(none.exitCode).toBe(0);
    expect(parseJson<unknown[]>(none)).toEqual([]);
    expect((await runCli(home, ['kill', '--all'])).stdout.trim()).toBe('no sessions');
    const both = await runCli(home, ['kill', '--all', 'all-a']);
    expect(both.exitCode).toBe(2);
    expect(both.stderr).toMatch(/not both/);
  });

  it('spawn --attach puts this terminal in the new session at its size, and detaching leaves it running', async () => {
    const home = homes.newHome();
    const d = new TerminalDriver(process.execPath, [BIN, 'spawn', '--attach', '--id', 'here', '--', 'bash', '--norc', '--noprofile'], {
      env: { ...testEnv(home), PS1: 'here$ ' },
      cols: 100,
      rows: 30,
    });
    drivers.push(d);
    await d.waitForText('here$');
    d.write('stty size\r');
    await d.waitForText(/^30 100$/m);
    expect((await list(home))[0]).toMatchObject({ id: 'here', status: 'connected', cols: 100, rows: 30, active_clients: 1 });
    d.write('\x1d');
    expect((await d.waitExit()).exitCode).toBe(0);
    expect(await d.screenText()).toContain('[detached from here');
    await waitFor('the viewer to be gone', async () => (await list(home))[0]?.active_clients === 0);
    expect((await list(home))[0]).toMatchObject({ id: 'here', status: 'connected' });
  });

  it('derives the default id from the folder and the command, made unique with -2, -3', async () => {
    const home = homes.newHome();
    const dir = path.join(home, 'my proj');
    await fs.mkdir(dir);
    const first = parseJson<SessionObject>(await runCli(home, ['spawn', '--json', '--', 'sleep', '60'], { cwd: dir }));
    const second = await spawnJson(home, ['--cwd', dir, '--', 'sleep', '60']);
    const third = await spawnJson(home, ['--cwd', dir, '--', '/bin/sleep', '60']);
    expect([first.id, second.id, third.id]).toEqual(['my-proj-sleep', 'my-proj-sleep-2', 'my-proj-sleep-3']);
    const printed = await runCli(home, ['spawn', '--cwd', dir, '--', 'sleep', '60']);
    expect(printed.stdout).toBe('my-proj-sleep-4');
  });

  it('sizes a spawned session to the attached terminal and follows its resizes', async () => {
    const home = homes.newHome();
    await spawnJson(home, ['--id', 'sized', '--cols', '60', '--rows', '20', '--', 'bash', '--norc', '--noprofile']);
    await readUntil(home, 'sized', /[$#] $/m);
    const viewer = attachDriver(home, 'sized');
    await viewer.waitForText(/[$#]/);
    await waitFor('the session to take the viewer size', async () => (await list(home))[0]?.cols === 80);
    expect((await list(home))[0]).toMatchObject({ cols: 80, rows: 24 });
    viewer.resize(120, 40);
    await waitFor('the session to follow the resize', async () => (await list(home))[0]?.cols === 120);
    expect((await list(home))[0]).toMatchObject({ cols: 120, rows: 40 });
    viewer.write('stty size\r');
    await viewer.waitForText(/^40 120$/m);
    expect((await read(home, 'sized')).cols).toBe(120);
    viewer.write('\x1d');
    await viewer.waitExit();
  });

  it('stays attached through a daemon killed with -9 and a daemon restart: it reattaches, and keys typed after reach the session', async () => {
    const home = homes.newHome();
    await spawnJson(home, ['--id', 'ra', '--', 'bash', '--norc', '--noprofile']);
    // A daemon that did not spawn the session relays its viewers (the one that did hands them to the host, which keeps
    // them through anything the daemon does): so the daemon that serves this attach is a later one.
    process.kill((await liveDaemon(home))?.record.pid as number, 'SIGKILL');
    await waitFor('the session back with the next daemon', async () => (await list(home))[0]?.status === 'connected', 15_000);
    const d = attachDriver(home, 'ra');
    await waitFor('the viewer to attach', async () => (await list(home))[0]?.active_clients === 1);
    d.write('echo one-$((0+1))\r');
    await d.waitForText('one-1');
    process.kill((await liveDaemon(home))?.record.pid as number, 'SIGKILL');
    // Keys typed in the instant the daemon dies may be lost with its socket; typed once attach says so, they arrive.
    await d.waitForText('[telepty: the connection to ra was lost; reattaching', 15_000);
    await waitFor('the viewer to attach again', async () => (await list(home))[0]?.active_clients === 1, 15_000);
    d.write('echo two-$((1+1))\r');
    await d.waitForText('two-2', 15_000);
    const restarted = await runCli(home, ['daemon', 'restart']);
    expect(restarted.exitCode, restarted.stderr).toBe(0);
    await waitFor('the viewer to attach again', async () => (await list(home))[0]?.active_clients === 1, 15_000);
    d.write('echo three-$((1+2))\r');
    await d.waitForText('three-3', 15_000);
    d.write('\x1d');
    expect((await d.waitExit()).exitCode).toBe(0);
    expect(await d.screenText()).toContain('[detached from ra');
  });

  it('ends at once, saying the session exited (exit 4), when the session\'s host is killed (-9) while attached', async () => {
    const home = homes.newHome();
    const s = await spawnJson(home, ['--id', 'doomed', '--', 'sleep', '60']);
    const d = attachDriver(home, 'doomed');
    await waitFor('the viewer to attach', async () => (await list(home))[0]?.active_clients === 1);
    const killed = Date.now();
    process.kill(s.host_pid as number, 'SIGKILL');
    // Before: it took the host's socket closing for the daemon going away and tried to reattach for 10 s.
    const { exitCode } = await d.waitExit(15_000);
    expect(Date.now() - killed).toBeLessThan(HOST_DEATH_SEEN_MS);
    // As when the daemon relays the view (it says the host disconnected), and as every command about an exited session.
    expect(exitCode).toBe(4);
    const screen = await d.screenText();
    expect(screen).toContain('telepty: session doomed has exited (code null) [SESSION_EXITED]');
    expect(screen).not.toContain('the daemon went away');
  });

  it('marks a session exited when its host is killed (-9), at once, not at the next sweep', async () => {
    const home = homes.newHome();
    // A sweep a minute apart: only the look the closed link asks for can see the death within the wait below.
    const env = { TELEPTY_SWEEP_INTERVAL_MS: '60000' };
    await runCli(home, ['daemon', 'start'], { env });
    const s = await spawnJson(home, ['--id', 'shot', '--', 'sleep', '60'], env);
    process.kill(s.host_pid as number, 'SIGKILL');
    const row = await waitFor('the session exited', async () => (await list(home)).find((r) => r.status === 'exited'), 3_000);
    expect(row.id).toBe('shot');
  });

  it('detaches with the --detach-key given, and then passes Ctrl-] to the session', async () => {
    const home = homes.newHome();
    await spawnJson(home, ['--id', 'keys', '--', 'cat', '-v']);
    const d = new TerminalDriver(process.execPath, [BIN, 'attach', 'keys', '--detach-key', 'ctrl-q'], { env: testEnv(home) });
    drivers.push(d);
    await waitFor('the viewer to attach', async () => (await list(home))[0]?.active_clients === 1);
    d.write('a\x1db\r');
    await d.waitForText(/^a\^\]b$/m); // cat -v shows the byte it got
    d.write('\x11');
    expect((await d.waitExit()).exitCode).toBe(0);
    expect(await d.screenText()).toContain('[detached from keys');
    expect((await list(home))[0]).toMatchObject({ id: 'keys', status: 'connected' });
    const bad = await runCli(home, ['attach', 'keys', '--detach-key', 'ctrl-']);
    expect(bad.exitCode).toBe(2);
    expect(bad.stderr).toMatch(/--detach-key takes ctrl-<key>/);
  });

  /** Thirty sweeps (50 ms) and more than three idle thresholds (400 ms): watched this long for no second session.idle. */
  const IDLE_STAYS_ONE_MS = 1_500;

  it('publishes session.idle once per idle period: again only after new activity', async () => {
    const home = homes.newHome();
    const env = { TELEPTY_IDLE_THRESHOLD_MS: '400', TELEPTY_SWEEP_INTERVAL_MS: '50', TELEPTY_ACTIVITY_REPORT_MS: '50' };
    await runCli(home, ['daemon', 'start'], { env });
    const port = (await liveDaemon(home))?.record.port as number;
    const idle: { session_id: string; lastActivityAt: string }[] = [];
    const bus = new WebSocket(`ws://127.0.0.1:${port}/api/bus?kind=session.idle`);
    bus.on('message', (d: Buffer) => {
      for (const line of d.toString().split('\n').filter(Boolean)) idle.push(JSON.parse(line) as (typeof idle)[number]);
    });
    await new Promise((r) => bus.once('open', r));
    try {
      await spawnJson(home, ['--id', 'idler', '--', 'sh', '-c', 'read x; echo woke; exec sleep 60'], env);
      await waitFor('the first session.idle', () => idle.length === 1, 5_000);
      await sleep(IDLE_STAYS_ONE_MS); // still one
      expect(idle.map((e) => e.session_id)).toEqual(['idler']);

      const viewer = new WebSocket(`ws://127.0.0.1:${port}/api/sessions/idler`);
      await new Promise((r) => viewer.once('open', r));
      viewer.send(JSON.stringify({ type: 'input', data: 'go\r' }));
      await readUntil(home, 'idler', 'woke');
      viewer.close();
      await waitFor('a second session.idle after the activity', () => idle.length === 2, 5_000);
      await sleep(IDLE_STAYS_ONE_MS); // still two
      expect(idle.map((e) => e.session_id)).toEqual(['idler', 'idler']);
      expect(Date.parse(idle[1]?.lastActivityAt as string)).toBeGreaterThan(Date.parse(idle[0]?.lastActivityAt as string));
    } finally {
      bus.close();
    }
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

  it('keeps a viewer of a spawned session attached through kill -9 of the daemon: its host serves it', async () => {
    const home = homes.newHome();
    await spawnJson(home, ['--id', 'watched', '--', 'cat']);
    const live = await liveDaemon(home);
    const viewer = new WebSocket(`ws://127.0.0.1:${live?.record.port}/api/sessions/watched`);
    const messages: ViewerServerMessage[] = [];
    let closed: number | null = null;
    viewer.on('message', (d: Buffer) => {
      const m = parseViewerServerMessage(d.toString());
      if (m) messages.push(m);
    });
    viewer.on('close', (code: number) => (closed = code));
    await waitFor('the replay', () => messages[0]?.type === 'replay');
    const echoed = (text: string) => messages.some((m) => m.type === 'output' && m.data.includes(text));
    viewer.send(JSON.stringify({ type: 'input', data: 'before\r' }));
    await waitFor('the echo before the restart', () => echoed('before'));
    expect((await list(home))[0]?.active_clients).toBe(1);

    process.kill(live?.record.pid as number, 'SIGKILL');
    await waitFor('the daemon to die', () => !isAlive(live?.record.pid as number));
    viewer.send(JSON.stringify({ type: 'input', data: 'between\r' }));
    await waitFor('the echo with no daemon running', () => echoed('between'));
    // The next daemon learns of the viewer from the host when it reconnects.
    await waitFor('the host to report its viewer to the new daemon', async () => (await list(home))[0]?.active_clients === 1, 10_000);
    expect(closed).toBeNull();

    // Ending the session ends the viewer the way the daemon would: the exit message, then 4100.
    await runCli(home, ['kill', 'watched']);
    await waitFor('the viewer to be closed', () => closed !== null);
    expect(closed).toBe(VIEWER_CLOSE.SESSION_ENDED);
    expect(messages.at(-1)?.type).toBe('exit');
  });

  it('keeps a rename through a host-only reconnect and then a kill -9 daemon restart', async () => {
    const home = homes.newHome();
    // Short heartbeats both ways, so a frozen host is cut by the daemon and notices it itself when thawed.
    const env = { TELEPTY_LINK_HEARTBEAT_MS: '200', TELEPTY_HEARTBEAT_MS: '200', TELEPTY_HEARTBEAT_TIMEOUT_MS: '600' };
    const s = await spawnJson(home, ['--id', 'before', '--', 'sh', '-c', 'echo renamed-session; exec sleep 120'], env);
    expect((await runCli(home, ['rename', 'before', 'after'])).exitCode).toBe(0);
    const hostPid = s.host_pid as number;

    // The host alone reconnects: frozen past the daemon's heartbeat, it is cut; thawed, it says hello again.
    process.kill(hostPid, 'SIGSTOP');
    try {
      await waitFor('the frozen host to be cut', async () => (await list(home))[0]?.status === 'disconnected', 10_000);
    } finally {
      process.kill(hostPid, 'SIGCONT');
    }
    const reconnected = await waitFor('the host to reconnect', async () => {
      const l = await list(home);
      return l[0]?.status === 'connected' ? l : null;
    });
    expect(reconnected.map((x) => x.id)).toEqual(['after']);

    // Then the daemon dies without a chance to write anything: the rename is on disk already.
    const daemon = await liveDaemon(home);
    process.kill(daemon?.record.pid as number, 'SIGKILL');
    await waitFor('the daemon to die', () => !isAlive(daemon?.record.pid as number));
    const afterRestart = await waitFor('after to reconnect to a new daemon under its new id', async () => {
      const l = await list(home, env);
      return l.length === 1 && l[0]?.id === 'after' && l[0].status === 'connected' ? l : null;
    });
    expect(afterRestart[0]?.host_pid).toBe(hostPid);
    expect(await persistedSessionIds(home)).toEqual(['after']);
    expect((await read(home, 'after')).lines[0]).toBe('renamed-session');
    const hostLog = await fs.readFile(path.join(home, 'hosts', 'before.log'), 'utf8');
    expect(hostLog).toMatch(/renamed before → after/);
    expect(hostLog).not.toMatch(/the daemon knows this session as before/);
  });

  it('has a spawned session on disk when spawn answers: kill -9 of the daemon right after keeps it', async () => {
    const home = homes.newHome();
    // A long write debounce: only a write made before the answer can be on disk when the daemon dies.
    const env = { TELEPTY_PERSIST_DEBOUNCE_MS: '5000' };
    await spawnJson(home, ['--id', 'fresh', '--', 'sleep', '120'], env);
    const daemon = await liveDaemon(home);
    process.kill(daemon?.record.pid as number, 'SIGKILL');
    await waitFor('the daemon to die', () => !isAlive(daemon?.record.pid as number));
    expect(await persistedSessionIds(home)).toEqual(['fresh']);
    // The next daemon knows it at once (disconnected until its host is back), then the host reconnects.
    const back = await waitFor('fresh to reconnect', async () => (await list(home)).find((x) => x.id === 'fresh' && x.status === 'connected'));
    expect(back.type).toBe('spawned');
  });

  it('has a rename on disk when it answers: kill -9 of the daemon right after keeps the new id', async () => {
    const home = homes.newHome();
    // A long write debounce: only a write made before the answer can be on disk when the daemon dies.
    const env = { TELEPTY_PERSIST_DEBOUNCE_MS: '5000' };
    await spawnJson(home, ['--id', 'quick', '--', 'sleep', '120'], env);
    const daemon = await liveDaemon(home);
    expect((await runCli(home, ['rename', 'quick', 'quicker'])).exitCode).toBe(0);
    process.kill(daemon?.record.pid as number, 'SIGKILL');
    await waitFor('the daemon to die', () => !isAlive(daemon?.record.pid as number));
    expect(await persistedSessionIds(home)).toEqual(['quicker']);
    const back = await waitFor('quicker to reconnect', async () => {
      const l = await list(home);
      return l.length === 1 && l[0]?.status === 'connected' ? l : null;
    });
    expect(back[0]?.id).toBe('quicker');
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
      expect(parseJson<{ status: string }>(k)).toMatchObject({ id: 'doomed', status: 'pending' });
      // Not listed while its host is away (it used to stay, disconnected, for up to ten minutes).
      expect(await list(home)).toEqual([]);
    } finally {
      process.kill(s.host_pid as number, 'SIGCONT');
    }
    await waitFor('the child to be gone', () => !isAlive(s.pid as number), 10_000);
    await waitFor('the host to be gone', () => !isAlive(s.host_pid as number), 10_000);
    await waitFor('the session to be removed', async () => (await list(home)).length === 0, 5_000);
  });

  it('has a pending kill on disk when it answers: kill -9 of the daemon right after does not undo it', async () => {
    const home = homes.newHome();
    const env = { TELEPTY_PERSIST_DEBOUNCE_MS: '5000' };
    const s = await spawnJson(home, ['--id', 'doomed2', '--', 'sleep', '120'], env);
    process.kill(s.host_pid as number, 'SIGSTOP');
    try {
      expect((await runCli(home, ['daemon', 'stop'])).exitCode).toBe(0);
      expect(await list(home, env)).toEqual([expect.objectContaining({ id: 'doomed2', status: 'disconnected' })]);
      const daemon = await liveDaemon(home);
      expect((await runCli(home, ['kill', 'doomed2'])).exitCode).toBe(4);
      process.kill(daemon?.record.pid as number, 'SIGKILL');
      await waitFor('the daemon to die', () => !isAlive(daemon?.record.pid as number));
    } finally {
      process.kill(s.host_pid as number, 'SIGCONT');
    }
    await runCli(home, ['daemon', 'start']);
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

  it('kill with the same id twice ends it once and reports it once', async () => {
    const home = homes.newHome();
    await spawnJson(home, ['--id', 'twice', '--', 'sleep', '60']);
    const r = await runCli(home, ['kill', 'twice', 'twice']);
    expect(r.exitCode, r.stderr).toBe(0);
    expect(r.stdout.trim().split('\n')).toEqual([expect.stringMatching(/^twice: killed/)]);
    await spawnJson(home, ['--id', 'twice', '--', 'sleep', '60']);
    const json = await runCli(home, ['kill', 'twice', 'twice', '--json']);
    expect(parseJson(json)).toMatchObject({ success: true, id: 'twice', status: 'killed' });
  });

  it('says an id is held by an exited session (not "already active"), and how to free it', async () => {
    const home = homes.newHome();
    await spawnJson(home, ['--id', 'done', '--', 'true']);
    await spawnJson(home, ['--id', 'other', '--', 'sleep', '60']);
    await waitFor('done listed as exited', async () => (await list(home)).find((s) => s.id === 'done')?.status === 'exited');
    for (const args of [
      ['spawn', '--id', 'done', '--', 'true'],
      ['rename', 'other', 'done'],
    ]) {
      const r = await runCli(home, args);
      expect(r.exitCode, args.join(' ')).toBe(2);
      expect(r.stderr, args.join(' ')).toMatch(/Session ID 'done' is taken by a session that has exited \(code 0\) and is still listed; `telepty kill done` removes it now/);
    }
    expect((await runCli(home, ['kill', 'done'])).exitCode).toBe(0);
    expect((await runCli(home, ['spawn', '--id', 'done', '--', 'true'])).exitCode).toBe(0);
  });

  it('refuses a rename onto an id in use', async () => {
    const home = homes.newHome();
    await spawnJson(home, ['--id', 'one', '--', 'sleep', '60']);
    await spawnJson(home, ['--id', 'two', '--', 'sleep', '60']);
    const r = await runCli(home, ['rename', 'one', 'two']);
    expect(r.exitCode).toBe(2);
    expect(r.stderr).toMatch(/already in use/);
    expect((await list(home)).map((s) => s.id).sort()).toEqual(['one', 'two']);
    const again = await runCli(home, ['spawn', '--id', 'one', '--', 'sleep', '1']);
    // The seed's message, which its clients match.
    expect(again.stderr).toContain("Session ID 'one' is already active.");
    expect(again.exitCode).toBe(2);
  });
});
