import { existsSync, promises as fs } from 'node:fs';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { sessionMembers } from '../../src/host/pty.js';
import { parseJson, runCli, spawnCli } from '../helpers/cli.js';
import { liveDaemon, persistedSessionIds, useHomes } from '../helpers/daemon.js';
import { BIN, ROOT, isAlive, makeHome, testEnv, waitFor } from '../helpers/env.js';
import { listSessions } from '../helpers/sessions.js';
import { TerminalDriver } from '../helpers/terminal.js';

const homes = useHomes();
const FULLSCREEN = path.join(ROOT, 'test', 'fixtures', 'fullscreen.mjs');
const MODES_THEN_SIGKILL = path.join(ROOT, 'test', 'fixtures', 'modes-then-sigkill.mjs');
const BASH = ['bash', '--norc', '--noprofile'];
const drivers: TerminalDriver[] = [];
afterEach(() => {
  for (const d of drivers.splice(0)) d.dispose();
});

function terminal(home: string, args: string[], size: { cols?: number; rows?: number } = {}): TerminalDriver {
  const d = new TerminalDriver(process.execPath, [BIN, ...args], { env: { ...testEnv(home), PS1: 'wrapped$ ' }, ...size });
  drivers.push(d);
  return d;
}

function plain(file: string, args: string[], size: { cols?: number; rows?: number } = {}): TerminalDriver {
  const home = makeHome();
  const d = new TerminalDriver(file, args, { env: { ...testEnv(home.home), PS1: 'wrapped$ ' }, ...size });
  drivers.push(d);
  return d;
}

const list = listSessions;

