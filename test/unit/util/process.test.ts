import { spawn } from 'node:child_process';
import { mkdtempSync, readdirSync, rmSync, symlinkSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { isErrno } from '../../../src/util/files.js';
import { isProcessAlive, liveProcesses, readProcStat } from '../../../src/util/process.js';

const linux = process.platform === 'linux';
const started: number[] = [];
afterEach(() => {
  for (const pid of started.splice(0)) {
    try {
      process.kill(pid, 'SIGKILL');
    } catch (err) {
      if (!isErrno(err, 'ESRCH')) throw err;
    }
  }
});

describe.runIf(linux)('/proc readers', () => {
  it('reads this process: its parent and a start time', async () => {
    const me = await readProcStat(process.pid);
    expect(me?.ppid).toBe(process.ppid);
    expect(me?.state).toMatch(/^[RSD]$/);
    expect(me?.start).toMatch(/^\d+$/);
  });

  it('reads a process whose name holds spaces and parentheses', async () => {
    const dir = mkdtempSync(path.join(os.tmpdir(), 'procstat-'));
    const odd = path.join(dir, 'a) b (c');
    symlinkSync('/bin/sleep', odd);
    const child = spawn(odd, ['30'], { stdio: 'ignore', detached: true });
    started.push(child.pid ?? 0);
    await new Promise((r) => setTimeout(r, 100));
    const stat = await readProcStat(child.pid ?? 0);
    rmSync(dir, { recursive: true });
    expect(stat?.ppid).toBe(process.pid);
    // detached: it leads its own session and process group.
    expect(stat?.sid).toBe(child.pid);
    expect(stat?.pgrp).toBe(child.pid);
    expect((await liveProcesses()).map((p) => p.pid)).toContain(child.pid);
  });

  it('a zombie is neither alive nor listed; a pid that does not exist reads as null', async () => {
    // A child that exits while we have not reaped it stays a zombie until Node's handler runs; read it before that
    // from a second process tree: sh starts `true` and sleeps without waiting for it.
    const child = spawn('sh', ['-c', 'true & exec sleep 30'], { stdio: 'ignore' });
    started.push(child.pid ?? 0);
    await new Promise((r) => setTimeout(r, 200));
    const zombie = (await liveProcesses()).find((p) => p.ppid === child.pid);
    expect(zombie).toBeUndefined();
    const all = await Promise.all(readdirSync('/proc').filter((e) => /^\d+$/.test(e)).map((e) => readProcStat(Number(e))));
    const z = all.find((p) => p?.ppid === child.pid);
    expect(z?.state).toBe('Z');
    expect(await isProcessAlive(z?.pid ?? 0)).toBe(false);
    expect(await isProcessAlive(child.pid ?? 0)).toBe(true);
    expect(await readProcStat(2 ** 22 + 1)).toBeNull();
  });
});
