import { describe, expect, it } from 'vitest';
import type { MetaResponse } from '../../src/protocol/meta.js';
import { parseJson, runCli } from '../helpers/cli.js';
import { useHomes } from '../helpers/daemon.js';
import { freePort } from '../helpers/env.js';

const homes = useHomes();

describe('everyday use', () => {
  it('`daemon start --port P` starts on P (the option is the subcommand\'s, not swallowed by `daemon`)', async () => {
    const home = homes.newHome();
    const port = await freePort();
    const started = await runCli(home, ['daemon', 'start', '--port', String(port), '--json']);
    expect(started.exitCode, started.stderr).toBe(0);
    expect(parseJson(started)).toMatchObject({ started: true, port });
    const meta = parseJson<MetaResponse>(await runCli(home, ['meta', '--json']));
    expect(meta.port).toBe(port);
  });

  it('`daemon start` refuses a port out of range or not a number (exit 2) and starts nothing', async () => {
    const home = homes.newHome();
    for (const bad of ['99999', 'abc']) {
      const r = await runCli(home, ['daemon', 'start', '--port', bad, '--json']);
      expect(r.exitCode, r.stderr).toBe(2);
      expect(parseJson(r)).toMatchObject({ code: 'INVALID_FIELD' });
      expect(r.stderr).toContain('--port');
    }
    expect((await runCli(home, ['daemon', 'status'])).exitCode).toBe(3);
  });

  it('`list` fits COLUMNS and quotes arguments', async () => {
    const home = homes.newHome();
    const spawned = await runCli(home, ['spawn', '--id', 'fit-one', '--json', '--', 'sh', '-c', 'echo hi; sleep 60']);
    expect(spawned.exitCode, spawned.stderr).toBe(0);
    const wide = await runCli(home, ['list']);
    expect(wide.stdout).toContain("sh -c 'echo hi; sleep 60'");
    const narrow = await runCli(home, ['list'], { env: { COLUMNS: '40' } });
    for (const line of narrow.stdout.trimEnd().split('\n')) expect([...line].length, line).toBeLessThanOrEqual(40);
    expect(narrow.stdout).toMatch(/^fit-one\s+connected\s/m);
    await runCli(home, ['kill', 'fit-one']);
  });
});