describe('wrap in a terminal', () => {
  it('passes typing, output, window size and the exit code through exactly', async () => {
    const home = homes.newHome();
    const t = terminal(home, ['wrap', '--id', 'mine', '--', ...BASH], { cols: 90, rows: 30 });
    await t.waitForText('this terminal is session "mine"');
    await t.waitForText('wrapped$');
    t.write('echo typed-$((40+2))\r');
    await t.waitForText(/^typed-42$/m);
    t.write('stty size\r');
    await t.waitForText(/^30 90$/m);
    t.resize(100, 40);
    // The host resizes the PTY, then tells the daemon: once the session lists the new size, the PTY has it.
    await waitFor('the new size to reach the session', async () => {
      const s = (await list(home))[0];
      return s?.cols === 100 && s.rows === 40;
    });
    t.write('stty size\r');
    await t.waitForText(/^40 100$/m);
    const s = (await list(home))[0];
    expect(s).toMatchObject({ id: 'mine', type: 'wrapped', status: 'connected', command: 'bash', cols: 100, rows: 40, term: 'xterm-256color', cwd: process.cwd() });
    t.write('exit 7\r');
    expect((await t.waitExit()).exitCode).toBe(7);
  });

  it('exits 128+N when the program is killed by signal N, and Ctrl-C reaches the program', async () => {
    const home = homes.newHome();
    const t = terminal(home, ['wrap', '--quiet', '--', ...BASH]);
    await t.waitForText('wrapped$');
    t.write('sleep 30\r');
    await waitFor('sleep to run in the session', async () => {
      const sid = (await list(home))[0]?.pid;
      if (!sid) return false;
      for (const pid of await sessionMembers(sid)) {
        const cmdline = await fs.readFile(`/proc/${pid}/cmdline`, 'utf8').catch((err: NodeJS.ErrnoException) => {
          if (err.code === 'ENOENT' || err.code === 'ESRCH') return ''; // gone meanwhile
          throw err;
        });
        if (cmdline.startsWith('sleep\0')) return true;
      }
      return false;
    });
    t.write('\x03'); // Ctrl-C interrupts sleep, not bash
    await t.waitForText(/\^C\s*\n?wrapped\$/);
    t.write('kill -KILL $$\r'); // an interactive bash ignores SIGTERM
    expect((await t.waitExit()).exitCode).toBe(137);
    expect(await t.screenText()).not.toMatch(/this terminal is session/);
  });

  it('renders a full-screen program exactly as without wrap, and restores the terminal after it', async () => {
    const home = homes.newHome();
    const direct = plain(process.execPath, [FULLSCREEN], { cols: 70, rows: 20 });
    const wrapped = terminal(home, ['wrap', '--quiet', '--id', 'tui', '--', process.execPath, FULLSCREEN], { cols: 70, rows: 20 });
    await direct.waitForText('FULLSCREEN FIXTURE 70x20');
    await wrapped.waitForText('FULLSCREEN FIXTURE 70x20');
    for (const d of [direct, wrapped]) d.write('abc');
    await direct.waitForText('typed: abc');
    await wrapped.waitForText('typed: abc');
    expect(await wrapped.screen()).toEqual(await direct.screen());
    expect(wrapped.term.buffer.active.type).toBe('alternate');
    const read = await waitFor('the session screen', async () => {
      const r = await runCli(home, ['read', 'tui', '--json']);
      return r.exitCode === 0 ? parseJson<{ lines: string[]; alt_screen: boolean }>(r) : null;
    });
    expect(read.alt_screen).toBe(true);
    expect(read.lines).toEqual((await direct.screen()).slice(0, read.lines.length));
    wrapped.write('q');
    direct.write('q');
    expect((await wrapped.waitExit()).exitCode).toBe(0);
    await direct.waitExit();
    expect(wrapped.term.buffer.active.type).toBe('normal');
    expect(wrapped.term.modes.bracketedPasteMode).toBe(false);
    expect(wrapped.term.modes.mouseTrackingMode).toBe('none');
    expect(await wrapped.screenText()).toContain('fullscreen fixture done');
  });

  it('restores the terminal after a full-screen program is SIGKILLed with every mode on', async () => {
    const home = homes.newHome();
    const wrapped = terminal(home, ['wrap', '--quiet', '--id', 'crash', '--', process.execPath, MODES_THEN_SIGKILL]);
    await wrapped.waitForText('MODES ON');
    // The modes really reached the user's terminal (wrap passes the bytes through)...
    expect(await wrapped.modes()).toEqual({ screen: 'alternate', bracketedPaste: true, mouse: 'drag', cursorHidden: true, kittyKeyboardDepth: 1 });
    wrapped.write('x');
    expect((await wrapped.waitExit()).exitCode).toBe(137);
    // ...and the program restored none of them: wrap did.
    expect(await wrapped.modes()).toEqual({ screen: 'normal', bracketedPaste: false, mouse: 'none', cursorHidden: false, kittyKeyboardDepth: 0 });
  });

  it.skipIf(!existsSync('/usr/bin/vim'))('shows vim the same through wrap as without it', async () => {
    const home = homes.newHome();
    const file = path.join(home, 'note.txt');
    await fs.writeFile(file, 'first line\nsecond line\n');
    const args = ['-u', 'NONE', '-N', '-n', file];
    const direct = plain('/usr/bin/vim', args, { cols: 60, rows: 12 });
    const wrapped = terminal(home, ['wrap', '--quiet', '--', '/usr/bin/vim', ...args], { cols: 60, rows: 12 });
    for (const d of [direct, wrapped]) await d.waitForText('second line');
    for (const d of [direct, wrapped]) d.write('Gotyped through\x1b');
    for (const d of [direct, wrapped]) await d.waitForText('typed through');
    // Escape ends insert mode: both vims have taken all of the keys once neither shows the mode any more.
    await waitFor('both vims back in normal mode', async () => !(await direct.screenText()).includes('-- INSERT --') && !(await wrapped.screenText()).includes('-- INSERT --'));
    expect(await wrapped.screen()).toEqual(await direct.screen());
    for (const d of [direct, wrapped]) d.write(':q!\r');
    expect((await wrapped.waitExit()).exitCode).toBe(0);
    expect(wrapped.term.buffer.active.type).toBe('normal');
  });

  it('keeps the program running through kill -9 of the daemon and reconnects to the next daemon within 3 s', async () => {
    const home = homes.newHome();
    const t = terminal(home, ['wrap', '--id', 'steady', '--', ...BASH]);
    await t.waitForText('wrapped$');
    const daemon = await liveDaemon(home);
    expect(daemon).not.toBeNull();
    process.kill(daemon?.record.pid as number, 'SIGKILL');
    await waitFor('the daemon to die', () => !isAlive(daemon?.record.pid as number));
    t.write('echo still-$((1+1))\r');
    await t.waitForText(/^still-2$/m);
    await runCli(home, ['daemon', 'start']);
    const fresh = await liveDaemon(home);
    await waitFor('steady to reconnect', async () => (await list(home)).find((s) => s.id === 'steady' && s.status === 'connected'), 5_000);
    expect(Date.now() - Date.parse(fresh?.meta.started_at as string)).toBeLessThan(3_000);
    const screen = parseJson<{ lines: string[] }>(await runCli(home, ['read', 'steady', '--json']));
    expect(screen.lines.join('\n')).toContain('still-2');
    expect(await t.screenText()).not.toMatch(/daemon|reconnect/i);
    t.write('exit\r');
    expect((await t.waitExit()).exitCode).toBe(0);
  });

  it('refuses an inject while the host is away from the daemon with SESSION_DISCONNECTED (exit 4), and delivers after it reconnects', async () => {
    const home = homes.newHome();
    const t = terminal(home, ['wrap', '--quiet', '--id', 'gap', '--', ...BASH]);
    await t.waitForText('wrapped$');
    const s = await waitFor('gap to register', async () => (await list(home)).find((x) => x.id === 'gap' && x.status === 'connected'));
    expect(s.host_pid).toBe(t.pid); // wrap is the host: our own process
    // sessions.json is written within TELEPTY_PERSIST_DEBOUNCE_MS of a change: only a session on disk is known to
    // the daemon that comes after a kill -9 (until its host reconnects, which the freeze below holds off).
    await waitFor('gap to be on disk', async () => (await persistedSessionIds(home)).includes('gap'));
    const daemon = await liveDaemon(home);
    // Hold the gap open: freeze the host, then kill -9 the daemon and start another one it cannot reach yet.
    process.kill(t.pid, 'SIGSTOP');
    try {
      process.kill(daemon?.record.pid as number, 'SIGKILL');
      await waitFor('the daemon to die', () => !isAlive(daemon?.record.pid as number));
      expect(await list(home)).toEqual([expect.objectContaining({ id: 'gap', type: 'wrapped', status: 'disconnected' })]);
      const refused = await runCli(home, ['inject', 'gap', 'echo lost-$((2+2))', '--json']);
      expect(refused.exitCode).toBe(4);
      expect(parseJson(refused)).toMatchObject({ code: 'SESSION_DISCONNECTED' });
      const human = await runCli(home, ['inject', 'gap', 'echo lost-$((2+2))']);
      expect(human.exitCode).toBe(4);
      expect(human.stderr).toMatch(/SESSION_DISCONNECTED/);
    } finally {
      process.kill(t.pid, 'SIGCONT');
    }
    await waitFor('gap to reconnect', async () => (await list(home)).find((x) => x.id === 'gap' && x.status === 'connected'), 5_000);
    const r = await runCli(home, ['inject', 'gap', 'echo delivered-$((40+2))']);
    expect(r.exitCode, r.stderr).toBe(0);
    await t.waitForText(/^delivered-42$/m);
    // Refused means refused: nothing of the first inject was queued for later.
    expect(await t.screenText()).not.toContain('lost-4');
    t.write('exit\r');
    expect((await t.waitExit()).exitCode).toBe(0);
  });

  it('ends the program when the session is killed, says why, and exits', async () => {
    const home = homes.newHome();
    const t = terminal(home, ['wrap', '--id', 'target', '--', ...BASH]);
    await t.waitForText('wrapped$');
    const k = await runCli(home, ['kill', 'target']);
    expect(k.exitCode).toBe(0);
    const exit = await t.waitExit();
    expect(exit.exitCode).toBe(129);
    expect(await t.screenText()).toMatch(/session target ended: killed by `telepty kill`/);
    expect(await list(home)).toEqual([]);
  });

  it('has a newly wrapped session on disk at once, not after the write debounce', async () => {
    const home = homes.newHome();
    // With a 60 s debounce, sessions.json can only have the session this soon if a new one is written at once.
    expect((await runCli(home, ['daemon', 'start'], { env: { TELEPTY_PERSIST_DEBOUNCE_MS: '60000' } })).exitCode).toBe(0);
    const t = terminal(home, ['wrap', '--quiet', '--id', 'durable', '--', ...BASH]);
    await t.waitForText('wrapped$');
    await waitFor('durable to register', async () => (await list(home)).find((x) => x.id === 'durable' && x.status === 'connected'));
    await waitFor('durable to be on disk', async () => (await persistedSessionIds(home)).includes('durable'), 5_000);
    t.write('exit\r');
    expect((await t.waitExit()).exitCode).toBe(0);
  });

  it('exits with its program at once when no daemon can start (its port held by another program)', async () => {
    const home = homes.newHome();
    const other = http.createServer((_req, res) => res.writeHead(404).end());
    await new Promise<void>((resolve) => other.listen(0, '127.0.0.1', resolve));
    try {
      const port = (other.address() as AddressInfo).port;
      const t = new TerminalDriver(process.execPath, [BIN, 'wrap', '--id', 'alone', '--', ...BASH], { env: { ...testEnv(home), TELEPTY_PORT: String(port), PS1: 'wrapped$ ' } });
      drivers.push(t);
      await t.waitForText(/in use by another program/);
      await t.waitForText('wrapped$');
      t.write('echo still-here\r');
      await t.waitForText(/^still-here$/m);
      t.write('exit 3\r');
      const t0 = Date.now();
      expect((await t.waitExit()).exitCode).toBe(3);
      // It waited 5 s for a daemon to come back and hear the exit code (a background host's wait).
      expect(Date.now() - t0).toBeLessThan(2_000);
    } finally {
      other.close();
    }
  });

  it('refuses an --id that a live session already has, before starting anything', async () => {
    const home = homes.newHome();
    await runCli(home, ['spawn', '--id', 'taken', '--', 'sleep', '60']);
    const r = await runCli(home, ['wrap', '--id', 'taken', '--', 'sh', '-c', 'echo should-not-run']);
    expect(r.exitCode).toBe(2);
    expect(r.stderr).toMatch(/already in use/);
    expect(r.stdout).not.toContain('should-not-run');
  });
});

