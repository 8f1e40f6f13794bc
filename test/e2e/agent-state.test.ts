import { readFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import type { WaitAnswer, StateAnswer } from '../../src/protocol/ops/state.js';
import { daemonPort, postApi, subscribeBus } from '../helpers/api.js';
import { parseJson, runCli } from '../helpers/cli.js';
import { useHomes } from '../helpers/daemon.js';
import { BIN, ROOT, testEnv, waitFor } from '../helpers/env.js';
import { TerminalDriver } from '../helpers/terminal.js';
import { listSessions, spawnJson } from '../helpers/sessions.js';

const homes = useHomes();

/** The hook telepty gave a Claude Code session for `event`: Claude Code posts it to the daemon itself (no process). */
async function hookOf(home: string, id: string, event: string): Promise<{ type: string; url?: string }> {
  const file = JSON.parse(readFileSync(path.join(home, 'hooks', `${id}.claude-settings.json`), 'utf8')) as { hooks: Record<string, { hooks: { type: string; url?: string }[] }[]> };
  const hook = file.hooks[event]?.[0]?.hooks[0];
  if (hook === undefined) throw new Error(`no ${event} hook for ${id}`);
  return hook;
}
const FIXTURE = path.join(ROOT, 'test', 'fixtures', 'claude-state-like.mjs');

async function state(home: string, id: string): Promise<StateAnswer> {
  return parseJson<StateAnswer>(await runCli(home, ['state', id, '--json']));
}

async function stateIs(home: string, id: string, want: string): Promise<StateAnswer> {
  return waitFor(`${id} to be ${want}`, async () => {
    const s = await state(home, id);
    return s.state === want ? s : null;
  });
}

async function screenShows(home: string, id: string, text: string): Promise<void> {
  await waitFor(`${id} to show ${text}`, async () => (await runCli(home, ['read', id])).stdout.includes(text));
}

describe('agent state (issue 19)', () => {
  it('from the screen alone: working after a prompt, idle when the turn ends; wait, the bus and list agree', async () => {
    const home = homes.newHome();
    await spawnJson(home, ['--id', 'agent', '--no-hooks', '--', 'node', FIXTURE]);
    await stateIs(home, 'agent', 'idle');
    const bus = subscribeBus(await daemonPort(home), '');
    await bus.open;
    const waiting = runCli(home, ['wait', 'agent', '--until', 'any-change', '--json', '--timeout', '20']);
    expect((await runCli(home, ['inject', 'agent', 'hello there'])).exitCode).toBe(0);
    const changed = parseJson<WaitAnswer>(await waiting);
    expect(changed).toMatchObject({ session_id: 'agent', state: 'working', source: 'screen', reached: true });
    const done = await runCli(home, ['wait', 'agent', '--until', 'idle', '--json', '--timeout', '20']);
    expect(done.exitCode).toBe(0);
    expect(parseJson<WaitAnswer>(done)).toMatchObject({ state: 'idle', reached: true });
    await screenShows(home, 'agent', 'answer: hello there');
    const states = await waitFor('session.state events', () => {
      const mine = bus.events.filter((e) => e.kind === 'session.state' && e.session_id === 'agent').map((e) => e.state);
      return mine.includes('idle') ? mine : null;
    });
    expect(states).toEqual(['working', 'idle']);
    bus.ws.close();
    const [listed] = await listSessions(home);
    expect(listed).toMatchObject({ id: 'agent', state: 'idle', state_source: 'screen', state_detail: null });
    expect(typeof listed?.state_since).toBe('string');
    const table = (await runCli(home, ['list'])).stdout.split('\n');
    expect(table[0]).toMatch(/STATUS\s+STATE\s+COMMAND/);
    expect(table[1]).toMatch(/connected\s+idle\s+node/);
  });

  it('blocked on a dialog with its question; keys move through it; wait exits 5 on timeout', async () => {
    const home = homes.newHome();
    await spawnJson(home, ['--id', 'dlg', '--no-hooks', '--env', 'FIXTURE_WORK_MS=3000', '--', 'node', FIXTURE]);
    await stateIs(home, 'dlg', 'idle');
    expect((await runCli(home, ['inject', 'dlg', 'open a dialog'])).exitCode).toBe(0);
    const blocked = await runCli(home, ['wait', 'dlg', '--until', 'blocked', '--json', '--timeout', '20']);
    expect(parseJson<WaitAnswer>(blocked)).toMatchObject({ state: 'blocked', source: 'screen', detail: 'Do you want to proceed?', reached: true });
    expect((await runCli(home, ['list', '--json'])).stdout).toContain('"state_detail": "Do you want to proceed?"');

    const keys = await runCli(home, ['keys', 'dlg', 'Down', 'Enter', '--json']);
    expect(keys.exitCode).toBe(0);
    expect(parseJson(keys)).toMatchObject({ session_id: 'dlg', keys: ['Down', 'Enter'] });
    await screenShows(home, 'dlg', 'chose: no');
    await stateIs(home, 'dlg', 'working');
    // The turn takes 3 s: a wait of 0.5 s for idle gives up with exit 5.
    const early = await runCli(home, ['wait', 'dlg', '--until', 'idle', '--timeout', '0.5']);
    expect(early.exitCode).toBe(5);
    expect(early.stderr).toContain('[TIMEOUT]');
    expect((await runCli(home, ['wait', 'dlg', '--until', 'idle', '--timeout', '20'])).exitCode).toBe(0);

    expect((await runCli(home, ['keys', 'nosuch', 'Enter'])).exitCode).toBe(3);
    const port = await daemonPort(home);
    for (const [route, body] of [
      ['/api/sessions/dlg/wait', { until: 'sleepy' }],
      ['/api/sessions/dlg/wait', { until: 'idle', timeout_ms: 10_000_000 }],
      ['/api/sessions/dlg/keys', { keys: [] }],
      ['/api/sessions/dlg/keys', { keys: 'Enter' }],
      ['/api/sessions/dlg/hook', { program: 'emacs', event: 'Stop', input: {} }],
    ] as const) {
      const r = await postApi(port, route, body);
      expect(r.status, route).toBe(400);
      expect(r.json, route).toMatchObject({ code: 'INVALID_FIELD' });
    }
    expect((await runCli(home, ['wait', 'dlg', '--until', 'sleepy'])).exitCode).toBe(2);
  });

  it('keys that answer a dialog (`keys ID 1`) leave no draft: the next inject goes at once', async () => {
    const home = homes.newHome();
    const env = { TELEPTY_TYPING_DEFER_MAX_MS: '1500' };
    expect((await runCli(home, ['daemon', 'start'], { env })).exitCode).toBe(0);
    await spawnJson(home, ['--id', 'dk', '--no-hooks', '--env', 'FIXTURE_WORK_MS=300', '--', 'node', FIXTURE]);
    await stateIs(home, 'dk', 'idle');
    expect((await runCli(home, ['inject', 'dk', 'open a dialog'])).exitCode).toBe(0);
    expect((await runCli(home, ['wait', 'dk', '--until', 'blocked', '--timeout', '20'])).exitCode).toBe(0);
    expect((await runCli(home, ['keys', 'dk', '1'])).exitCode).toBe(0);
    await screenShows(home, 'dk', 'chose: yes');
    expect((await runCli(home, ['wait', 'dk', '--until', 'idle', '--timeout', '20'])).exitCode).toBe(0);
    const next = await runCli(home, ['inject', 'dk', 'next prompt', '--json']);
    expect(next.exitCode, next.stdout + next.stderr).toBe(0);
    expect(parseJson(next)).toMatchObject({ status: 'submitted' });
    await screenShows(home, 'dk', 'answer: next prompt');
  });

  it("from Claude Code's hooks: telepty adds --settings, the hooks decide, and --explain says so", async () => {
    const home = homes.newHome();
    await spawnJson(home, ['--id', 'hooked', '--', 'node', FIXTURE]);
    await stateIs(home, 'hooked', 'idle');
    expect((await runCli(home, ['inject', 'hooked', 'hello hooks'])).exitCode).toBe(0);
    await waitFor('a hook Stop', async () => {
      const s = await state(home, 'hooked');
      return s.state === 'idle' && s.source === 'hook' ? s : null;
    });
    // The reports came over HTTP straight from the program to this daemon (no `telepty hook` process per event).
    expect(await hookOf(home, 'hooked', 'Stop')).toMatchObject({ type: 'http', url: expect.stringMatching(new RegExp(`^http://127\\.0\\.0\\.1:${await daemonPort(home)}/api/sessions/hooked/hooks\\?program=claude&event=Stop&instance=`)) });
    const explained = (await runCli(home, ['state', 'hooked', '--explain'])).stdout;
    expect(explained).toContain('hook Stop');
    expect(explained).toContain('hooks: reporting');
    // The session's shown args stay the user's: the settings file is telepty's own.
    expect((await listSessions(home))[0]?.args).toEqual([FIXTURE]);

    // inject, then wait for idle at once: the wait must not end on the idle from before the turn.
    expect((await runCli(home, ['inject', 'hooked', 'second question'])).exitCode).toBe(0);
    expect((await runCli(home, ['wait', 'hooked', '--until', 'idle', '--timeout', '20'])).exitCode).toBe(0);
    expect((await runCli(home, ['read', 'hooked'])).stdout).toContain('answer: second question');

    expect((await runCli(home, ['inject', 'hooked', 'a dialog now'])).exitCode).toBe(0);
    const blocked = await waitFor('blocked by the Notification hook', async () => {
      const s = await state(home, 'hooked');
      return s.state === 'blocked' && s.source === 'hook' ? s : null;
    });
    expect(blocked.detail).toBe('Claude needs your permission to use Bash');
    await runCli(home, ['keys', 'hooked', 'Enter']);
    await waitFor('idle after the dialog', async () => {
      const s = await state(home, 'hooked');
      return s.state === 'idle' ? s : null;
    });
  });

  it('wrap adds the hooks too: a wrapped Claude Code-like session reports through them', async () => {
    const home = homes.newHome();
    const d = new TerminalDriver(process.execPath, [BIN, 'wrap', '--id', 'wrapped', '--quiet', '--', 'node', FIXTURE], { env: testEnv(home) });
    try {
      await d.waitForText('claude-state-like ready');
      await stateIs(home, 'wrapped', 'idle');
      expect((await runCli(home, ['inject', 'wrapped', 'from afar'])).exitCode).toBe(0);
      await d.waitForText('answer: from afar');
      await waitFor('idle from the Stop hook', async () => {
        const s = await state(home, 'wrapped');
        return s.state === 'idle' && s.source === 'hook' ? s : null;
      });
      expect(await hookOf(home, 'wrapped', 'UserPromptSubmit')).toMatchObject({ type: 'http', url: expect.stringContaining(`:${await daemonPort(home)}/api/sessions/wrapped/hooks?`) });
    } finally {
      d.dispose();
    }
  });

  it('telepty hook prints nothing and exits 0 even when it cannot report', async () => {
    const home = homes.newHome();
    const r = await runCli(home, ['hook', 'claude', 'Stop'], { input: '{"hook_event_name":"Stop"}', env: { TELEPTY_SESSION_ID: 'nowhere' } });
    expect(r.exitCode).toBe(0);
    expect(r.stdout).toBe('');
    expect(r.stderr).toContain('telepty hook:');
  });
});
