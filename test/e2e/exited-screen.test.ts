import { describe, expect, it } from 'vitest';
import type { InjectResponse } from '../../src/protocol/inject.js';
import type { SinceAnswer } from '../../src/protocol/ops/state.js';
import type { ScreenSnapshot } from '../../src/protocol/session.js';
import { daemonPort, requestApi } from '../helpers/api.js';
import { parseJson, runCli } from '../helpers/cli.js';
import { useHomes } from '../helpers/daemon.js';
import { waitFor } from '../helpers/env.js';
import { crashedSession, listSessions, spawnJson } from '../helpers/sessions.js';

/**
 * `read` of a session whose program has exited: the daemon keeps the last screen its host sent
 * with the exit report, so the error the program printed last is still there to read, as `docker logs` of a stopped
 * container (MCP read_screen of it: mcp.test.ts).
 */
const homes = useHomes();

describe('the last screen of an exited session', () => {
  it('read shows it (with a note on stderr, exit 0); --json says exited and its code; --lines, --scrollback and --ansi cut it as a live screen', async () => {
    const home = homes.newHome();
    await crashedSession(home, 'crashy');

    const plain = await runCli(home, ['read', 'crashy']);
    expect(plain.exitCode, plain.stderr).toBe(0);
    expect(plain.stdout).toContain('FATAL: widget overflow in frobnicator');
    expect(plain.stdout).toContain('early-40');
    expect(plain.stdout).not.toContain('early-1\n'); // scrolled out of the visible rows
    expect(plain.stderr).toBe('telepty: session crashy exited (code 3); its last screen');

    const json = parseJson<ScreenSnapshot>(await runCli(home, ['read', 'crashy', '--json']));
    expect(json).toMatchObject({ session_id: 'crashy', cols: 80, rows: 24, exited: true, exit_code: 3 });
    expect(json.lines.at(-1)).toBe('FATAL: widget overflow in frobnicator');
    expect(json.lines.length).toBeLessThanOrEqual(24);

    expect(parseJson<ScreenSnapshot>(await runCli(home, ['read', 'crashy', '--json', '--lines', '2'])).lines).toEqual(['early-40', 'FATAL: widget overflow in frobnicator']);
    const back = parseJson<ScreenSnapshot>(await runCli(home, ['read', 'crashy', '--json', '--scrollback']));
    expect(back.lines.slice(0, 2)).toEqual(['early-1', 'early-2']);
    expect(back.lines).toHaveLength(41);
    const ansi = await runCli(home, ['read', 'crashy', '--ansi', '--lines', '1']);
    expect(ansi.stdout).toMatch(/\x1b\[[0-9;]*31m(\x1b\[[0-9;]*m)*FATAL: widget overflow/);
  }, 60_000);

  it('the screen route answers it only when asked (last_screen=1): without, SESSION_EXITED as before', async () => {
    const home = homes.newHome();
    await crashedSession(home, 'asked');
    const port = await daemonPort(home);
    const old = await requestApi(port, 'GET', '/api/sessions/asked/screen');
    expect([old.status, old.json.code]).toEqual([409, 'SESSION_EXITED']);
    const kept = await requestApi(port, 'GET', '/api/sessions/asked/screen?last_screen=1&lines=1');
    expect(kept.status).toBe(200);
    expect(kept.json).toMatchObject({ exited: true, exit_code: 3, lines: ['FATAL: widget overflow in frobnicator'] });
  }, 60_000);

  it('a session removed by kill is not found; one whose daemon restarted since its exit says SESSION_EXITED (exit 4)', async () => {
    const home = homes.newHome();
    await crashedSession(home, 'removed');
    expect((await runCli(home, ['kill', 'removed'])).exitCode).toBe(0);
    const gone = await runCli(home, ['read', 'removed', '--json']);
    expect(gone.exitCode).toBe(3);
    expect(parseJson(gone)).toMatchObject({ code: 'SESSION_NOT_FOUND' });

    await crashedSession(home, 'forgotten');
    expect((await runCli(home, ['daemon', 'restart'])).exitCode).toBe(0);
    expect((await listSessions(home)).find((s) => s.id === 'forgotten')?.status).toBe('exited');
    const none = await runCli(home, ['read', 'forgotten', '--json']);
    expect(none.exitCode).toBe(4);
    expect(parseJson(none)).toMatchObject({ code: 'SESSION_EXITED' });
  }, 60_000);

  it('read --since answers from it: the answer to a prompt, after the program exited (with the note; its code in --json)', async () => {
    const home = homes.newHome();
    await spawnJson(home, ['--id', 'oneshot', '--', 'bash', '--norc', '--noprofile']);
    // The answer comes after the submit is proven, as an agent's does.
    const asked = await runCli(home, ['inject', 'oneshot', '--inject-id', 'q-1', 'sleep 0.3; printf "answer-%s\\n" one two']);
    expect(asked.exitCode, asked.stderr).toBe(0);
    await waitFor('the answer', async () => (await runCli(home, ['read', 'oneshot', '--since', 'q-1'])).stdout.includes('answer-two'));
    // `exit` ends the program right after its Enter: the text left the row, so it was submitted (was: entered, exit 8).
    const quit = parseJson<InjectResponse>(await runCli(home, ['inject', 'oneshot', '--json', 'exit 3']));
    expect(quit.status).toBe('submitted');
    await runCli(home, ['wait', 'oneshot', '--until', 'exited', '--timeout', '10']);

    const after = await runCli(home, ['read', 'oneshot', '--since', 'q-1']);
    expect(after.exitCode, after.stderr).toBe(0);
    expect(after.stdout).toContain('answer-one\nanswer-two');
    expect(after.stderr).toBe('telepty: session oneshot exited (code 3); its last screen');
    const json = parseJson<SinceAnswer>(await runCli(home, ['read', 'oneshot', '--since', 'q-1', '--json']));
    expect(json).toMatchObject({ session_id: 'oneshot', inject_id: 'q-1', exited: true, exit_code: 3, lost: false, truncated: false });
    expect(json.lines).toContain('answer-one');
    const unknown = await runCli(home, ['read', 'oneshot', '--since', 'q-2']);
    expect(unknown.exitCode).toBe(3);
    expect(unknown.stderr).toMatch(/did not remember a submitted inject q-2 \[NOT_FOUND\]/);
    // The route answers it only when asked, as the screen route.
    const old = await requestApi(await daemonPort(home), 'GET', '/api/sessions/oneshot/answer?since=q-1');
    expect([old.status, old.json.code]).toEqual([409, 'SESSION_EXITED']);
  }, 60_000);
});
