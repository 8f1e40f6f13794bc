import { describe, expect, it } from 'vitest';
import { claudeHookSettings, codexNotifyArgs, geminiHookSettings, hookReportOf } from '../../../src/terminal/agent-hooks.js';

describe('the hooks telepty adds to AI CLIs', () => {
  it('gives Claude Code one command hook per event, naming program and event, bounded in time', () => {
    const s = claudeHookSettings("'/usr/bin/telepty' hook");
    expect(Object.keys(s.hooks)).toEqual(['SessionStart', 'UserPromptSubmit', 'PreToolUse', 'PostToolUse', 'Stop', 'StopFailure', 'Notification', 'SessionEnd']);
    expect(s.hooks.Stop).toEqual([{ hooks: [{ type: 'command', command: "'/usr/bin/telepty' hook claude Stop", timeout: 5 }] }]);
  });

  it('gives Gemini CLI its own event names and Codex a notify program', () => {
    const g = geminiHookSettings('telepty hook');
    expect(g.hooks.BeforeAgent?.[0]?.hooks[0]?.command).toBe('telepty hook gemini BeforeAgent');
    expect(g.hooksConfig.enabled).toBe(true);
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
