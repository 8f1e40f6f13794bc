import { spawn } from 'node:child_process';
import { promises as fs } from 'node:fs';
import { once } from 'node:events';
import http from 'node:http';
import net from 'node:net';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { STATE_FILE_VERSION, type DaemonRecord } from '../../src/protocol/daemon-state.js';
import type { MetaResponse } from '../../src/protocol/meta.js';
import { rawRequest, type RawAnswer } from '../helpers/api.js';
import { parseJson, runCli, spawnCli, type CliResult } from '../helpers/cli.js';
import { daemonsOf, liveDaemon, useHomes } from '../helpers/daemon.js';
import { freePort, isAlive, waitFor } from '../helpers/env.js';

const homes = useHomes();

/** A state-file record naming `pid` at 127.0.0.1:`port` that no telepty daemon wrote (nonce of `nonceChar`s). */
function recordNaming(pid: number, port: number, nonceChar: string): DaemonRecord {
  return { state_version: STATE_FILE_VERSION, pid, host: '127.0.0.1', port, version: '0.0.1', started_at: new Date().toISOString(), nonce: nonceChar.repeat(32) };
}

/** A file's text for a failure report, or why it could not be read. */
const textOrWhy = (file: string): Promise<string> => fs.readFile(file, 'utf8').catch((err: Error) => `(${err.message})`);

/** True when something accepts TCP connections on 127.0.0.1:port (nothing is sent). */
function accepts(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = net.connect({ host: '127.0.0.1', port });
    socket.once('connect', () => {
      socket.destroy();
      resolve(true);
    });
    socket.once('error', () => resolve(false));
  });
}

const JSON_TYPE = { 'content-type': 'application/json' };
/** A raw request's status and JSON body (what these tests compare whole). */
async function statusAndJson(answer: Promise<RawAnswer>): Promise<{ status: number; json: Record<string, unknown> }> {
  const { status, json } = await answer;
  return { status, json };
}

