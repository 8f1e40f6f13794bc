import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { withHookArgs } from '../../../src/host/pty.js';
import { agentHookArgs, claudeHookSettings, claudeHttpHookSettings, codexNotifyArgs, geminiHookSettings, hookReportOf, type HookSettings, type HookedLaunch } from '../../../src/terminal/agent-hooks.js';

/** A hook's command line (undefined for an http hook). */
function commandOf(h: HookSettings['hooks'][string][number]['hooks'][number] | undefined): string | undefined {
  return h !== undefined && h.type === 'command' ? h.command : undefined;
}

describe('the hooks telepty adds to AI CLIs', () => {
  it('gives Claude Code one command hook per event, naming program and event, bounded in time', () => {
    const s = claudeHookSettings("'/usr/bin/telepty' hook");
    expect(Object.keys(s.hooks)).toEqual(['SessionStart', 'UserPromptSubmit', 'PreToolUse', 'PostToolUse', 'Stop', 'StopFailure', 'Notification', 'SessionEnd']);
    expect(s.hooks.Stop).toEqual([{ hooks: [{ type: 'command', command: "'/usr/bin/telepty' hook claude Stop", timeout: 5 }] }]);
  });

  it("gives Claude Code http hooks posting to the daemon, with the session's host instance, when the daemon's address is known", () => {
    const s = claudeHttpHookSettings('http://127.0.0.1:3848', 'dev 1', 'abc123');
    expect(Object.keys(s.hooks)).toEqual(['SessionStart', 'UserPromptSubmit', 'PreToolUse', 'PostToolUse', 'Stop', 'StopFailure', 'Notification', 'SessionEnd']);
    expect(s.hooks.Stop).toEqual([{ hooks: [{ type: 'http', url: 'http://127.0.0.1:3848/api/sessions/dev%201/hooks?program=claude&event=Stop&instance=abc123', timeout: 5 }] }]);
  });

  it('gives Gemini CLI its own event names and Codex a notify program', () => {
    const g = geminiHookSettings('telepty hook');
    expect(commandOf(g.hooks.BeforeAgent?.[0]?.hooks[0])).toBe('telepty hook gemini BeforeAgent');
    // Gemini CLI's hook timeout is in milliseconds (Claude Code's in seconds).
    expect(g.hooks.BeforeAgent?.[0]?.hooks[0]?.timeout).toBe(5_000);
    expect(codexNotifyArgs(['telepty', 'hook'])).toEqual(['-c', 'notify=["telepty","hook","codex","notify"]']);
  });

  it("maps each program's report onto telepty's", () => {
    expect(hookReportOf('claude', 'UserPromptSubmit', { hook_event_name: 'UserPromptSubmit', prompt: 'review auth' })).toEqual({ event: 'UserPromptSubmit', prompt: 'review auth' });
    expect(hookReportOf('claude', 'Notification', { notification_type: 'permission_prompt', message: 'Claude needs your permission to use Bash' })).toEqual({
      event: 'Notification',
      notification_type: 'permission_prompt',
      message: 'Claude needs your permission to use Bash',
    });
    expect(hookReportOf('claude', 'StopFailure', { error: 'rate limited' })).toEqual({ event: 'StopFailure', message: 'rate limited' });
    expect(hookReportOf('gemini', 'BeforeAgent', { prompt: 'hi' })).toEqual({ event: 'UserPromptSubmit', prompt: 'hi' });
    expect(hookReportOf('gemini', 'AfterAgent', { prompt: 'hi', prompt_response: 'hello' })).toEqual({ event: 'Stop' });
    expect(hookReportOf('gemini', 'Notification', { notification_type: 'ToolPermission', message: 'Allow shell?' })).toMatchObject({ notification_type: 'permission_prompt' });
    expect(hookReportOf('codex', 'notify', { type: 'agent-turn-complete', 'last-assistant-message': 'Done.' })).toEqual({ event: 'Stop', message: 'Done.' });
  });

  it('says nothing for events and reports it does not use', () => {
    expect(hookReportOf('claude', 'PreCompact', {})).toBeNull();
    expect(hookReportOf('gemini', 'BeforeModel', {})).toBeNull();
    expect(hookReportOf('codex', 'notify', { type: 'something-else' })).toBeNull();
    expect(hookReportOf('claude', 'Stop', 'not an object')).toEqual({ event: 'Stop' });
  });
});

