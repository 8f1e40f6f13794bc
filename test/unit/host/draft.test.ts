import { describe, expect, it } from 'vitest';
import { DraftTracker } from '../../../src/host/draft.js';
import { InjectQueue, type CursorState, type InjectOutcome, type InjectTarget, type InjectTimings } from '../../../src/terminal/inject-queue.js';

describe('DraftTracker: a half-typed line', () => {
  const after = (...reads: string[]): boolean => {
    const d = new DraftTracker();
    for (const r of reads) d.feed(r);
    return d.pending;
  };

  it('is pending after printable keys, and cleared by Enter, Ctrl-C, Ctrl-U or Esc alone', () => {
    expect(after()).toBe(false);
    expect(after('b', 'b', 'b', 'b')).toBe(true);
    expect(after('bbbb\r')).toBe(false);
    expect(after('bbbb', '\n')).toBe(false);
    expect(after('bbbb', '\x03')).toBe(false);
    expect(after('bbbb', '\x15')).toBe(false);
    expect(after('bbbb', '\x1b')).toBe(false);
    expect(after('done\r', 'x')).toBe(true);
  });

  it('counts Backspace, and ignores cursor keys and other escape sequences', () => {
    expect(after('ab', '\x7f', '\x7f')).toBe(false);
    expect(after('ab', '\x7f')).toBe(true);
    expect(after('\x7f\x7f\x7f')).toBe(false);
    expect(after('\x1b[A', '\x1bOB', '\x1b[1;5C')).toBe(false);
    expect(after('x', '\x1b[D')).toBe(true);
    // A paste from a viewer is text too.
    expect(after('\x1b[200~pasted\x1b[201~')).toBe(true);
  });

  it('knows a draft sent with `telepty keys` alone from one a person typed part of', () => {
    const d = new DraftTracker();
    d.feed('abc', 'keys');
    expect([d.pending, d.byKeysOnly]).toEqual([true, true]);
    d.feed('x');
    expect([d.pending, d.byKeysOnly]).toEqual([true, false]);
    d.feed('\r', 'keys');
    expect([d.pending, d.byKeysOnly]).toEqual([false, false]);
    d.feed('y');
    d.feed('\x7f');
    d.feed('z', 'keys');
    expect(d.byKeysOnly).toBe(true);
    d.feed('\x1b', 'keys'); // `telepty keys ID Escape`: a key of its own
    expect(d.pending).toBe(false);
  });
});

/** Small timings; the defer limit is what a held job gives up after. */
const T: InjectTimings = {
  typingPauseMs: 20,
  typingDeferMaxMs: 300,
  settleMs: 5,
  settleNoTailMs: 20,
  noEchoMs: 20,
  consumeMaxMs: 500,
  consumePerKCharMs: 0,
  burstGuardMs: 10,
  submitWatchMs: 30,
  writeStallMs: 100,
  pollMs: 1,
  quietMaxMs: 200,
};

function rig(): { queue: InjectQueue; writes: string[]; draft: DraftTracker; outcome: (id: string) => Promise<InjectOutcome> } {
  const writes: string[] = [];
  const draft = new DraftTracker();
  const state: CursorState = { buffer: 'normal', x: 0, y: 0, line: '' };
  const target: InjectTarget = {
    write: (d) => writes.push(d),
    writeQueueEmpty: () => true,
    bracketedPaste: () => false,
    cursorState: async () => ({ ...state }),
    lastInputAt: () => 0,
    draftPending: () => draft.pending,
    draftByKeysOnly: () => draft.byKeysOnly,
    exited: () => false,
    canonicalInput: async () => null,
  };
  const waiters = new Map<string, (o: InjectOutcome) => void>();
  const done = new Map<string, InjectOutcome>();
  const queue = new InjectQueue(
    target,
    {
      written: () => undefined,
      done: (id, o) => {
        done.set(id, o);
        waiters.get(id)?.(o);
      },
    },
    T,
    () => undefined,
  );
  const outcome = (id: string): Promise<InjectOutcome> => {
    const d = done.get(id);
    return d ? Promise.resolve(d) : new Promise((r) => waiters.set(id, r));
  };
  return { queue, writes, draft, outcome };
}

describe('InjectQueue: a person\'s draft is never merged with a prompt', () => {
  it('holds the job while the line has a draft, and types it once the line is cleared', async () => {
    const r = rig();
    r.draft.feed('bbbb');
    r.queue.enqueue({ inject_id: 'j1', text: 'echo hi', no_enter: false, enter_only: false });
    await new Promise((res) => setTimeout(res, 100));
    expect(r.writes).toEqual([]);
    r.draft.feed('\x15');
    const o = await r.outcome('j1');
    expect(o.status).not.toBe('failed');
    expect(r.writes[0]).toBe('echo hi');
  });

  it('gives up with SESSION_BUSY after the defer limit, nothing typed, saying why', async () => {
    const r = rig();
    r.draft.feed('bbbb');
    const started = Date.now();
    r.queue.enqueue({ inject_id: 'j1', text: 'echo hi', no_enter: false, enter_only: false });
    const o = await r.outcome('j1');
    expect(o).toMatchObject({ status: 'failed', code: 'SESSION_BUSY' });
    expect(o.status === 'failed' ? o.error : '').toMatch(/half-typed line/);
    expect(Date.now() - started).toBeGreaterThanOrEqual(T.typingDeferMaxMs);
    expect(r.writes).toEqual([]);
  });

  it('Enter alone goes at once after text sent with `telepty keys` (it submits that text), but waits on a person\'s', async () => {
    const r = rig();
    r.draft.feed('ls', 'keys');
    r.queue.enqueue({ inject_id: 'e1', text: '', no_enter: false, enter_only: true });
    expect((await r.outcome('e1')).status).not.toBe('failed');
    expect(r.writes).toEqual(['\r']);
    const p = rig();
    p.draft.feed('ls');
    p.queue.enqueue({ inject_id: 'e2', text: '', no_enter: false, enter_only: true });
    expect(await p.outcome('e2')).toMatchObject({ status: 'failed', code: 'SESSION_BUSY' });
    expect(p.writes).toEqual([]);
  });

  it('types anyway with force', async () => {
    const r = rig();
    r.draft.feed('bbbb');
    r.queue.enqueue({ inject_id: 'j1', text: 'echo hi', no_enter: false, enter_only: false, force: true });
    const o = await r.outcome('j1');
    expect(o.status).not.toBe('failed');
    expect(r.writes[0]).toBe('echo hi');
  });
});
