import { promises as fs } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import WebSocket from 'ws';
import type { MetaResponse } from '../../src/protocol/meta.js';
import type { SessionObject } from '../../src/protocol/session.js';
import { parseJson, runCli } from '../helpers/cli.js';
import { liveDaemon, useHomes } from '../helpers/daemon.js';
import { ensureDaemon } from '../../src/client/autostart.js';
import { loadConfig } from '../../src/util/config.js';
import { freePort, isAlive, sleep, testEnv, waitFor } from '../helpers/env.js';
import { FIXTURES, readSubmissions } from '../helpers/fixtures.js';

const homes = useHomes();
/**
 * How long a request (an inject, a viewer's upgrade) is given to reach a new daemon while the session's host is
 * held stopped: no event says it is waiting there (the daemon waits for the host silently), and if it came after
 * the host these tests would still pass without proving the wait.
 */
const REQUEST_ARRIVES_MS = 300;
/** Several claim checks at TELEPTY_CLAIM_CHECK_MS=100, during which the daemon must keep running. */
const SEVERAL_CLAIM_CHECKS_MS = 500;

/**
 * A home whose daemon runs on a fixed port chosen now (not port 0: the stale claim then names our own address).
 * The wait for live hosts after a restart is raised from 1 s: these tests assert that the first command answers
 * once the hosts are back, not how fast a loaded CI machine gets them back (that is the bench's row).
 */
async function fixedPortHome(): Promise<{ home: string; env: Record<string, string> }> {
  return { home: homes.newHome(), env: { TELEPTY_PORT: String(await freePort()), TELEPTY_RESTORED_HOSTS_WAIT_MS: '15000' } };
}

async function spawnReaders(home: string, env: Record<string, string>, ids: string[]): Promise<void> {
  for (const id of ids) {
    const log = path.join(home, `${id}.submissions`);
    const r = await runCli(home, ['spawn', '--id', id, '--env', `FIXTURE_LOG=${log}`, '--', process.execPath, path.join(FIXTURES, 'line-reader.mjs')], { env });
    expect(r.exitCode, r.stderr).toBe(0);
    await waitFor(`${id} to be ready`, async () => (await runCli(home, ['read', id], { env })).stdout.includes('ready'));
  }
}

const submissions = async (home: string, id: string): Promise<string[]> => (await readSubmissions(path.join(home, `${id}.submissions`))).map((x) => x.text);

async function killDaemon9(home: string): Promise<number> {
  const live = await liveDaemon(home);
  if (!live) throw new Error('no live daemon to kill');
  process.kill(live.record.pid, 'SIGKILL');
  await waitFor('the daemon to die', () => !isAlive(live.record.pid));
  return live.record.pid;
}

const listed = async (home: string, env: Record<string, string>): Promise<SessionObject[]> => {
  const r = await runCli(home, ['list', '--json'], { env });
  expect(r.exitCode, r.stderr).toBe(0);
  return parseJson<SessionObject[]>(r);
};

