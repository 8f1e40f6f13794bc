import { existsSync, promises as fs } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import type { InjectResponse } from '../../src/protocol/inject.js';
import { parseJson, runCli } from '../helpers/cli.js';
import { liveDaemon, useHomes } from '../helpers/daemon.js';
import { NOTHING_MORE_MS, ROOT, sleep, waitFor } from '../helpers/env.js';

const homes = useHomes();

// `telepty inject` runs from dist/bundle/inject.cjs (scripts/bundle-fast.mjs), not from the tsc output the other
// commands load: these tests prove the bundle is what runs and that it does all the command does.
describe('the bundled inject fast path', () => {
  it('is built, and is what the launcher loads for inject', () => {
    expect(existsSync(path.join(ROOT, 'dist', 'bundle', 'inject.cjs'))).toBe(true);
  });

  it('starts the daemon when none runs (paths made from import.meta.url resolve from the bundle), then delivers', async () => {
    const home = homes.newHome();
    const missing = await runCli(home, ['inject', 'nobody', 'hello']);
    expect(missing.exitCode, missing.stderr).toBe(3);
    expect(missing.stderr).toContain('SESSION_NOT_FOUND');
    const live = await liveDaemon(home);
    expect(live?.meta.pid).toBeGreaterThan(0);

    expect((await runCli(home, ['spawn', '--id', 'sink', '--', 'cat'])).exitCode).toBe(0);
    const r = await runCli(home, ['inject', 'sink', 'through the bundle', '--json']);
    expect(r.exitCode, r.stderr).toBe(0);
    expect(parseJson<InjectResponse>(r).status).toBe('submitted');
    await waitFor('the echo', async () => (await runCli(home, ['read', 'sink'])).stdout.includes('through the bundle'));
  });

  it('never types into another daemon that holds the address its state file names (the request carries the nonce)', async () => {
    const homeA = homes.newHome();
    const homeB = homes.newHome();
    expect((await runCli(homeA, ['spawn', '--id', 'x', '--', 'cat'])).exitCode).toBe(0);
    const a = await liveDaemon(homeA);
    // B's state file names A's address and pid, with a nonce of B's own: a stale claim whose port A now holds.
    const record = JSON.parse(await fs.readFile(path.join(homeA, 'daemon.json'), 'utf8')) as Record<string, unknown>;
    await fs.writeFile(path.join(homeB, 'daemon.json'), JSON.stringify({ ...record, nonce: 'b'.repeat(32) }));
    const r = await runCli(homeB, ['inject', 'x', 'meant for B']);
    expect(r.exitCode, r.stderr).toBe(3); // B's own daemon was started, and it has no session x
    expect(r.stderr).toContain('SESSION_NOT_FOUND');
    const b = await liveDaemon(homeB);
    expect(b?.meta.pid).toBeGreaterThan(0);
    expect(b?.meta.pid).not.toBe(a?.meta.pid);
    await sleep(NOTHING_MORE_MS); // the refused prompt is not typed into A's session later either
    expect((await runCli(homeA, ['read', 'x'])).stdout).not.toContain('meant for B');
  });

  it('hands anything out of the ordinary (help, unknown options) to the full CLI', async () => {
    const home = homes.newHome();
    const help = await runCli(home, ['inject', '--help']);
    expect(help.exitCode).toBe(0);
    expect(help.stdout).toContain('Usage: telepty inject');
    const bad = await runCli(home, ['inject', 'x', 'y', '--no-such-option']);
    expect(bad.exitCode).toBe(2);
    expect(bad.stderr).toContain("unknown option '--no-such-option'");
    // Neither needed a daemon.
    expect(await liveDaemon(home)).toBeNull();
  });
});
