import { existsSync, promises as fs } from 'node:fs';
import path from 'node:path';
import { execa } from 'execa';
import { describe, expect, it } from 'vitest';
import { parseJson, runCli } from '../helpers/cli.js';
import { liveDaemon, sparesOf, useHomes } from '../helpers/daemon.js';
import { BIN, NOTHING_MORE_MS, ROOT, isAlive, sleep, testEnv, waitFor } from '../helpers/env.js';
import { spawnJson } from '../helpers/sessions.js';
import type { SessionObject } from '../../src/protocol/session.js';

/**
 * `spawn` → the program's first output (issue 24): `telepty spawn` runs from a bundle without commander
 * (dist/bundle/spawn.cjs, src/spawn-fast.ts), and the daemon hands each spawn a host it started ahead (a spare:
 * src/daemon/sessions/spare-host.ts).
 */
const homes = useHomes();
const RECORDER = path.join(ROOT, 'test', 'fixtures', 'record-loads.mjs');

/** The ES modules of dist/ a CLI run loads (the recorder sees ES modules; the bundles are CommonJS). */
async function esModulesOf(home: string, args: string[]): Promise<{ exitCode: number; stdout: string; loaded: string[] }> {
  const file = path.join(home, 'loads.txt');
  const r = await execa(process.execPath, ['--import', RECORDER, BIN, ...args], { env: testEnv(home, { TELEPTY_TEST_LOADS_FILE: file }), extendEnv: false, reject: false, stdin: 'ignore', timeout: 30_000 });
  const root = `file://${ROOT.replace(/\/$/, '')}/`;
  const loaded = (await fs.readFile(file, 'utf8').catch(() => '')).split('\n').filter((u) => u.startsWith(root)).map((u) => u.slice(root.length));
  return { exitCode: r.exitCode ?? -1, stdout: String(r.stdout), loaded };
}

describe('telepty spawn, the fast path', () => {
  it('runs the ordinary form from the bundle: neither the full CLI nor commander is loaded', async () => {
    expect(existsSync(path.join(ROOT, 'dist', 'bundle', 'spawn.cjs'))).toBe(true);
    const home = homes.newHome();
    const r = await esModulesOf(home, ['spawn', '--id', 'quick', '--env', 'GREETING=hi there', '--tag', 'a,b', '--json', '--', 'sh', '-c', 'echo "$GREETING"; exec sleep 60']);
    expect(r.exitCode).toBe(0);
    expect(r.loaded).toEqual(['bin/telepty.js']);
    const s = JSON.parse(r.stdout) as SessionObject;
    expect(s).toMatchObject({ id: 'quick', command: 'sh', args: ['-c', 'echo "$GREETING"; exec sleep 60'], tags: ['a', 'b'] });
    await waitFor('the greeting', async () => (await runCli(home, ['read', 'quick'])).stdout.includes('hi there'));
  });

  it('hands help, bad values, unknown options and the form without -- to the full CLI', async () => {
    const home = homes.newHome();
    const help = await runCli(home, ['spawn', '--help']);
    expect(help.exitCode).toBe(0);
    expect(help.stdout).toContain('Usage: telepty spawn');
    const bad = await runCli(home, ['spawn', '--cols', '1', '--', 'sh']);
    expect(bad.exitCode).toBe(2);
    expect(bad.stderr).toContain('--cols must be an integer 2-1000');
    const unknown = await runCli(home, ['spawn', '--no-such-option', '--', 'sh']);
    expect(unknown.exitCode).toBe(2);
    expect(unknown.stderr).toContain("unknown option '--no-such-option'");
    expect(await liveDaemon(home)).toBeNull(); // none of them needed a daemon
    const plain = await runCli(home, ['spawn', '--id', 'plain', 'sleep', '60']);
    expect(plain.exitCode, plain.stderr).toBe(0);
    expect(plain.stdout.trim()).toBe('plain');
  });
});

