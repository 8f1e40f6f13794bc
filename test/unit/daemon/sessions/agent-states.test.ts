import { afterEach, describe, expect, it, vi } from 'vitest';
import type { AgentStateInfo } from '../../../../src/protocol/agent-state.js';
import { AgentStates } from '../../../../src/daemon/sessions/agent-states.js';
import type { SessionEntry } from '../../../../src/daemon/target.js';

function entry(id = 'agent'): SessionEntry {
  return { id, status: 'connected', exitedAt: null, createdAt: new Date(1_000).toISOString() } as SessionEntry;
}

const info = (state: AgentStateInfo['state'], detail: string | null = null, since = 5_000): AgentStateInfo => ({ state, since, source: 'screen', detail, reason: `rule ${state}` });

function setup() {
  const events: { kind: string; fields: Record<string, unknown> }[] = [];
  const states = new AgentStates({ emit: (kind, fields) => events.push({ kind, fields }) });
  return { events, states };
}

afterEach(() => vi.useRealTimers());

describe('agent states in the daemon', () => {
  it('is unknown for a host that never reported (an older one), and carries the fields of the session object', () => {
    const { states } = setup();
    const e = entry();
    expect(states.fields(e)).toEqual({ state: 'unknown', state_since: new Date(1_000).toISOString(), state_source: null, state_detail: null });
    states.report(e, info('blocked', 'Do you want to proceed?'), ['x']);
    expect(states.fields(e)).toMatchObject({ state: 'blocked', state_source: 'screen', state_detail: 'Do you want to proceed?' });
    expect(states.answer(e).explain).toEqual(['x']);
  });

  it('publishes session.state on a change only (a reconnect repeating the state is none)', () => {
    const { states, events } = setup();
    const e = entry();
    states.report(e, info('idle'), []);
    states.report(e, info('idle'), []);
    states.report(e, info('working'), []);
    states.report(e, info('blocked', 'Q?'), []);
    states.report(e, info('blocked', 'Another?'), []);
    expect(events.map((x) => [x.fields.state, x.fields.previous, x.fields.detail])).toEqual([
      ['idle', 'unknown', null],
      ['working', 'idle', null],
      ['blocked', 'working', 'Q?'],
      ['blocked', 'blocked', 'Another?'],
    ]);
    expect(events.every((x) => x.kind === 'session.state' && x.fields.session_id === 'agent')).toBe(true);
    // `source` is the bus envelope's (the sender): the evidence is `state_source`.
    expect(events[0]?.fields).toMatchObject({ state_source: 'screen', since: new Date(5_000).toISOString(), reason: 'rule idle' });
    expect(events[0]?.fields.source).toBeUndefined();
  });

  it('answers a wait at once when reached, on the change otherwise, null at its bound; any-change needs a change', async () => {
    vi.useFakeTimers();
    const { states } = setup();
    const e = entry();
    states.report(e, info('idle'), []);
    await expect(states.wait(e, 'idle', 1_000)).resolves.toMatchObject({ state: 'idle' });
    const anyChange = states.wait(e, 'any-change', 1_000);
    const idle = states.wait(e, 'idle', 5_000);
    const blocked = states.wait(e, 'blocked', 1_000);
    states.report(e, info('working'), []);
    await expect(anyChange).resolves.toMatchObject({ state: 'working' });
    vi.advanceTimersByTime(1_000);
    await expect(blocked).resolves.toBeNull();
    states.report(e, info('idle'), []);
    await expect(idle).resolves.toMatchObject({ state: 'idle' });
  });

  it('ends every wait when the session exits, without publishing (session_exit says it)', async () => {
    const { states, events } = setup();
    const e = entry();
    states.report(e, info('working'), []);
    const waiting = states.wait(e, 'idle', 60_000);
    e.status = 'exited';
    e.exitedAt = 9_000;
    states.exited(e);
    await expect(waiting).resolves.toMatchObject({ state: 'exited', since: 9_000 });
    expect(events.map((x) => x.fields.state)).toEqual(['working']);
  });
});
