import { promises as fs } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { runCli } from '../helpers/cli.js';
import { useHomes } from '../helpers/daemon.js';
import { sleep, waitFor } from '../helpers/env.js';
import { spawnJson } from '../helpers/sessions.js';
import { SETTLE_AFTER_MS, SETTLE_QUIET_MS } from '../../src/host/start-settle.js';

/**
 * A quiet host settles its start with V8's memory-reducing collection of its own, SETTLE_AFTER_MS after its session
 * started (issue 24: an idle host's footprint at a known moment, not whenever V8's memory reducer comes).
 */
const homes = useHomes();
const hostLog = (home: string, id: string) => fs.readFile(path.join(home, 'hosts', `${id}.log`), 'utf8').catch(() => '');

describe("a host's start, settled", () => {
  it('is settled SETTLE_AFTER_MS after the start of a quiet session, once; not while its program keeps writing', async () => {
    const home = homes.newHome();
    const t0 = Date.now();
    await spawnJson(home, ['--id', 'quiet', '--', 'sleep', '60']);
    await spawnJson(home, ['--id', 'busy', '--', 'sh', '-c', 'while :; do echo tick; sleep 0.2; done']);
    const settled = await waitFor('the quiet host settled', async () => (await hostLog(home, 'quiet')).match(/start settled: RSS .* MB/g), SETTLE_AFTER_MS + 10_000, 100);
    expect(Date.now() - t0).toBeGreaterThanOrEqual(SETTLE_AFTER_MS);
    await sleep(SETTLE_AFTER_MS + SETTLE_QUIET_MS);
    expect((await hostLog(home, 'quiet')).match(/start settled: RSS .* MB/g)).toEqual(settled);
    expect(settled).toHaveLength(1);
    expect(await hostLog(home, 'busy')).not.toContain('start settled');
    expect((await runCli(home, ['read', 'busy'])).stdout).toContain('tick');
  });
});
