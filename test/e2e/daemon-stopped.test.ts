import { promises as fs } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { parseJson, runCli } from '../helpers/cli.js';
import { useHomes } from '../helpers/daemon.js';
import { freePort, isAlive } from '../helpers/env.js';

const homes = useHomes();

describe('a daemon stopped with SIGSTOP (Ctrl-Z) is alive', () => {
  it('`daemon stop` says it is not answering (exit 5), keeps its state file and does nothing to it; once resumed, stop stops it', async () => {
    const home = homes.newHome();
    const started = parseJson<{ pid: number; port: number; state_file: string }>(await runCli(home, ['daemon', 'start', '--json']));
    process.kill(started.pid, 'SIGSTOP');
    try {
      const r = await runCli(home, ['daemon', 'stop', '--json']);
      expect(r.exitCode, r.stdout + r.stderr).toBe(5);
      expect(parseJson(r)).toMatchObject({ code: 'TIMEOUT', not_answering: { pid: started.pid, port: started.port } });
      expect(String(parseJson(r).error)).toMatch(new RegExp(`not answering: pid ${started.pid}.*state file is kept.*kill -CONT ${started.pid}`));
      const text = await runCli(home, ['daemon', 'stop']);
      expect(text.exitCode).toBe(5);
      expect(text.stdout).not.toMatch(/not running|stale/);
      await fs.access(started.state_file); // kept: the file of a live process is never deleted
      expect(isAlive(started.pid)).toBe(true);
      // status agrees: not answering, not stale.
      expect(parseJson(await runCli(home, ['daemon', 'status', '--json']))).toMatchObject({ stale_state: false, not_answering: { pid: started.pid } });
    } finally {
      process.kill(started.pid, 'SIGCONT');
    }
    const stopped = await runCli(home, ['daemon', 'stop', '--json']);
    expect(stopped.exitCode, stopped.stderr).toBe(0);
    expect(parseJson(stopped)).toMatchObject({ stopped: true, pid: started.pid });
  }, 60_000);

  it('a state file naming a live pid with nothing at its address is stale (another program reuses the pid): stop removes it', async () => {
    const home = homes.newHome();
    const file = path.join(home, 'daemon.json');
    const record = { state_version: 1, pid: process.pid, host: '127.0.0.1', port: await freePort(), version: '0', started_at: '', nonce: 'z'.repeat(32) };
    await fs.writeFile(file, JSON.stringify(record));
    expect(parseJson(await runCli(home, ['daemon', 'status', '--json']))).toMatchObject({ stale_state: true });
    const r = await runCli(home, ['daemon', 'stop', '--json']);
    expect(r.exitCode, r.stderr).toBe(0);
    expect(parseJson(r)).toMatchObject({ running: false, stopped: false, removed_stale_state: true });
    await expect(fs.access(file)).rejects.toThrow();
  });
});
