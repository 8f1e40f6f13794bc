import { readFile } from 'node:fs/promises';
import { createRequire } from 'node:module';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { parseJson, runCli } from '../helpers/cli.js';
import { useHomes } from '../helpers/daemon.js';
import { BIN, sleep, testEnv, waitFor } from '../helpers/env.js';
import { TerminalDriver } from '../helpers/terminal.js';
import type { SessionObject } from '../../src/protocol/session.js';

// Issue 25: `telepty wrap` must never block on its own terminal. Its output to a terminal that stopped reading is
// buffered up to a bound, then dropped and repainted when the terminal reads again; the session stays connected.
const homes = useHomes();
const drivers: TerminalDriver[] = [];
afterEach(() => {
  for (const d of drivers.splice(0)) d.dispose();
});

/** Short heartbeats, so a host whose event loop is blocked is dropped within seconds (as it is in minutes). */
const FAST_HEARTBEATS = { TELEPTY_LINK_HEARTBEAT_MS: '300', TELEPTY_HEARTBEAT_MS: '300', TELEPTY_HEARTBEAT_TIMEOUT_MS: '1200' };
/** More than three heartbeat timeouts (1.2 s): the span in which a blocked wrap would have been dropped. */
const SEVERAL_HEARTBEAT_TIMEOUTS_MS = 4_000;
/** A terminal's lag that is not a stop: well under wrap's LOCAL_STALL_MS (1 s), far over the ~20 ms a 1 MiB bound lasts. */
const TERMINAL_LAG_MS = 300;

describe('wrap when its own terminal stops reading', () => {
  it('keeps the session connected and injectable, and repaints the screen when the terminal reads again', async () => {
    const home = homes.newHome();
    const d = new TerminalDriver(process.execPath, [BIN, 'wrap', '--quiet', '--id', 'wb', '--', 'bash', '--norc', '--noprofile'], {
      env: { ...testEnv(home, FAST_HEARTBEATS), PS1: 'wb$ ' },
    });
    drivers.push(d);
    await d.waitForText('wb$');
    await waitFor('wb connected', async () => (await statusOf(home, 'wb')) === 'connected', 20_000);

    d.proc.pause();
    const big = await runCli(home, ['inject', 'wb', "head -c 200000 /dev/zero | tr '\\0' x; echo; echo big-done"], { env: FAST_HEARTBEATS });
    expect(big.exitCode, big.stderr).toBe(0);
    // Past the bound of what is held for the terminal (1 MiB): dropped, and repainted later.
    const flood = await runCli(home, ['inject', 'wb', "head -c 3000000 /dev/zero | tr '\\0' y; echo; echo flood-done"], { env: FAST_HEARTBEATS });
    expect(flood.exitCode, flood.stderr).toBe(0);
    // Several heartbeat timeouts pass while the terminal still does not read.
    await sleep(SEVERAL_HEARTBEAT_TIMEOUTS_MS);
    const three = await runCli(home, ['inject', 'wb', 'echo three', '--json'], { env: FAST_HEARTBEATS });
    expect(three.exitCode, three.stderr).toBe(0);
    expect(parseJson<{ status: string }>(three).status).toBe('submitted');
    expect(await statusOf(home, 'wb')).toBe('connected');

    d.proc.resume();
    // The screen the user gets back is the session's screen now: `three` printed after the flood.
    await d.waitForText(/^three$/m, 20_000);
    // It got a repaint, not the 3 MB backlog.
    expect(d.raw).toContain('\x1b[H\x1b[2J');
    expect(d.raw.length).toBeLessThan(3_000_000);
    const read = await runCli(home, ['read', 'wb']);
    expect(read.stdout).toMatch(/^three$/m);
  }, 60_000);

  it('exits when its program does, while its terminal does not read: its last output and the modes restore are given up after a bound', async () => {
    const home = homes.newHome();
    // The program's last output (300 kB) fills the terminal's buffer, which nobody reads from then on.
    const script = "echo started; sleep 1; head -c 300000 /dev/zero | tr '\\0' x; echo; exit 3";
    const d = new TerminalDriver(process.execPath, [BIN, 'wrap', '--quiet', '--id', 'wx', '--', 'bash', '--norc', '--noprofile', '-c', script], { env: testEnv(home) });
    drivers.push(d);
    await d.waitForText('started');
    d.proc.pause();
    // It ends within the last output's bound (1 s) and some, with the terminal still not read: no thread of it is left
    // blocked in a write to that terminal (the modes' restore waited behind one until the terminal read again).
    await waitFor('wrap exited', () => processGone(d.pid), 10_000);
    d.proc.resume();
    expect((await d.exited).exitCode).toBe(3);
    expect(await statusOf(home, 'wx')).toBe('exited');
  }, 40_000);
});

