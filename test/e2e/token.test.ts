import { promises as fs } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { parseJson, runCli } from '../helpers/cli.js';
import { liveDaemon, useHomes } from '../helpers/daemon.js';

/** `telepty token` on this machine (the rotation as a remote peer sees it is in security-netns.test.ts). */
const homes = useHomes();
const tokenOf = async (home: string): Promise<string> => fs.readFile(path.join(home, 'token'), 'utf8');

describe('telepty token', () => {
  it("prints the token file's content, starting the daemon that creates it", async () => {
    const home = homes.newHome();
    const r = await runCli(home, ['token']);
    expect(r.exitCode, r.stderr).toBe(0);
    const file = await tokenOf(home);
    expect(file).toMatch(/^[0-9a-f]{64}\n$/);
    expect(r.stdout).toBe(file.trim()); // the runner strips the final newline
    expect(await liveDaemon(home)).not.toBeNull();
  });

  it('prints {token, file, rotated} with --json', async () => {
    const home = homes.newHome();
    const r = await runCli(home, ['token', '--json']);
    expect(r.exitCode, r.stderr).toBe(0);
    expect(parseJson(r)).toEqual({ token: (await tokenOf(home)).trim(), file: path.join(home, 'token'), rotated: false });
  });

  it('--rotate writes a new 0600 token through the running daemon and prints it', async () => {
    const home = homes.newHome();
    const before = parseJson<{ token: string }>(await runCli(home, ['token', '--json'])).token;
    const r = await runCli(home, ['token', '--rotate', '--json']);
    expect(r.exitCode, r.stderr).toBe(0);
    const rotated = parseJson<{ token: string; rotated: boolean }>(r);
    expect(rotated.rotated).toBe(true);
    expect(rotated.token).toMatch(/^[0-9a-f]{64}$/);
    expect(rotated.token).not.toBe(before);
    expect((await tokenOf(home)).trim()).toBe(rotated.token);
    expect((await fs.stat(path.join(home, 'token'))).mode & 0o777).toBe(0o600);
    expect(await liveDaemon(home)).not.toBeNull();
  });

  it('--rotate with no daemon running rotates the file and starts none', async () => {
    const home = homes.newHome();
    await fs.writeFile(path.join(home, 'token'), `${'0'.repeat(64)}\n`, { mode: 0o600 });
    const r = await runCli(home, ['token', '--rotate']);
    expect(r.exitCode, r.stderr).toBe(0);
    const now = (await tokenOf(home)).trim();
    expect(now).toMatch(/^[0-9a-f]{64}$/);
    expect(now).not.toBe('0'.repeat(64));
    expect(r.stdout.trim()).toBe(now);
    expect(await liveDaemon(home)).toBeNull();
  });
});