describe('daemon lifecycle: crash, stop, restart', () => {
  it('after kill -9 of the daemon on a fixed port, the next command succeeds and shows the live sessions connected', async () => {
    const { home, env } = await fixedPortHome();
    await spawnReaders(home, env, ['k1', 'k2', 'k3']);
    const dead = await killDaemon9(home);
    // The claim left behind names this very port: the next daemon must not wait on itself to judge it.
    const sessions = await listed(home, env);
    expect(sessions.map((s) => [s.id, s.status]).sort()).toEqual([
      ['k1', 'connected'],
      ['k2', 'connected'],
      ['k3', 'connected'],
    ]);
    expect((await liveDaemon(home))?.record.pid).not.toBe(dead);
  });

  it('the same when daemon.json names the configured port with an unrelated live pid', async () => {
    const { home, env } = await fixedPortHome();
    const first = parseJson<MetaResponse>(await runCli(home, ['meta', '--json'], { env }));
    await killDaemon9(home);
    const stale = JSON.parse(await fs.readFile(path.join(home, 'daemon.json'), 'utf8')) as Record<string, unknown>;
    await fs.writeFile(path.join(home, 'daemon.json'), JSON.stringify({ ...stale, pid: process.pid }));
    const r = await runCli(home, ['meta', '--json'], { env });
    expect(r.exitCode, r.stderr).toBe(0);
    expect(parseJson<MetaResponse>(r).port).toBe(first.port);
  });

  it('`daemon stop` then `inject` delivers (the first command waits for the live hosts to come back)', async () => {
    const { home, env } = await fixedPortHome();
    await spawnReaders(home, env, ['dev']);
    expect((await runCli(home, ['daemon', 'stop'], { env })).exitCode).toBe(0);
    const r = await runCli(home, ['inject', 'dev', 'after the stop'], { env });
    expect(r.exitCode, r.stderr).toBe(0);
    await waitFor('the prompt to arrive', async () => (await submissions(home, 'dev')).includes('after the stop'));
  });

  it('an inject that waited for its host after a restart is sent only once the host is welcomed, and delivered', async () => {
    const { home, env } = await fixedPortHome();
    await spawnReaders(home, env, ['late']);
    const hostPid = (await listed(home, env))[0]?.host_pid as number;
    // The host is held away until the inject is already waiting for it in the new daemon.
    process.kill(hostPid, 'SIGSTOP');
    try {
      expect((await runCli(home, ['daemon', 'stop'], { env })).exitCode).toBe(0);
      const pending = runCli(home, ['inject', 'late', 'after the wait'], { env });
      await waitFor('the new daemon', () => liveDaemon(home), 15_000);
      await sleep(REQUEST_ARRIVES_MS);
      process.kill(hostPid, 'SIGCONT');
      const r = await pending;
      expect(r.exitCode, r.stderr).toBe(0);
    } finally {
      process.kill(hostPid, 'SIGCONT');
    }
    await waitFor('the prompt to arrive', async () => (await submissions(home, 'late')).includes('after the wait'));
  });

  it('a viewer that attaches right after a restart waits for the session\'s host instead of being refused', async () => {
    const { home, env } = await fixedPortHome();
    const s = parseJson<SessionObject>(await runCli(home, ['spawn', '--json', '--id', 'watched', '--', 'sleep', '600'], { env }));
    const hostPid = s.host_pid as number;
    // Hold the host away while the daemon restarts, and let it come back only after the viewer asked.
    process.kill(hostPid, 'SIGSTOP');
    try {
      expect((await runCli(home, ['daemon', 'stop'], { env })).exitCode).toBe(0);
      expect((await runCli(home, ['daemon', 'start'], { env })).exitCode).toBe(0);
      const ws = new WebSocket(`ws://127.0.0.1:${env.TELEPTY_PORT}/api/sessions/watched`);
      const opened = new Promise<string>((resolve) => {
        ws.once('open', () => resolve('open'));
        ws.once('unexpected-response', (_req, res) => resolve(`refused ${res.statusCode}`));
        ws.once('error', (err) => resolve(`error ${err.message}`));
      });
      await sleep(REQUEST_ARRIVES_MS);
      process.kill(hostPid, 'SIGCONT');
      expect(await opened).toBe('open');
      ws.close();
    } finally {
      process.kill(hostPid, 'SIGCONT');
    }
  });

  it('after kill -9, every one of many sessions is listed connected by the first command', async () => {
    const { home, env } = await fixedPortHome();
    const ids = Array.from({ length: 6 }, (_, i) => `m${i}`);
    for (const id of ids) expect((await runCli(home, ['spawn', '--id', id, '--', 'sleep', '600'], { env })).exitCode).toBe(0);
    await killDaemon9(home);
    const sessions = await listed(home, env);
    expect(sessions.filter((s) => s.status === 'connected').map((s) => s.id).sort()).toEqual(ids);
  });

  it('`daemon restart` stops and starts the daemon and keeps every session', async () => {
    const { home, env } = await fixedPortHome();
    await spawnReaders(home, env, ['r1', 'r2']);
    const before = (await liveDaemon(home))?.record.pid;
    const r = await runCli(home, ['daemon', 'restart', '--json'], { env });
    expect(r.exitCode, r.stderr).toBe(0);
    const out = parseJson<{ restarted: boolean; previous_pid: number | null; pid: number; sessions: number; connected: number }>(r);
    expect(out.previous_pid).toBe(before);
    expect(out.pid).not.toBe(before);
    expect(out.sessions).toBe(2);
    expect(out.connected).toBe(2);
    expect((await listed(home, env)).map((s) => s.status)).toEqual(['connected', 'connected']);
    expect((await runCli(home, ['inject', 'r2', 'after restart'], { env })).exitCode).toBe(0);
    await waitFor('the prompt to arrive', async () => (await submissions(home, 'r2')).includes('after restart'));
  });
});

