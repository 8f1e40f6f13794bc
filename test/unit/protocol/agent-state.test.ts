import { describe, expect, it } from 'vitest';
import { isAgentStateInfo, parseHookReport, parseWaitUntil } from '../../../src/protocol/agent-state.js';

describe('agent state shapes', () => {
  it('parses a hook report and refuses an unknown event with INVALID_FIELD', () => {
    expect(parseHookReport({ event: 'Notification', notification_type: 'permission_prompt', message: 'allow Bash?' })).toEqual({
      event: 'Notification',
      prompt: undefined,
      notification_type: 'permission_prompt',
      message: 'allow Bash?',
    });
    expect(() => parseHookReport({ event: 'Nope' })).toThrow(expect.objectContaining({ code: 'INVALID_FIELD' }));
    expect(() => parseHookReport('Stop')).toThrow(expect.objectContaining({ code: 'INVALID_FIELD' }));
    expect(() => parseHookReport({ event: 'Stop', prompt: 5 })).toThrow(/"prompt" must be a string/);
  });

  it('parses wait targets and checks a state object whole', () => {
    expect(parseWaitUntil('idle')).toBe('idle');
    expect(parseWaitUntil('any-change')).toBe('any-change');
    expect(() => parseWaitUntil('done')).toThrow(/"until" must be one of/);
    expect(isAgentStateInfo({ state: 'blocked', since: 1, source: 'hook', detail: 'allow?', reason: 'hook' })).toBe(true);
    expect(isAgentStateInfo({ state: 'blocked', since: 1, source: 'dream', detail: null, reason: 'x' })).toBe(false);
    expect(isAgentStateInfo({ state: 'idle', since: '1', source: null, detail: null, reason: 'x' })).toBe(false);
  });
});