describe('hook arguments for the programs telepty starts', () => {
  const dirs: string[] = [];
  const tempDir = (prefix: string): string => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), prefix));
    dirs.push(dir);
    return dir;
  };
  afterAll(() => {
    for (const dir of dirs.splice(0)) fs.rmSync(dir, { recursive: true, force: true });
  });
  const launch = (over: Partial<HookedLaunch> = {}): HookedLaunch => ({ args: ['--model', 'opus'], env: {}, dir: tempDir('telepty-hooks-'), sessionId: 'dev-1', telepty: ['/usr/bin/node', '/opt/telepty/bin/telepty.js'], ...over });

  it("gives Claude Code --settings with a file of telepty's hooks, written in telepty's folder", async () => {
    const l = launch();
    const args = await agentHookArgs(l, 'claude');
    expect(args).toEqual(['--settings', path.join(l.dir, 'dev-1.claude-settings.json')]);
    const settings = JSON.parse(fs.readFileSync(args[1] as string, 'utf8')) as HookSettings;
    expect(commandOf(settings.hooks.Stop?.[0]?.hooks[0])).toBe('/usr/bin/node /opt/telepty/bin/telepty.js hook claude Stop');
    expect(Object.keys(settings.hooks)).toEqual(expect.arrayContaining(['UserPromptSubmit', 'Stop', 'StopFailure', 'Notification', 'SessionStart', 'SessionEnd']));
    // With the daemon's address the same file holds http hooks instead: no process per report.
    const viaHttp = launch({ daemonUrl: 'http://127.0.0.1:40001', instance: 'i9' });
    const file = (await agentHookArgs(viaHttp, 'claude'))[1] as string;
    expect((JSON.parse(fs.readFileSync(file, 'utf8')) as HookSettings).hooks.Stop?.[0]?.hooks[0]).toMatchObject({ type: 'http', url: expect.stringContaining('http://127.0.0.1:40001/api/sessions/dev-1/hooks?') });
  });

  it("gives Codex its notify program through -c (with the session's host instance), unless the user has one", async () => {
    const home = tempDir('telepty-codex-');
    const args = await agentHookArgs(launch({ env: { CODEX_HOME: home }, instance: 'abc123' }), 'codex');
    expect(args).toEqual(['-c', `notify=${JSON.stringify(['/usr/bin/node', '/opt/telepty/bin/telepty.js', 'hook', '--instance', 'abc123', 'codex', 'notify'])}`]);
    fs.writeFileSync(path.join(home, 'config.toml'), 'model = "o3"\nnotify = ["my-notifier"]\n[tui]\nx = 1\n');
    expect(await agentHookArgs(launch({ env: { CODEX_HOME: home } }), 'codex')).toEqual([]);
    fs.writeFileSync(path.join(home, 'config.toml'), '[tui]\nnotify = true\n');
    expect(await agentHookArgs(launch({ env: { CODEX_HOME: home } }), 'codex')).toHaveLength(2);
    expect(await agentHookArgs(launch({ env: { CODEX_HOME: home, TELEPTY_HOOKS: '0' } }), 'codex')).toEqual([]);
  });

  it('adds nothing for other programs, with TELEPTY_HOOKS=0, or when the user gave --settings', async () => {
    expect(await agentHookArgs(launch(), 'opencode')).toEqual([]);
    expect(await agentHookArgs(launch({ env: { TELEPTY_HOOKS: '0' } }), 'claude')).toEqual([]);
    expect(await agentHookArgs(launch({ args: ['--settings', 'mine.json'] }), 'claude')).toEqual([]);
  });

  it("puts them last, before a '--'", () => {
    expect(withHookArgs(['fixture.mjs'], ['--settings', 'f'])).toEqual(['fixture.mjs', '--settings', 'f']);
    expect(withHookArgs(['-p', '--', 'prompt'], ['--settings', 'f'])).toEqual(['-p', '--settings', 'f', '--', 'prompt']);
  });
});
