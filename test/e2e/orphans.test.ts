import { promises as fs } from 'node:fs';
import { afterAll, describe, expect, it } from 'vitest';
import type { SessionObject } from '../../src/protocol/session.js';
import { parseJson, runCli } from '../helpers/cli.js';
import { useHomes } from '../helpers/daemon.js';
import { isAlive, waitFor } from '../helpers/env.js';

const homes = useHomes();
const used: string[] = [];
/** A run where the reaping fails must not leave its sleeps behind: end them by exact command line and home. */
afterAll(async () => {
  for (const home of used) {
    for (const n of ['100001', '100002', '100003']) for (const pid of await processesRunning(home, ['sleep', n])) process.kill(pid, 'SIGKILL');
  }
});
function newHome(): string {
  const home = homes.newHome();
  used.push(home);
  return home;
}
/** The sweeper checks every second; a loaded CI machine gets ample slack. */
const REAP_WITHIN_MS = 15_000;

async function session(home: string, id: string): Promise<SessionObject> {
  const s = parseJson<SessionObject[]>(await runCli(home, ['list', '--json'])).find((x) => x.id === id);
  if (!s) throw new Error(`no session ${id}`);
  return s;
}

/** Live processes running exactly `argv` in this home (its TELEPTY_HOME is in their environment). */
async function processesRunning(home: string, argv: string[]): Promise<number[]> {
  const pids: number[] = [];
  for (const e of await fs.readdir('/proc')) {
    if (!/^\d+$/.test(e)) continue;
    try {
      const cmd = (await fs.readFile(`/proc/${e}/cmdline`, 'utf8')).split('\0').filter(Boolean);
      if (cmd.join(' ') !== argv.join(' ')) continue;
      const env = (await fs.readFile(`/proc/${e}/environ`, 'utf8')).split('\0');
      if (env.includes(`TELEPTY_HOME=${home}`) && isAlive(Number(e))) pids.push(Number(e));
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'ENOENT' && (err as NodeJS.ErrnoException).code !== 'ESRCH') throw err;
    }
  }
  return pids;
}

describe('a host killed with -9 leaves nothing of its session running', () => {
  it('a child that ignores SIGHUP is ended, and kill says what happened', async () => {
    const home = newHome();
    const spawned = await runCli(home, ['spawn', '--id', 'h3', '--', 'bash', '--norc', '-c', 'trap "" HUP; exec sleep 100001']);
    expect(spawned.exitCode, spawned.stderr).toBe(0);
    const s = await session(home, 'h3');
    const child = s.pid ?? 0;
    expect(isAlive(child)).toBe(true);
    process.kill(s.host_pid ?? 0, 'SIGKILL');
    await waitFor('the SIGHUP-ignoring child to be ended', () => !isAlive(child), REAP_WITHIN_MS);
    const killed = await runCli(home, ['kill', 'h3']);
    expect(killed.exitCode, killed.stderr).toBe(0);
    expect(killed.stdout).toContain('h3: host was gone; ended 1 orphaned process');
  });

  it('a host that died while no daemon ran: the next daemon ends what it left (by the start time kept in sessions.json)', async () => {
    const home = newHome();
    expect((await runCli(home, ['spawn', '--id', 'h4', '--', 'bash', '--norc', '-c', 'trap "" HUP; exec sleep 100001'])).exitCode).toBe(0);
    const s = await session(home, 'h4');
    const child = s.pid ?? 0;
    const persisted = JSON.parse(await fs.readFile(`${home}/sessions.json`, 'utf8')) as { sessions: { id: string; pid_start?: string }[] };
    const stat = await fs.readFile(`/proc/${child}/stat`, 'utf8');
    expect(persisted.sessions.find((x) => x.id === 'h4')?.pid_start).toBe(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[19]);
    expect((await runCli(home, ['daemon', 'stop'])).exitCode).toBe(0);
    process.kill(s.host_pid ?? 0, 'SIGKILL');
    await waitFor('the host to be gone', () => !isAlive(s.host_pid ?? 0));
    expect(isAlive(child)).toBe(true);
    // Any command starts the next daemon; its sweeper finds the host gone.
    expect((await runCli(home, ['list'])).exitCode).toBe(0);
    await waitFor('the orphan to be ended by the next daemon', () => !isAlive(child), REAP_WITHIN_MS);
  });

  it('so are `nohup … &` and `setsid nohup … &` typed into an interactive shell', async () => {
    const home = newHome();
    expect((await runCli(home, ['spawn', '--id', 'sh1', '--', 'bash', '--norc', '--noprofile', '-i'])).exitCode).toBe(0);
    const typed = await runCli(home, ['inject', 'sh1', 'nohup sleep 100002 >/dev/null 2>&1 & setsid nohup sleep 100003 >/dev/null 2>&1 &']);
    expect(typed.exitCode, typed.stderr).toBe(0);
    const nohup = await waitFor('the nohup sleep', async () => (await processesRunning(home, ['sleep', '100002']))[0]);
    const setsid = await waitFor('the setsid sleep', async () => (await processesRunning(home, ['sleep', '100003']))[0]);
    process.kill((await session(home, 'sh1')).host_pid ?? 0, 'SIGKILL');
    await waitFor('the nohup and setsid sleeps to be ended', () => !isAlive(nohup) && !isAlive(setsid), REAP_WITHIN_MS);
    const killed = await runCli(home, ['kill', 'sh1', '--json']);
    expect(parseJson<Record<string, unknown>>(killed)).toMatchObject({ id: 'sh1', status: 'killed', host_gone: true });
  });
});
