import { spawn, type ChildProcess } from 'node:child_process';
import { afterEach, describe, expect, it } from 'vitest';
import { SESSION_INSTANCE_ENV, endOrphans, findOrphans, processStartTime } from '../../../../src/daemon/sessions/orphans.js';
import { isAlive, waitFor } from '../../../helpers/env.js';

const children: ChildProcess[] = [];
afterEach(() => {
  for (const c of children.splice(0)) if (c.pid && isAlive(c.pid)) c.kill('SIGKILL');
});

/** A real process in its own session (as a spawned session's child is), carrying `instance` as its marker. */
function sessionLeader(instance: string): number {
  const c = spawn('sleep', ['100004'], { detached: true, stdio: 'ignore', env: { ...process.env, [SESSION_INSTANCE_ENV]: instance } });
  children.push(c);
  return c.pid ?? 0;
}

describe('orphans of a dead host', () => {
  it('are the session of the child named by pid and start time, never a process that reuses the pid', async () => {
    const pid = sessionLeader('inst-a');
    const start = await waitFor('the start time', () => processStartTime(pid));
    expect((await findOrphans({ pid, pidStart: start, instance: 'other' })).map((p) => p.pid)).toEqual([pid]);
    // Same pid, another start time: the kernel gave the pid to another process; it is not signalled.
    expect(await findOrphans({ pid, pidStart: String(BigInt(start) + 1n), instance: 'other' })).toEqual([]);
  });

  it('are found by their marker once they left the session, and only those started since the child', async () => {
    const pid = sessionLeader('inst-b');
    const start = await waitFor('the start time', () => processStartTime(pid));
    expect((await findOrphans({ pid: null, pidStart: null, instance: 'inst-b' })).map((p) => p.pid)).toEqual([pid]);
    expect(await findOrphans({ pid: null, pidStart: String(BigInt(start) + 1_000_000n), instance: 'inst-b' })).toEqual([]);
  });

  it('are ended, and counted', async () => {
    const pid = sessionLeader('inst-c');
    const start = await waitFor('the start time', () => processStartTime(pid));
    expect(await endOrphans({ pid, pidStart: start, instance: 'inst-c' })).toBe(1);
    await waitFor('the orphan to be gone', () => !isAlive(pid));
    expect(await endOrphans({ pid, pidStart: start, instance: 'inst-c' })).toBe(0);
  });
});
