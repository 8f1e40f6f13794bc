import { execa } from 'execa';
import { mkdtempSync, promises as fs, rmdirSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { SessionObject } from '../../src/protocol/session.js';
import { daemonPort, postApi, requestApi } from '../helpers/api.js';
import { runCli } from '../helpers/cli.js';
import { hostsOf, killSessionsIn, liveDaemon, persistedSessionIds, stopDaemonIn } from '../helpers/daemon.js';
import { isAlive, waitFor } from '../helpers/env.js';
import { listSessions } from '../helpers/sessions.js';

/**
 * TELEPTY_HOME on a small tmpfs mounted here, filled to the last byte: nothing may be answered as saved, the
 * daemon must go on serving with its log unwritable, and what it answered must be what a restart finds.
 */
const home = mkdtempSync(path.join(os.tmpdir(), 'telepty-fulldisk-'));
let mounted = false;
let skipReason = '';

beforeAll(async () => {
  const r = await execa('mount', ['-t', 'tmpfs', '-o', 'size=2m,mode=0700', 'tmpfs', home], { reject: false });
  mounted = r.exitCode === 0;
  if (!mounted) {
    skipReason = `cannot mount a tmpfs (needs root): ${String(r.stderr).trim() || `exit ${r.exitCode}`}`;
    process.stdout.write(`full-disk tests skipped: ${skipReason}\n`);
  }
});

afterAll(async () => {
  if (mounted) {
    await fs.rm(path.join(home, 'fill'), { force: true });
    await killSessionsIn(home);
    await stopDaemonIn(home);
    for (const pid of await hostsOf(home)) if (isAlive(pid)) process.kill(pid, 'SIGKILL');
    await execa('umount', [home], { reject: false });
  }
  rmdirSync(home);
});

/** Fill the filesystem to the last byte: big chunks, then smaller ones, until even one byte is refused. */
async function fillDisk(): Promise<void> {
  const fill = path.join(home, 'fill');
  for (const size of [256 * 1024, 16 * 1024, 1024, 64, 1]) {
    const chunk = Buffer.alloc(size, 120);
    for (;;) {
      try {
        await fs.appendFile(fill, chunk);
      } catch (err) {
        if ((err as NodeJS.ErrnoException).code !== 'ENOSPC') throw err;
        break;
      }
    }
  }
}

function list(): Promise<SessionObject[]> {
  return listSessions(home);
}

async function tempFiles(): Promise<string[]> {
  return (await fs.readdir(home)).filter((f) => f.endsWith('.tmp'));
}

describe('a full disk', () => {
  it('rename, kill and spawn answer PERSIST_FAILED, the daemon keeps serving with its log unwritable, and a restart finds what was answered', async (ctx) => {
    if (!mounted) ctx.skip(skipReason);
    const spawned = await runCli(home, ['spawn', '--id', 'd1', '--', 'bash', '--norc', '--noprofile']);
    expect(spawned.exitCode, spawned.stderr).toBe(0);
    const first = await liveDaemon(home);
    expect(first).not.toBeNull();
    const daemonPid = first?.record.pid ?? 0;
    const hostPid = (await list())[0]?.host_pid ?? 0;

    // The log ends on a page boundary (tmpfs allocates pages), so the very next log line needs space too.
    const daemonLog = path.join(home, 'daemon.log');
    const size = (await fs.stat(daemonLog)).size;
    await fs.appendFile(daemonLog, `${'#'.repeat(4096 - (size % 4096) - 1)}\n`);
    await fillDisk();

    const renamed = await runCli(home, ['rename', 'd1', 'd9']);
    expect(renamed.exitCode).toBe(1);
    expect(renamed.stderr).toMatch(/PERSIST_FAILED/);
    expect(renamed.stderr).toContain('sessions.json');
    const port = await daemonPort(home);
    const patched = await requestApi(port, 'PATCH', '/api/sessions/d1', { new_id: 'd9' });
    expect(patched.status).toBe(507);
    expect(patched.json.code).toBe('PERSIST_FAILED');

    // Records too: a thread or handoff the disk refused is not answered as saved.
    const thread = await postApi(port, '/api/threads', { topic: 'full disk' });
    expect(thread.status).toBe(507);
    expect(thread.json.code).toBe('PERSIST_FAILED');
    const handoff = await postApi(port, '/api/handoff', { synthesis: { tasks: [] } });
    expect(handoff.status).toBe(507);

    const killed = await runCli(home, ['kill', 'd1']);
    expect(killed.exitCode).toBe(1);
    expect(killed.stderr).toMatch(/PERSIST_FAILED/);

    // Nothing was made: memory says what the disk says.
    const after = await list();
    expect(after.map((s) => [s.id, s.status])).toEqual([['d1', 'connected']]);
    expect(isAlive(hostPid)).toBe(true);

    // A new session cannot be saved either: a truthful failure (exit 1), not a usage error.
    const second = await runCli(home, ['spawn', '--id', 'd2', '--', 'bash', '--norc', '--noprofile']);
    expect(second.exitCode, second.stderr).toBe(1);
    expect(second.stderr).toMatch(/PERSIST_FAILED/);
    expect((await list()).map((s) => s.id)).toEqual(['d1']);
    // ...and the host it started is ended, not left running unlisted.
    await waitFor('the unsaved session\'s host to end', async () => (await hostsOf(home)).length === 1);

    // Anyone can make the daemon log (refused origins): with the log file unwritable it keeps serving.
    for (let i = 0; i < 200; i++) {
      const r = await fetch(`http://127.0.0.1:${port}/api/sessions`, { headers: { origin: 'http://evil.example' } });
      expect(r.status).toBe(403);
    }
    expect(isAlive(daemonPid)).toBe(true);
    expect((await runCli(home, ['list'])).exitCode).toBe(0);
    expect(await tempFiles()).toEqual([]);

    // Space is back: the daemon says how many log lines the full disk swallowed, and goes on.
    await fs.rm(path.join(home, 'fill'));
    // (its retry of sessions.json logs that it is written again: the first line after the lost ones)
    const log = await waitFor('the daemon to log again', async () => {
      const text = await fs.readFile(daemonLog, 'utf8');
      return /sessions\.json is written again/.test(text) ? text : null;
    });
    expect(log).toMatch(/\d+ log line\(s\) could not be written \(ENOSPC/);

    // A restart finds what was answered: d1, never d9.
    const stopped = await runCli(home, ['daemon', 'stop']);
    expect(stopped.exitCode, stopped.stderr).toBe(0);
    await waitFor('the daemon to exit', () => !isAlive(daemonPid));
    expect(await persistedSessionIds(home)).toEqual(['d1']);
    const restarted = await waitFor('d1 to reconnect to the next daemon', async () => {
      const sessions = await list();
      return sessions.length === 1 && sessions[0]?.status === 'connected' ? sessions : null;
    }, 20_000);
    expect(restarted[0]?.id).toBe('d1');
    expect(await tempFiles()).toEqual([]);
  }, 90_000);
});
