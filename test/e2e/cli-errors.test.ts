import { promises as fs } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { parseJson, runCli } from '../helpers/cli.js';
import { useHomes } from '../helpers/daemon.js';
import { freePort } from '../helpers/env.js';

/** Bad settings and arguments a user meets: a clear message with a code, and the documented exit code. */
const homes = useHomes();

/** A non-loopback IPv4 address of this machine's interfaces, if it has one. */
const ownAddress = Object.values(os.networkInterfaces())
  .flatMap((l) => l ?? [])
  .find((i) => i.family === 'IPv4' && !i.internal)?.address;

describe('errors a user reads', () => {
  it('`record --list` with a file where the recordings folder should be: INVALID_FIELD naming it (exit 2), not a raw ENOTDIR', async () => {
    const home = homes.newHome();
    await fs.writeFile(path.join(home, 'recordings'), 'not a folder');
    const r = await runCli(home, ['record', '--list']);
    expect(r.exitCode, r.stderr).toBe(2);
    expect(r.stderr).toMatch(/recordings is not a folder.*\[INVALID_FIELD\]/);
    expect(r.stderr).not.toMatch(/ENOTDIR|scandir/);
    const j = await runCli(home, ['record', '--list', '--json']);
    expect(j.exitCode).toBe(2);
    expect(parseJson(j)).toMatchObject({ code: 'INVALID_FIELD' });
    // The folder not there yet is no error: nothing recorded so far.
    const none = await runCli(home, ['record', '--list'], { env: { TELEPTY_RECORD_DIR: path.join(home, 'none-yet') } });
    expect(none.exitCode, none.stderr).toBe(0);
    expect(none.stdout).toMatch(/no recordings in/);
  });

  it('`daemon start --host` with no address (256.1.1.1, an unknown name) or another machine\'s address: INVALID_FIELD (exit 2), nothing started', async () => {
    const home = homes.newHome();
    // 198.51.100.7 (TEST-NET-2) is nobody's address here; .invalid names never resolve (RFC 6761).
    for (const [bad, said] of [
      ['256.1.1.1', /must be an IP address or a name this machine resolves/],
      ['no-such-host.invalid', /must be an IP address or a name this machine resolves/],
      ['198.51.100.7', /is not an address of this machine.*0\.0\.0\.0/],
    ] as const) {
      const r = await runCli(home, ['daemon', 'start', '--host', bad, '--port', '0']);
      expect(r.exitCode, `${bad}: ${r.stderr}`).toBe(2);
      expect(r.stderr).toMatch(said);
      expect(r.stderr).toContain('[INVALID_FIELD]');
      const j = await runCli(home, ['daemon', 'start', '--host', bad, '--port', '0', '--json']);
      expect(parseJson(j)).toMatchObject({ code: 'INVALID_FIELD' });
    }
    expect((await runCli(home, ['daemon', 'start', '--port', '0'], { env: { TELEPTY_HOST: '256.1.1.1' } })).exitCode).toBe(2);
    expect((await runCli(home, ['daemon', 'restart', '--host', '256.1.1.1'])).exitCode).toBe(2);
    expect((await runCli(home, ['daemon', 'status'])).exitCode).toBe(3);
  });

  it.skipIf(ownAddress === undefined)('`daemon start --host` an address of this machine\'s interfaces starts there, and commands reach it', async () => {
    const home = homes.newHome();
    const port = await freePort();
    const env = { TELEPTY_HOST: ownAddress as string, TELEPTY_PORT: String(port) };
    const r = await runCli(home, ['daemon', 'start', '--json'], { env });
    expect(r.exitCode, r.stderr).toBe(0);
    expect(parseJson(r)).toMatchObject({ started: true, host: ownAddress, port });
    const list = await runCli(home, ['list', '--json'], { env });
    expect(list.exitCode, list.stderr).toBe(0);
    expect((await runCli(home, ['daemon', 'stop'], { env })).exitCode).toBe(0);
  });

  it('`doctor` reports an error (exit 1) for a TELEPTY_HOME it cannot make or write: under a file, or in /proc', async () => {
    const home = homes.newHome();
    const file = path.join(home, 'a-file');
    await fs.writeFile(file, '');
    for (const bad of [path.join(file, 'home'), file, '/proc/telepty-home']) {
      const r = await runCli(home, ['doctor', '--json'], { env: { TELEPTY_HOME: bad } });
      expect(r.exitCode, `${bad}: ${r.stdout}${r.stderr}`).toBe(1);
      expect(r.stderr).toBe('');
      const checks = parseJson<{ check: string; status: string; detail: string; fix?: string }[]>(r);
      expect(checks.find((c) => c.check === 'home'), bad).toMatchObject({ status: 'error', fix: expect.stringContaining('TELEPTY_HOME') });
    }
    // A home not made yet under a folder that can take it is fine, and doctor leaves nothing behind.
    const fresh = path.join(home, 'new', 'home');
    const ok = await runCli(home, ['doctor', '--json'], { env: { TELEPTY_HOME: fresh } });
    expect(parseJson<{ check: string; status: string }[]>(ok).find((c) => c.check === 'home')).toMatchObject({ status: 'ok' });
    await expect(fs.access(path.join(home, 'new'))).rejects.toThrow();
  });
});