describe('wrap without a terminal (CI, pipes)', () => {
  it('passes output through, registers the session and returns the exit code', async () => {
    const home = homes.newHome();
    const r = await runCli(home, ['wrap', '--id', 'ci', '--', 'sh', '-c', 'echo "size $(stty size)"; echo out-of-ci; exit 5']);
    expect(r.exitCode).toBe(5);
    expect(r.stdout).toContain('size 24 80');
    expect(r.stdout).toContain('out-of-ci');
    expect(r.stderr).toContain('this terminal is session "ci"');
    const ls = await list(home);
    expect(ls[0]).toMatchObject({ id: 'ci', type: 'wrapped', status: 'exited', exit_code: 5 });
  });

  it('on kill, SIGKILLs what ignores the hang-up before wrap exits', async () => {
    const home = homes.newHome();
    const env = { TELEPTY_KILL_GRACE_MS: '500' };
    const wrap = spawnCli(home, ['wrap', '--quiet', '--id', 'stubborn', '--', 'bash', '-c', '(trap "" HUP; exec sleep 300) & exec sleep 301'], { env });
    const s = await waitFor('stubborn to register', async () => (await list(home)).find((x) => x.id === 'stubborn' && x.status === 'connected'));
    const sid = s.pid as number;
    const members = await waitFor('both sleeps to run in the session', async () => {
      const m = await sessionMembers(sid);
      return m.length === 2 ? m : null;
    });
    try {
      expect((await runCli(home, ['kill', 'stubborn'])).exitCode).toBe(0);
      const r = await wrap;
      expect(r.exitCode).toBe(129);
      expect(String(r.stderr)).toMatch(/session stubborn ended: killed by `telepty kill`/);
      expect(members.filter(isAlive)).toEqual([]);
      expect(await sessionMembers(sid)).toEqual([]);
    } finally {
      for (const pid of members) if (isAlive(pid)) process.kill(pid, 'SIGKILL');
    }
  });

  it('takes --cols/--rows when there is no terminal to measure', async () => {
    const home = homes.newHome();
    const r = await runCli(home, ['wrap', '--quiet', '--cols', '132', '--rows', '50', '--', 'stty', 'size']);
    expect(r.stdout.trim()).toBe('50 132');
    expect(r.stderr).toBe('');
  });
});
