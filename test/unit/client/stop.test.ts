import { describe, expect, it } from 'vitest';
import { awaitDaemonStop, type StopWatch } from '../../../src/client/stop.js';
import { stateReading, serializeRecord } from '../../../src/wire/state-file.js';
import { STATE_FILE_VERSION, type DaemonRecord } from '../../../src/protocol/daemon-state.js';

function record(n: number): DaemonRecord {
  return { state_version: STATE_FILE_VERSION, pid: 20_000 + n, host: '127.0.0.1', port: 41_000 + n, version: '0', started_at: '', nonce: `nonce-${String(n).padStart(12, '0')}` };
}

/**
 * A daemon as `awaitDaemonStop` sees it: whether its pid runs, what the state file holds, whether it answers
 * with its nonce. The test changes these between polls; signals are recorded and delivered as `onSignal` says.
 */
function world(ours: DaemonRecord) {
  const w = {
    alive: true,
    state: ours as DaemonRecord | null,
    answers: true,
    signals: [] as { pid: number; signal: string }[],
    onSignal: (): void => {
      w.alive = false;
    },
  };
  const watch: StopWatch = {
    record: ours,
    proves: async () => w.alive && w.answers,
    isAlive: async () => w.alive,
    readState: async () => stateReading(w.state ? serializeRecord(w.state) : null),
    signal: (pid, signal) => {
      w.signals.push({ pid, signal });
      w.onSignal();
    },
    pollMs: 2,
  };
  return { w, watch };
}

describe('awaitDaemonStop', () => {
  it('returns once the pid exits, without signalling', async () => {
    const { w, watch } = world(record(1));
    setTimeout(() => (w.alive = false), 20);
    expect(await awaitDaemonStop(watch, 2_000)).toBe(true);
    expect(w.signals).toEqual([]);
  });

  it('SIGTERMs a daemon that ignores the stop request only while it still proves its identity', async () => {
    const { w, watch } = world(record(1));
    expect(await awaitDaemonStop(watch, 50)).toBe(true);
    expect(w.signals).toEqual([{ pid: record(1).pid, signal: 'SIGTERM' }]);
  });

  it('counts a daemon replaced by another one (its claim gone, its nonce no longer answered) as stopped, and signals nothing', async () => {
    const { w, watch } = world(record(1));
    setTimeout(() => {
      w.state = record(2);
      w.answers = false; // the pid lives on (exiting, or reused) but no longer answers as our daemon
    }, 20);
    expect(await awaitDaemonStop(watch, 2_000)).toBe(true);
    expect(w.signals).toEqual([]);
  });

  it('counts a released claim whose pid no longer answers with our nonce as stopped', async () => {
    const { w, watch } = world(record(1));
    setTimeout(() => {
      w.state = null;
      w.answers = false;
    }, 20);
    expect(await awaitDaemonStop(watch, 2_000)).toBe(true);
    expect(w.signals).toEqual([]);
  });

  it('never signals a pid that stopped proving its identity, and reports that it did not stop', async () => {
    const { w, watch } = world(record(1));
    w.answers = false; // claim still ours, pid alive, but nothing answers with our nonce: the pid may be reused
    expect(await awaitDaemonStop(watch, 50)).toBe(false);
    expect(w.signals).toEqual([]);
  });

  it('treats ESRCH from the signal (it exited between proof and signal) as already gone', async () => {
    const { w, watch } = world(record(1));
    w.onSignal = () => {
      w.alive = false;
      throw Object.assign(new Error('kill ESRCH'), { code: 'ESRCH' });
    };
    expect(await awaitDaemonStop(watch, 50)).toBe(true);
    expect(w.signals).toHaveLength(1);
  });

  it('passes on any other signal failure', async () => {
    const { w, watch } = world(record(1));
    w.onSignal = () => {
      throw Object.assign(new Error('kill EPERM'), { code: 'EPERM' });
    };
    await expect(awaitDaemonStop(watch, 50)).rejects.toThrow(/EPERM/);
  });
});
