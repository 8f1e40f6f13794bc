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
    // A mistyped id gets the close ones suggested (matching itself stays exact).
    const typo = await runCli(home, ['read', 'fti-one', '--json']);
    expect(typo.exitCode).toBe(3);
    expect(typo.stderr).toContain('no session "fti-one" (did you mean fit-one?)');
    expect(parseJson(typo)).toMatchObject({ code: 'SESSION_NOT_FOUND', suggestions: ['fit-one'] });
    await runCli(home, ['kill', 'fit-one']);
  });

  it('`publish` says what `delivered` counts, refuses a payload that is not an object and an empty kind', async () => {
    const home = homes.newHome();
    const sent = await runCli(home, ['publish', '--kind', 'note.x', '--payload', '{"a":1}']);
    expect(sent.exitCode, sent.stderr).toBe(0);
    expect(sent.stdout).toMatch(/sent to 0 subscribers/);
    const arr = await runCli(home, ['publish', '--kind', 'note.x', '--payload', '[1,2]']);
    expect(arr.exitCode).toBe(2);
    expect(arr.stderr).toMatch(/payload must be a JSON object/);
    const empty = await runCli(home, ['publish', '--kind', '']);
    expect(empty.exitCode).toBe(2);
    expect(empty.stderr).toMatch(/--kind needs a kind/);
  });

  it('`publish --wait` of a turn_request exits 0 once it was written, and with the failure\'s status when it was not', async () => {
    const home = homes.newHome();
    const spawned = await runCli(home, ['spawn', '--id', 'routed', '--json', '--', 'bash', '--norc']);
    expect(spawned.exitCode, spawned.stderr).toBe(0);
    const ok = await runCli(home, ['publish', '--wait', '--json', '--kind', 'turn_request', '--target', 'routed', '--payload', '{"turn_id":"t-1","prompt":"echo routed-ok"}']);
    expect(ok.exitCode, ok.stderr).toBe(0);
    const answer = parseJson<{ message_id: string; routed: Record<string, unknown> }>(ok);
    expect(answer.routed).toMatchObject({ kind: 'inject_written', turn_id: 't-1', original_message_id: answer.message_id, target_agent: 'routed' });
    const missing = await runCli(home, ['publish', '--wait', '--kind', 'turn_request', '--target', 'nobody', '--payload', '{"prompt":"x"}']);
    expect(missing.exitCode).toBe(3);
    expect(missing.stderr).toMatch(/not delivered to nobody.*SESSION_NOT_FOUND/);
    const notRouted = await runCli(home, ['publish', '--wait', '--kind', 'note.x']);
    expect(notRouted.exitCode).toBe(2);
    await runCli(home, ['kill', 'routed']);
  });

  it('`tail --exclude-kind` leaves out a kind (session_health every 10 s need not flood a terminal)', async () => {
    const home = homes.newHome();
    for (const kind of ['noise.tick', 'noise.tick', 'work.done']) expect((await runCli(home, ['publish', '--kind', kind])).exitCode).toBe(0);
    const r = await runCli(home, ['tail', '--since', '0', '--exclude-kind', 'noise.*', '--exclude-kind', 'session_*', '--count', '1', '--json', '--timeout', '20']);
    expect(r.exitCode, r.stderr).toBe(0);
    expect(JSON.parse(r.stdout.trim())).toMatchObject({ kind: 'work.done' });
  });

  it('`tail --since` beyond the daemon\'s last seq does not claim a restart it cannot know of', async () => {
    const home = homes.newHome();
    expect((await runCli(home, ['publish', '--kind', 'work.done'])).exitCode).toBe(0);
    const r = await runCli(home, ['tail', '--since', '999999', '--timeout', '2']);
    expect(r.stderr).toMatch(/gap in the bus: seq 999999 is ahead of this daemon's last \(\d+\): the daemon was restarted since, or the seq is not one of its/);
  });
});