describe('the spare session host', () => {
  it('is started once the daemon has spawned, is handed the next spawn, and ends with the daemon', async () => {
    const home = homes.newHome();
    expect((await runCli(home, ['daemon', 'start'])).exitCode).toBe(0);
    expect(await sparesOf(home)).toEqual([]); // a daemon that has not spawned keeps none
    await spawnJson(home, ['--id', 'one', '--', 'sleep', '60']);
    const [spare] = await waitFor('a spare host', async () => {
      const s = await sparesOf(home);
      return s.length === 1 ? s : null;
    });
    const two = await spawnJson(home, ['--id', 'two', '--', 'sh', '-c', 'echo from-the-spare; exec sleep 60']);
    expect(two.host_pid).toBe(spare);
    await waitFor('its output', async () => (await runCli(home, ['read', 'two'])).stdout.includes('from-the-spare'));
    // Its log is the session's, as any host's.
    expect(await fs.readFile(path.join(home, 'hosts', 'two.log'), 'utf8')).toMatch(/\[host two\] started sh/);
    const next = await waitFor('the next spare', async () => {
      const s = await sparesOf(home);
      return s.length === 1 && s[0] !== spare ? s[0] : null;
    });
    expect((await runCli(home, ['daemon', 'stop'])).exitCode).toBe(0);
    await waitFor('the spare to end with its daemon', () => !isAlive(next as number));
    // The sessions stay (their hosts outlive the daemon); the spare's empty log is removed by the next daemon's.
    expect(isAlive(two.host_pid as number)).toBe(true);
    const spareLogs = async () => (await fs.readdir(path.join(home, 'hosts'))).filter((n) => /^spare-[0-9a-f]+\.log$/.test(n));
    const stale = await spareLogs();
    expect(stale).toHaveLength(1);
    await spawnJson(home, ['--id', 'three', '--', 'sleep', '60']);
    await waitFor('the next daemon\'s spare, and the stale log gone', async () => (await sparesOf(home)).length === 1 && !(await spareLogs()).includes(stale[0] as string));
    const list = parseJson<SessionObject[]>(await runCli(home, ['list', '--json']));
    expect(list.map((s) => s.id).sort()).toEqual(['one', 'three', 'two']);
  });

  it('waits with node-pty loaded (its native module mapped), so a spawn waits for no loading', async () => {
    const home = homes.newHome();
    await spawnJson(home, ['--id', 'one', '--', 'sleep', '60']);
    const spare = await waitFor('a spare host', async () => (await sparesOf(home))[0] ?? null);
    await waitFor('node-pty loaded in the spare', async () => (await fs.readFile(`/proc/${spare}/maps`, 'utf8').catch(() => '')).includes('/pty.node'));
  });

  it('runs without NODE_EXTRA_CA_CERTS (a host makes no TLS connection), while its program keeps it', async () => {
    const home = homes.newHome();
    const certs = path.join(home, 'extra-ca.pem');
    await fs.writeFile(certs, '');
    const env = { NODE_EXTRA_CA_CERTS: certs };
    expect((await runCli(home, ['daemon', 'start'], { env })).exitCode).toBe(0);
    let spare: number | null = null;
    for (const id of ['first', 'spared']) {
      const s = await spawnJson(home, ['--id', id, '--', 'sh', '-c', 'echo "ca=$NODE_EXTRA_CA_CERTS"; exec sleep 60'], env);
      if (spare !== null) expect(s.host_pid).toBe(spare);
      const hostEnv = (await fs.readFile(`/proc/${s.host_pid}/environ`, 'utf8')).split('\0');
      expect(hostEnv.some((e) => e.startsWith('TELEPTY_HOME='))).toBe(true);
      expect(hostEnv.filter((e) => e.startsWith('NODE_EXTRA_CA_CERTS='))).toEqual([]);
      await waitFor(`${id}'s program sees it`, async () => (await runCli(home, ['read', id])).stdout.includes(`ca=${certs}`));
      if (id === 'first') spare = await waitFor('a spare host', async () => (await sparesOf(home))[0] ?? null);
    }
  });

  it('is not kept with TELEPTY_SPARE_HOST=0', async () => {
    const home = homes.newHome();
    const env = { TELEPTY_SPARE_HOST: '0' };
    expect((await runCli(home, ['daemon', 'start'], { env })).exitCode).toBe(0);
    await spawnJson(home, ['--id', 'one', '--', 'sleep', '60'], env);
    await spawnJson(home, ['--id', 'two', '--', 'sleep', '60'], env);
    // A spare starts within milliseconds of a spawn's answer when kept: none after two.
    await sleep(NOTHING_MORE_MS);
    expect(await sparesOf(home)).toEqual([]);
  });
});