describe('daemon lifecycle: bad state', () => {
  it('a token file with a newline is never sent raw: commands work and the daemon replaces it on its next start', async () => {
    const home = homes.newHome();
    expect((await runCli(home, ['meta', '--json'])).exitCode).toBe(0);
    const tokenFile = path.join(home, 'token');
    await fs.writeFile(tokenFile, 'abcdefgh\nijklmnopqrstuvwxyz0123456789\n', { mode: 0o600 });
    const started = Date.now();
    const list = await runCli(home, ['list', '--json']);
    expect(list.exitCode, list.stderr).toBe(0);
    expect(list.stderr).toContain(tokenFile);
    expect(Date.now() - started).toBeLessThan(10_000);
    const status = await runCli(home, ['daemon', 'status', '--json']);
    expect(status.exitCode, status.stderr).toBe(0);
    expect(parseJson<{ running: boolean }>(status).running).toBe(true);
    expect((await runCli(home, ['daemon', 'stop'])).exitCode).toBe(0);
    expect(await liveDaemon(home)).toBeNull();
    expect((await runCli(home, ['meta', '--json'])).exitCode).toBe(0);
    const replaced = (await fs.readFile(tokenFile, 'utf8')).trim();
    expect(replaced).toMatch(/^[\x21-\x7e]{32,}$/);
    expect(await fs.readFile(path.join(home, 'daemon.log'), 'utf8')).toMatch(/token file .* (is not valid|was invalid)/);
  });

  it('garbage or an empty daemon.json written under a running daemon: it keeps running and rewrites its claim', async () => {
    const home = homes.newHome();
    const env = { TELEPTY_CLAIM_CHECK_MS: '100' };
    const meta = parseJson<MetaResponse>(await runCli(home, ['meta', '--json'], { env }));
    const stateFile = path.join(home, 'daemon.json');
    for (const junk of ['{ not json', '']) {
      await fs.writeFile(stateFile, junk);
      await waitFor('the claim to be rewritten', async () => (await liveDaemon(home))?.record.nonce === meta.nonce, 5_000);
    }
    await sleep(SEVERAL_CLAIM_CHECKS_MS);
    expect(isAlive(meta.pid)).toBe(true);
    const again = parseJson<MetaResponse>(await runCli(home, ['meta', '--json']));
    expect(again.nonce).toBe(meta.nonce);
  });

  it('a damaged daemon.json is rewritten at once (the daemon watches it), not only at the next claim check', async () => {
    const home = homes.newHome();
    const env = { TELEPTY_CLAIM_CHECK_MS: '600000' };
    const meta = parseJson<MetaResponse>(await runCli(home, ['meta', '--json'], { env }));
    await fs.writeFile(path.join(home, 'daemon.json'), 'garbage');
    await waitFor('the claim to be rewritten', async () => (await liveDaemon(home))?.record.nonce === meta.nonce, 5_000);
    const r = await runCli(home, ['meta', '--json']);
    expect(parseJson<MetaResponse>(r).nonce).toBe(meta.nonce);
  });

  it('two homes on one port: the CLI of the other home refuses the daemon and names the home it serves', async () => {
    const { home, env } = await fixedPortHome();
    await spawnReaders(home, env, ['mine']);
    const other = homes.newHome();
    for (const args of [['list'], ['spawn', '--id', 'intruder', '--', 'sleep', '60'], ['daemon', 'status'], ['wrap', '--id', 'wrapped-intruder', '--', 'sleep', '60']]) {
      const r = await runCli(other, args, { env });
      expect(r.exitCode, `${args.join(' ')}: ${r.stderr}`).toBe(1);
      expect(r.stderr).toContain('DAEMON_MISMATCH');
      expect(r.stderr).toContain(home);
    }
    expect((await listed(home, env)).map((s) => s.id)).toEqual(['mine']);
    // A daemon of the other home started on that port says at once whose port it is.
    const fg = await runCli(other, ['daemon'], { env: { ...env, TELEPTY_ADDRESS_WAIT_MS: '60000' }, timeout: 20_000 });
    expect(fg.exitCode).toBe(1);
    expect(fg.stderr).toContain(`held by the telepty daemon of another home (${home})`);
  });

  it('two homes, the port only a default (no TELEPTY_PORT): the other home\'s CLI refuses by name before starting anything', async () => {
    const { home, env } = await fixedPortHome();
    await spawnReaders(home, env, ['mine']);
    const other = homes.newHome();
    // The CLI's own config for the other home, as without TELEPTY_PORT: the port is its default, not asked for.
    const config = { ...(await loadConfig({ ...testEnv(other), TELEPTY_PORT: env.TELEPTY_PORT })), addressExplicit: false };
    const err = await ensureDaemon(config, { env: testEnv(other), token: undefined }).then(
      () => null,
      (e: unknown) => e,
    );
    expect(err).toMatchObject({ code: 'DAEMON_MISMATCH' });
    expect((err as Error).message).toContain(home);
    // Nothing was started for the other home.
    expect(await liveDaemon(other)).toBeNull();
    expect((await listed(home, env)).map((s) => s.id)).toEqual(['mine']);
  });
});

describe('daemon lifecycle: versions', () => {
  it('a CLI of another version than the running daemon says so once and suggests `telepty daemon restart`', async () => {
    const home = homes.newHome();
    const meta = parseJson<MetaResponse>(await runCli(home, ['meta', '--json']));
    const stateFile = path.join(home, 'daemon.json');
    const record = JSON.parse(await fs.readFile(stateFile, 'utf8')) as Record<string, unknown>;
    // The same daemon (same nonce and pid), as an older release would have recorded itself.
    await fs.writeFile(stateFile, `${JSON.stringify({ ...record, version: '0.0.1' }, null, 2)}\n`);
    const r = await runCli(home, ['list']);
    expect(r.exitCode, r.stderr).toBe(0);
    const notes = r.stderr.split('\n').filter((l) => l.includes('telepty daemon restart'));
    expect(notes).toHaveLength(1);
    expect(notes[0]).toContain('0.0.1');
    expect(notes[0]).toContain(meta.version);
    expect(notes[0]).toMatch(/older than this CLI/);
    // Same version: nothing is said.
    await fs.writeFile(stateFile, `${JSON.stringify(record, null, 2)}\n`);
    expect((await runCli(home, ['list'])).stderr).not.toContain('daemon restart');
  });
});
