import path from 'node:path';
import type { Browser } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { HAS_CHROMIUM, launchChromium } from '../helpers/browser.js';
import { parseJson, runCli } from '../helpers/cli.js';
import { useHomes } from '../helpers/daemon.js';
import { ROOT, waitFor } from '../helpers/env.js';
import { fixtureSession, type Submission } from '../helpers/fixtures.js';
import { natsServerPath, useTwoMachines } from '../helpers/nats.js';

/**
 * The dashboard of a daemon in a fleet (issue 23 with 18): the other machine's sessions are listed with their
 * machine, their thumbnail shows their screen (read through the fleet), and the inject box reaches them.
 */
describe.skipIf(!HAS_CHROMIUM || natsServerPath() === null)('web dashboard in a fleet', () => {
  const homes = useHomes();
  const fleet = useTwoMachines(() => homes.newHome());
  let browser: Browser | undefined;
  let submissions: () => Promise<Submission[]>;

  beforeAll(async () => {
    ({ submissions } = await fixtureSession(fleet.laptop, 'dev-001', 'claude-like.mjs'));
    browser = await launchChromium();
  }, 60_000);

  afterAll(async () => {
    await browser?.close();
  });

  it("lists another machine's session with its machine and screen, and injects into it", async () => {
    const link = parseJson<{ url: string }>(await runCli(fleet.desk, ['ui', '--json'], { env: fleet.env.desk }));
    const page = await (await browser!.newContext({ viewport: { width: 1180, height: 720 } })).newPage();
    await page.goto(link.url);
    const row = page.locator('article.card[data-session="dev-001@laptop"]');
    await row.waitFor({ timeout: 20_000 });
    expect(await row.locator('.machine').textContent()).toBe('laptop');
    expect(await row.locator('.command').textContent()).toContain(path.join(ROOT, 'test', 'fixtures', 'claude-like.mjs'));
    // Its thumbnail shows what `read` on the other machine shows.
    const read = (await runCli(fleet.laptop, ['read', 'dev-001'], { env: fleet.env.laptop })).stdout.trimEnd();
    await waitFor('the remote thumbnail', async () => {
      const rows = await row.locator('.xterm-rows > div').allTextContents();
      return rows.map((r) => r.replace(/\s+$/, '')).join('\n').trimEnd() === read;
    });
    await row.click();
    expect(await page.locator('#full-typing').isDisabled()).toBe(true);
    await page.locator('#inject-prompt').fill('from the desk dashboard');
    await page.locator('#inject-send').click();
    await waitFor('the inject outcome', async () => (await page.locator('#inject-result').getAttribute('data-outcome')) === 'submitted');
    expect((await submissions()).map((s) => s.text)).toEqual(['from the desk dashboard']);

    // The hub goes away: the page says other machines' sessions are not shown, rather than that there are none.
    await fleet.hub.server.stop();
    const summary = page.locator('#summary');
    await waitFor('the summary names the fleet', async () => (await summary.getAttribute('data-fleet')) === 'missing', 20_000);
    expect(await summary.textContent()).toMatch(/; the fleet is (reconnecting|connecting|closed|error) \(.*\): other machines' sessions are not shown$/);
  });
});