describe('wrap when its own terminal hangs up (its window closed)', () => {
  it('ends its program with SIGHUP and exits with 129, without crashing on the terminal that is gone', async () => {
    const home = homes.newHome();
    // 129: its program ended by SIGHUP; Node aborting on the hung-up terminal gave 134 (SIGABRT) or 139 (SIGSEGV).
    expect(await wrapStatusAfterHangUp(home, 'wh', 'echo started; while :; do sleep 0.1; done')).toBe('129');
    expect(await statusOf(home, 'wh')).toBe('exited');
  }, 40_000);

  it('exits with its program\'s status when that writes after the hang-up (the writes fail, the output is let go)', async () => {
    const home = homes.newHome();
    const script = "trap 'for i in 1 2 3 4 5; do echo late; sleep 0.1; done; exit 7' HUP; echo started; while :; do sleep 0.1; done";
    expect(await wrapStatusAfterHangUp(home, 'wl', script)).toBe('7');
    expect(await statusOf(home, 'wl')).toBe('exited');
  }, 40_000);
});

/**
 * Run `script` under `telepty wrap` in a terminal, hang that terminal up (node-pty's destroy() closes its master side)
 * once the session is connected, and return wrap's exit status. sh stands for the user's shell: the session leader,
 * which the hang-up signals (SIGHUP) and which passes that on to its job, as bash does; it writes the status down.
 */
async function wrapStatusAfterHangUp(home: string, id: string, script: string): Promise<string> {
  const status = path.join(home, `${id}-status`);
  const wrap = [process.execPath, BIN, 'wrap', '--quiet', '--id', id, '--', 'bash', '--norc', '--noprofile', '-c', script].map((a) => `'${a.replace(/'/g, `'\\''`)}'`).join(' ');
  const shell = `trap 'kill -HUP $w' HUP; ${wrap} <&0 & w=$!; wait $w; s=$?; while kill -0 $w 2>/dev/null; do wait $w; s=$?; done; echo $s > '${status}'`;
  const d = new TerminalDriver('/bin/sh', ['-c', shell], { env: testEnv(home) });
  drivers.push(d);
  await d.waitForText('started');
  await waitFor(`${id} connected`, async () => (await statusOf(home, id)) === 'connected', 20_000);
  Reflect.apply(Reflect.get(d.proc, 'destroy'), d.proc, []);
  return waitFor('wrap status', async () => (await readFile(status, 'utf8').catch(notYet)).trim() || null, 10_000);
}

describe('wrap when its own terminal keeps reading', () => {
  it('passes every byte of a flood through, with no repaint, also when the terminal stops reading for a moment', async () => {
    const home = homes.newHome();
    const script = "echo started; sleep 0.5; head -c 5000000 /dev/zero | tr '\\0' x; echo; echo flood-end";
    // A terminal that only counts what it gets (no screen to draw: it keeps up even on a loaded machine).
    const nodePty = createRequire(import.meta.url)('node-pty') as typeof import('node-pty');
    const term = nodePty.spawn(process.execPath, [BIN, 'wrap', '--quiet', '--id', 'wf', '--', 'bash', '--norc', '--noprofile', '-c', script], { name: 'xterm-256color', cols: 80, rows: 24, cwd: process.cwd(), env: stringEnv(testEnv(home)) });
    let xs = 0;
    let tail = '';
    let repainted = false;
    let ended = false;
    let stalled = false;
    term.onData((d) => {
      for (let i = d.indexOf('x'); i >= 0; i = d.indexOf('x', i + 1)) xs++;
      repainted ||= (tail + d).includes('\x1b[H\x1b[2J');
      ended ||= (tail + d).includes('flood-end');
      tail = (tail + d).slice(-64);
      if (!stalled && xs > 0) {
        // A terminal that lags behind a flood for a moment (its process descheduled, a slow draw): far more than
        // the 1 MiB wrap holds for it comes meanwhile, and none of it may be lost.
        stalled = true;
        term.pause();
        setTimeout(() => term.resume(), TERMINAL_LAG_MS);
      }
    });
    const exit = await new Promise<number>((resolve) => term.onExit((e) => resolve(e.exitCode)));
    expect(exit).toBe(0);
    expect(stalled).toBe(true);
    expect(ended).toBe(true);
    expect(xs).toBe(5_000_000);
    expect(repainted).toBe(false);
  }, 60_000);
});

function stringEnv(env: NodeJS.ProcessEnv): Record<string, string> {
  return Object.fromEntries(Object.entries(env).filter((e): e is [string, string] => e[1] !== undefined));
}

/** The session's status as `list --json` shows it (undefined: not listed, or the list failed). */
async function statusOf(home: string, id: string): Promise<string | undefined> {
  const r = await runCli(home, ['list', '--json']);
  return r.exitCode === 0 ? parseJson<SessionObject[]>(r).find((s) => s.id === id)?.status : undefined;
}

/** A file that is not written yet reads as empty. */
function notYet(err: NodeJS.ErrnoException): string {
  if (err.code === 'ENOENT') return '';
  throw err;
}

/** The process has ended (no such process, or a zombie not yet reaped). */
async function processGone(pid: number): Promise<boolean> {
  try {
    const stat = await readFile(`/proc/${pid}/stat`, 'utf8');
    return stat.slice(stat.lastIndexOf(')') + 2).startsWith('Z');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return true;
    throw err;
  }
}
