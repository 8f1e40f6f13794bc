import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { parseJson, runCli } from '../helpers/cli.js';
import { useHomes } from '../helpers/daemon.js';
import { NOTHING_MORE_MS, ROOT, sleep, waitFor } from '../helpers/env.js';
import { fixtureSession } from '../helpers/fixtures.js';

const homes = useHomes();
/** The draft hold, shortened from 10 s: how long an inject waits for text `keys` left in the line. */
const DEFER_MS = 1_500;

describe('text sent with `keys` and no Enter is a draft, like a person\'s', () => {
  it('`keys ID text; inject ID prompt` does not merge the two: the inject waits, then SESSION_BUSY (exit 5) saying why; `enter` and `keys Enter` submit the text at once', { timeout: 60_000 }, async () => {
    const home = homes.newHome();
    const env = { TELEPTY_TYPING_DEFER_MAX_MS: String(DEFER_MS) };
    expect((await runCli(home, ['daemon', 'start'], { env })).exitCode).toBe(0);
    const s = await fixtureSession(home, 'kd', 'line-reader.mjs');
    const texts = async (): Promise<string[]> => (await s.submissions()).map((x) => x.text);

    // keys' text then an inject: nothing typed after the text, nothing submitted, and the message says what to do.
    expect((await runCli(home, ['keys', 'kd', 'abc'])).exitCode).toBe(0);
    const started = Date.now();
    const busy = await runCli(home, ['inject', 'kd', 'PROMPT', '--json']);
    expect(busy.exitCode, busy.stdout + busy.stderr).toBe(5);
    expect(Date.now() - started).toBeGreaterThanOrEqual(DEFER_MS);
    expect(parseJson(busy)).toMatchObject({ code: 'SESSION_BUSY' });
    expect(String(parseJson(busy).error)).toMatch(/telepty keys.*telepty enter/);
    expect(await texts()).toEqual([]);

    // `enter` submits keys' text without waiting for the draft hold.
    const t0 = Date.now();
    const entered = await runCli(home, ['enter', 'kd', '--json']);
    expect(entered.exitCode, entered.stderr).toBe(0);
    expect(Date.now() - t0).toBeLessThan(DEFER_MS);
    await waitFor('abc submitted', async () => (await texts()).length === 1);
    expect(await texts()).toEqual(['abc']);

    // `keys ID text Enter` (and text then Enter in two calls) leave no draft: the next inject goes at once.
    expect((await runCli(home, ['keys', 'kd', 'def'])).exitCode).toBe(0);
    expect((await runCli(home, ['keys', 'kd', 'Enter'])).exitCode).toBe(0);
    const t1 = Date.now();
    const ok = await runCli(home, ['inject', 'kd', 'PROMPT2']);
    expect(ok.exitCode, ok.stderr).toBe(0);
    expect(Date.now() - t1).toBeLessThan(DEFER_MS);
    await waitFor('def and PROMPT2 submitted', async () => (await texts()).length === 3);
    await sleep(NOTHING_MORE_MS);
    expect(await texts()).toEqual(['abc', 'def', 'PROMPT2']);
  });

  it('keys a full-screen program reads as commands (less, vim: `keys ID Space q`) leave no draft: the inject after it goes at once', { timeout: 60_000 }, async () => {
    const home = homes.newHome();
    const env = { TELEPTY_TYPING_DEFER_MAX_MS: String(DEFER_MS) };
    expect((await runCli(home, ['daemon', 'start'], { env })).exitCode).toBe(0);
    expect((await runCli(home, ['spawn', '--id', 'fs', '--', 'bash', '--norc', '--noprofile'])).exitCode).toBe(0);
    const fullscreen = path.join(ROOT, 'test', 'fixtures', 'fullscreen.mjs');
    expect((await runCli(home, ['inject', 'fs', `${process.execPath} ${fullscreen}`])).exitCode).toBe(0);
    await waitFor('the full-screen program', async () => (await runCli(home, ['read', 'fs'])).stdout.includes('press q to quit'));
    expect((await runCli(home, ['keys', 'fs', 'Space', 'x'])).exitCode).toBe(0);
    expect((await runCli(home, ['keys', 'fs', 'q'])).exitCode).toBe(0);
    await waitFor('back at the shell', async () => (await runCli(home, ['read', 'fs'])).stdout.includes('fullscreen fixture done'));
    const t0 = Date.now();
    const r = await runCli(home, ['inject', 'fs', 'echo after-$((40+2))']);
    expect(r.exitCode, r.stderr).toBe(0);
    expect(Date.now() - t0).toBeLessThan(DEFER_MS);
    await waitFor('the prompt ran', async () => (await runCli(home, ['read', 'fs'])).stdout.includes('after-42'));
  });
});
