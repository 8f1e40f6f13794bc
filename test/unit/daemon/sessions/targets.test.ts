import { describe, expect, it } from 'vitest';
import { SessionTargets, locate } from '../../../../src/daemon/sessions/targets.js';
import type { SessionEntry, ViewerHandle } from '../../../../src/daemon/target.js';
import { TeleptyError, isTeleptyError } from '../../../../src/protocol/errors.js';
import { DEFAULT_INJECT_TIMEOUT_MS } from '../../../../src/protocol/inject.js';

const MACHINE = 'box-1';

function codeOf(fn: () => unknown): string | null {
  try {
    fn();
  } catch (err) {
    if (isTeleptyError(err)) return err.code;
    throw err;
  }
  return null;
}

/** The targets of a registry holding `alpha`, with every operation recorded. */
function targets(): { targets: SessionTargets; calls: string[] } {
  const calls: string[] = [];
  const alpha = { id: 'alpha' } as SessionEntry;
  const registry = {
    require(id: unknown): SessionEntry {
      if (id === 'alpha') return alpha;
      throw new TeleptyError('SESSION_NOT_FOUND', `no session ${String(id)}`);
    },
  };
  const ok = { success: true as const, inject_id: 'i', session_id: 'alpha', status: 'queued' as const, written_at: null, submitted_at: null };
  const t = new SessionTargets(registry, {
    machineId: MACHINE,
    injector: {
      inject: async (id, prompt) => (calls.push(`inject ${String(id)} ${prompt}`), ok),
      submit: async (id) => (calls.push(`enter ${String(id)}`), ok),
    },
    sessions: {
      screen: async (id) => (calls.push(`read ${String(id)}`), { session_id: 'alpha', cols: 1, rows: 1, cursor: { x: 0, y: 0 }, alt_screen: false, bracketed_paste: false, lines: [] }),
      kill: async (id) => (calls.push(`kill ${String(id)}`), { success: true, id: 'alpha', status: 'killed' }),
      rename: async (id, to) => (calls.push(`rename ${String(id)} ${to}`), { success: true, old_id: 'alpha', new_id: to }),
    },
    viewers: { attach: (e) => (calls.push(`subscribe ${e.id}`), () => calls.push(`unsubscribe ${e.id}`)) },
  });
  return { targets: t, calls };
}

const opts = { from: null, reply_to: null, thread_id: null, reply_expected: false, no_enter: false, wait: false, timeout_ms: DEFAULT_INJECT_TIMEOUT_MS };

describe('session targets (addresses → sessions, the one "is it on this machine?" decision)', () => {
  it('locates id and id@this-machine here, id@another there', () => {
    expect(locate('alpha', MACHINE)).toEqual({ local: true, id: 'alpha' });
    expect(locate(`alpha@${MACHINE}`, MACHINE)).toEqual({ local: true, id: 'alpha' });
    expect(locate('alpha@box-2', MACHINE)).toEqual({ local: false, id: 'alpha', machineId: 'box-2' });
    expect(codeOf(() => locate('bad id!', MACHINE))).toBe('INVALID_SESSION_ID');
  });

  it('resolves id and id@this-machine to the local session; id@another is UNKNOWN_HOST, an unknown id SESSION_NOT_FOUND', () => {
    const { targets: t } = targets();
    expect(t.resolve('alpha')).toMatchObject({ id: 'alpha', machineId: MACHINE, local: true });
    expect(t.resolve(`alpha@${MACHINE}`).id).toBe('alpha');
    expect(codeOf(() => t.resolve('alpha@box-2'))).toBe('UNKNOWN_HOST');
    expect(codeOf(() => t.resolve('ghost'))).toBe('SESSION_NOT_FOUND');
  });

  it('a local target injects, enters, reads, kills, renames and subscribes through the daemon services', async () => {
    const { targets: t, calls } = targets();
    const target = t.resolve(`alpha@${MACHINE}`);
    await target.inject('hi', opts);
    await target.enter(opts);
    await target.read({ scrollback: false, ansi: false });
    await target.rename('beta');
    await target.kill();
    const off = target.subscribe({} as ViewerHandle);
    off();
    expect(calls).toEqual(['inject alpha hi', 'enter alpha', 'read alpha', 'rename alpha beta', 'kill alpha', 'subscribe alpha', 'unsubscribe alpha']);
  });
});