describe('daemon lifecycle', () => {
  it('auto-starts on `meta --json`, reports through `daemon status --json`, and `daemon stop` removes the state file', async () => {
    const home = homes.newHome();
    const meta = parseJson<MetaResponse>(await runCli(home, ['meta', '--json']));
    expect(meta).toMatchObject({ name: 'telepty', host: '127.0.0.1' });
    expect(meta.capabilities).toContain('singleton-daemon');
    expect(isAlive(meta.pid)).toBe(true);

    const status = await runCli(home, ['daemon', 'status', '--json']);
    expect(status.exitCode).toBe(0);
    expect(parseJson(status)).toMatchObject({ running: true, pid: meta.pid, port: meta.port });

    const stop = await runCli(home, ['daemon', 'stop', '--json']);
    expect(stop.exitCode).toBe(0);
    expect(parseJson(stop)).toMatchObject({ stopped: true, pid: meta.pid });
    expect(isAlive(meta.pid)).toBe(false);
    await expect(fs.access(path.join(home, 'daemon.json'))).rejects.toThrow();

    const after = await runCli(home, ['daemon', 'status', '--json']);
    expect(after.exitCode).toBe(3);
    expect(parseJson(after)).toMatchObject({ running: false });
  });

  it('creates the token file with mode 0600 on first start', async () => {
    const home = homes.newHome();
    await runCli(home, ['daemon', 'start']);
    const stat = await fs.stat(path.join(home, 'token'));
    expect(stat.mode & 0o777).toBe(0o600);
    expect((await fs.readFile(path.join(home, 'token'), 'utf8')).trim()).toMatch(/^[0-9a-f]{64}$/);
  });

  it('`daemon start` waits until the daemon answers and says so when one already runs', async () => {
    const home = homes.newHome();
    const first = parseJson(await runCli(home, ['daemon', 'start', '--json']));
    expect(first).toMatchObject({ running: true, started: true });
    const second = await runCli(home, ['daemon', 'start']);
    expect(second.exitCode).toBe(0);
    expect(second.stdout).toMatch(/already running \(pid \d+, port \d+\)/);
  });

  it('gives exactly one daemon when several start at the same moment', async () => {
    const home = homes.newHome();
    const runs = await Promise.all(
      Array.from({ length: 4 }, () => {
        const p = spawnCli(home, ['daemon'], { timeout: 20_000 });
        // The winner keeps serving in the foreground: stop it once everyone has decided.
        return p;
      }).map(async (p, i, all) => {
        if (i === 0) {
          await waitFor('a daemon to serve', () => liveDaemon(home));
          // Give the losers time to reach their decision, then stop the winner.
          await waitFor('the losers to exit', async () => (await Promise.all(all.map((q) => q.pid !== undefined && isAlive(q.pid)))).filter(Boolean).length === 1, 15_000);
          const live = await liveDaemon(home);
          if (live) process.kill(live.record.pid, 'SIGTERM');
        }
        return p;
      }),
    );
    const serving = runs.filter((r) => !/already running/.test(String(r.stdout)));
    const declined = runs.filter((r) => /already running \(pid \d+, port \d+/.test(String(r.stdout)));
    expect(serving).toHaveLength(1);
    expect(declined).toHaveLength(3);
    for (const r of runs) expect(r.exitCode).toBe(0);
  });

  it('gives exactly one daemon when several start at the same moment on one fixed port', async () => {
    const home = homes.newHome();
    const port = await freePort();
    const env = { TELEPTY_PORT: String(port) };
    const results = await Promise.all(Array.from({ length: 3 }, () => runCli(home, ['daemon', 'start'], { env })));
    const live = await liveDaemon(home);
    const state = await textOrWhy(path.join(home, 'daemon.json'));
    // Every starter's output, the state file and the daemon log: a failure here explains itself.
    const report = [
      ...results.map((r, i) => `starter ${i}: exit ${r.exitCode}\n  stdout: ${r.stdout}\n  stderr: ${r.stderr}`),
      `daemon.json: ${state}`,
      `daemon.log:\n${await textOrWhy(path.join(home, 'daemon.log'))}`,
    ].join('\n');
    for (const r of results) expect(r.exitCode, report).toBe(0);
    expect(live?.record.port, report).toBe(port);
    const pid = live?.record.pid;
    // Exactly one starter reports the daemon it started; every other one names that same daemon as already running.
    const started = results.filter((r) => r.stdout.trim() === `telepty daemon started (pid ${pid}, port ${port})`);
    const declined = results.filter((r) => r.stdout.trim() === `telepty daemon already running (pid ${pid}, port ${port})`);
    expect(started, report).toHaveLength(1);
    expect(declined, report).toHaveLength(2);
    // And exactly one daemon process is left serving this home (the losers of the claim exited).
    await waitFor('the losing daemons to exit', async () => (await daemonsOf(home)).length === 1);
    expect(await daemonsOf(home)).toEqual([pid]);
  });

  it('`daemon start` on a fixed port returns only once the daemon it reports holds the state file', async () => {
    // A daemon listens before it claims the state file. Here its claim is held up for real: daemon.json names a
    // dead daemon and another process holds the replace lock (as one clearing that stale file does). Meanwhile
    // the new daemon already listens on the fixed port, where a starter also looks for it.
    const home = homes.newHome();
    const port = await freePort();
    const deadPort = await freePort();
    const gone = spawn('true');
    await once(gone, 'exit');
    const stale = recordNaming(gone.pid as number, deadPort, 'e');
    const lockFile = path.join(home, 'daemon.json.lock');
    await fs.writeFile(path.join(home, 'daemon.json'), JSON.stringify(stale));
    await fs.writeFile(lockFile, JSON.stringify({ pid: gone.pid, at: Date.now() }));

    let result: CliResult | undefined;
    const starting = runCli(home, ['daemon', 'start'], { env: { TELEPTY_PORT: String(port) } }).then((r) => (result = r));
    // Keep the lock while the new daemon listens unclaimed (300 ms: well within its claim retries), or until the
    // starter has returned: whatever it reported must be true while the lock is still held.
    await waitFor('the new daemon to listen', async () => result ?? (await accepts(port)), 15_000, 10);
    const holdUntil = Date.now() + 300;
    await waitFor('the lock to have been held', () => result ?? Date.now() >= holdUntil, 5_000, 10);
    const liveAtReturn = result ? await liveDaemon(home) : undefined;
    await fs.rm(lockFile, { force: true });
    const r = await starting;
    const live = liveAtReturn === undefined ? await liveDaemon(home) : liveAtReturn;
    const report = `exit ${r.exitCode}\nstdout: ${r.stdout}\nstderr: ${r.stderr}\ndaemon.json: ${await textOrWhy(path.join(home, 'daemon.json'))}`;
    expect(r.exitCode, report).toBe(0);
    expect(live?.record.port, report).toBe(port);
    expect(r.stdout.trim(), report).toBe(`telepty daemon started (pid ${live?.record.pid}, port ${port})`);
  });

  it('neither trusts nor signals a live unrelated process named by the state file', async () => {
    const home = homes.newHome();
    const sleeper = spawn('sleep', ['60'], { stdio: 'ignore' });
    homes.track(sleeper.pid as number);
    const decoyPort = await freePort();
    const forged = recordNaming(sleeper.pid as number, decoyPort, 'f');
    await fs.writeFile(path.join(home, 'daemon.json'), JSON.stringify(forged));

    expect((await runCli(home, ['daemon', 'status'])).exitCode).toBe(3);
    const stop = await runCli(home, ['daemon', 'stop', '--json']);
    expect(parseJson(stop)).toMatchObject({ running: false, stopped: false });
    expect(isAlive(sleeper.pid as number)).toBe(true);

    await fs.writeFile(path.join(home, 'daemon.json'), JSON.stringify(forged));
    const meta = parseJson<MetaResponse>(await runCli(home, ['meta', '--json']));
    expect(meta.pid).not.toBe(sleeper.pid);
    expect(isAlive(sleeper.pid as number)).toBe(true);
    sleeper.kill('SIGKILL');
  });

  it('does not trust an unrelated HTTP server at the recorded address', async () => {
    const home = homes.newHome();
    const impostor = http.createServer((_req, res) => res.end(JSON.stringify({ name: 'telepty', pid: process.pid, nonce: 'x'.repeat(32), capabilities: [] })));
    await new Promise<void>((r) => impostor.listen(0, '127.0.0.1', r));
    const port = (impostor.address() as { port: number }).port;
    await fs.writeFile(
      path.join(home, 'daemon.json'),
      JSON.stringify({ state_version: 1, pid: process.pid, host: '127.0.0.1', port, version: '0', started_at: '', nonce: 'y'.repeat(32) }),
    );
    const meta = parseJson<MetaResponse>(await runCli(home, ['meta', '--json']));
    expect(meta.port).not.toBe(port);
    expect(meta.pid).not.toBe(process.pid);
    impostor.close();
  });

  it('recovers from the state file left by a SIGKILLed daemon', async () => {
    const home = homes.newHome();
    const first = parseJson<MetaResponse>(await runCli(home, ['meta', '--json']));
    process.kill(first.pid, 'SIGKILL');
    await waitFor('the daemon to die', () => !isAlive(first.pid));
    await fs.access(path.join(home, 'daemon.json')); // left behind
    const second = parseJson<MetaResponse>(await runCli(home, ['meta', '--json']));
    expect(second.pid).not.toBe(first.pid);
    expect(second.nonce).not.toBe(first.nonce);
  });

  it('fails at once (exit 1, naming the folder) when TELEPTY_HOME cannot be made, instead of spinning forever', async () => {
    // /proc answers ENOENT for a new folder in it: Node's `mkdir -p` retried that forever at full CPU.
    const r = await runCli('/proc/telepty-test-home', ['list'], { timeout: 10_000 });
    expect(r.exitCode, r.stderr).toBe(1);
    expect(r.stderr).toMatch(/ENOENT: no such file or directory, mkdir '\/proc\/telepty-test-home'/);
  });

  it('`daemon status` of a stopped (Ctrl-Z) daemon says it is not answering, not that its state file is stale', async () => {
    const home = homes.newHome();
    const started = parseJson<{ pid: number; port: number }>(await runCli(home, ['daemon', 'start', '--json']));
    process.kill(started.pid, 'SIGSTOP');
    try {
      const r = await runCli(home, ['daemon', 'status', '--json']);
      expect(r.exitCode).toBe(3);
      expect(parseJson(r)).toMatchObject({ running: false, stale_state: false, not_answering: { pid: started.pid, port: started.port } });
      const text = await runCli(home, ['daemon', 'status']);
      expect(text.stdout).toMatch(new RegExp(`not answering: pid ${started.pid}, named by the state file, is alive`));
      expect(text.stdout).not.toMatch(/stale/);
    } finally {
      process.kill(started.pid, 'SIGCONT');
    }
  }, 40_000);

  it('honours TELEPTY_PORT when auto-starting', async () => {
    const home = homes.newHome();
    const port = await freePort();
    const r = await runCli(home, ['meta', '--json'], { env: { TELEPTY_PORT: String(port) } });
    expect(parseJson<MetaResponse>(r).port).toBe(port);
  });

  it('fails with a message naming the log file and exit code 1 when the daemon cannot start', async () => {
    const home = homes.newHome();
    const blocker = http.createServer((_req, res) => res.end('not telepty'));
    await new Promise<void>((r) => blocker.listen(0, '127.0.0.1', r));
    const port = (blocker.address() as { port: number }).port;
    const r = await runCli(home, ['meta'], { env: { TELEPTY_PORT: String(port), TELEPTY_ADDRESS_WAIT_MS: '200' } });
    blocker.close();
    expect(r.exitCode).toBe(1);
    expect(r.stderr).toContain(path.join(home, 'daemon.log'));
    expect(r.stderr).toMatch(/did not start/);
    expect(await fs.readFile(path.join(home, 'daemon.log'), 'utf8')).toMatch(/in use by another program/);
  });
});

const FAKE_DAEMON = fileURLToPath(new URL('../fixtures/fake-daemon.mjs', import.meta.url));

/** Start the stand-in daemon of fixtures/fake-daemon.mjs in `home`; resolves once it has claimed the state file. */
async function fakeDaemon(home: string, mode: 'ignore' | 'replaced' | 'mute'): Promise<{ pid: number; signals: () => Promise<string> }> {
  const signalFile = path.join(home, 'signals.txt');
  const child = spawn(process.execPath, [FAKE_DAEMON, path.join(home, 'daemon.json'), mode, signalFile], { stdio: ['ignore', 'pipe', 'inherit'] });
  const pid = child.pid as number;
  homes.track(pid);
  await new Promise<void>((resolve, reject) => {
    child.once('exit', (code) => reject(new Error(`fake daemon exited early (${code})`)));
    child.stdout.once('data', () => resolve());
  });
  return { pid, signals: () => fs.readFile(signalFile, 'utf8').catch(() => '') };
}

describe('daemon stop', () => {
  it('SIGTERMs a daemon that ignores the stop request while it still proves its identity', async () => {
    const home = homes.newHome();
    const fake = await fakeDaemon(home, 'ignore');
    const stop = await runCli(home, ['daemon', 'stop', '--json', '--timeout', '1']);
    expect(stop.exitCode, stop.stderr).toBe(0);
    expect(parseJson(stop)).toMatchObject({ stopped: true, pid: fake.pid });
    expect(await fake.signals()).toBe('SIGTERM\n');
    await waitFor('the fake daemon to exit', () => !isAlive(fake.pid));
  });

  it('counts a daemon replaced by another one while it stopped as stopped, and signals nothing', async () => {
    const home = homes.newHome();
    const fake = await fakeDaemon(home, 'replaced');
    const stop = await runCli(home, ['daemon', 'stop', '--json', '--timeout', '1']);
    expect(stop.exitCode, stop.stderr).toBe(0);
    expect(parseJson(stop)).toMatchObject({ stopped: true, pid: fake.pid });
    expect(await fake.signals()).toBe('');
    expect(isAlive(fake.pid)).toBe(true);
  });

  it('never signals a pid that no longer proves its identity, and exits 5 when it did not stop', async () => {
    const home = homes.newHome();
    const fake = await fakeDaemon(home, 'mute');
    const stop = await runCli(home, ['daemon', 'stop', '--json', '--timeout', '1']);
    expect(stop.exitCode).toBe(5);
    expect(stop.stderr).toMatch(/did not stop/);
    expect(await fake.signals()).toBe('');
    expect(isAlive(fake.pid)).toBe(true);
  });

  it('refuses a bad --timeout or --port (exit 2) before it stops anything: the daemon keeps running', async () => {
    const home = homes.newHome();
    const first = parseJson<{ pid: number }>(await runCli(home, ['daemon', 'start', '--json']));
    for (const args of [
      ['daemon', 'stop', '--timeout', 'abc'],
      ['daemon', 'stop', '--timeout', '-5'],
      ['daemon', 'restart', '--timeout', 'abc'],
      ['daemon', 'restart', '--port', 'abc'],
    ]) {
      const r = await runCli(home, args);
      expect(r.exitCode, `${args.join(' ')}: ${r.stderr}`).toBe(2);
      expect(r.stderr, args.join(' ')).toMatch(/--(timeout|port) (takes seconds|must be a port number)/);
      expect(isAlive(first.pid), `${args.join(' ')} left the daemon running`).toBe(true);
    }
    expect((await liveDaemon(home))?.meta.pid).toBe(first.pid);
  });
});

describe('daemon HTTP edge', () => {
  it('answers bad JSON with 400 and an oversized body with 413, and keeps serving', async () => {
    const home = homes.newHome();
    const meta = parseJson<MetaResponse>(await runCli(home, ['meta', '--json']));
    const bad = await statusAndJson(rawRequest(meta.port, 'POST', '/api/daemon/stop', { body: '{"oops"', headers: JSON_TYPE }));
    expect(bad).toEqual({ status: 400, json: expect.objectContaining({ code: 'INVALID_JSON', error: expect.any(String) }) });

    const big = await rawRequest(meta.port, 'POST', '/api/daemon/stop', { body: Buffer.alloc(10 * 1024 * 1024, 0x20), headers: JSON_TYPE });
    expect(big.status).toBe(413);
    expect(big.json.code).toBe('PAYLOAD_TOO_LARGE');

    const notJson = await rawRequest(meta.port, 'POST', '/api/daemon/stop', { body: '{}', headers: { 'content-type': 'text/plain' } });
    expect(notJson.status).toBe(415);

    const unknown = await statusAndJson(rawRequest(meta.port, 'GET', '/api/does-not-exist', { headers: JSON_TYPE }));
    expect(unknown).toEqual({ status: 404, json: expect.objectContaining({ code: 'NOT_FOUND' }) });

    const health = await statusAndJson(rawRequest(meta.port, 'GET', '/api/health', { headers: JSON_TYPE }));
    expect(health).toEqual({ status: 200, json: { status: 'ok' } });
    expect(isAlive(meta.pid)).toBe(true);
  });
});

describe('cli', () => {
  it('prints its version and exits 0', async () => {
    const r = await runCli(homes.newHome(), ['--version']);
    expect(r.exitCode).toBe(0);
    const pkg = JSON.parse(await fs.readFile(new URL('../../package.json', import.meta.url), 'utf8')) as { version: string };
    expect(r.stdout.trim()).toBe(pkg.version);
  });

  it('exits 2 on an unknown command or option', async () => {
    const home = homes.newHome();
    expect((await runCli(home, ['no-such-command'])).exitCode).toBe(2);
    expect((await runCli(home, ['meta', '--no-such-option'])).exitCode).toBe(2);
  });

  it('lists only the commands that exist, with examples in their help', async () => {
    const home = homes.newHome();
    const help = await runCli(home, ['--help']);
    expect(help.stdout).toMatch(/daemon/);
    expect(help.stdout).toMatch(/meta/);
    const metaHelp = await runCli(home, ['meta', '--help']);
    expect(metaHelp.stdout).toMatch(/Examples:/);
    expect(metaHelp.exitCode).toBe(0);
  });
});
