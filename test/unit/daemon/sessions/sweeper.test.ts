import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { SessionRegistry } from '../../../../src/daemon/sessions/registry.js';
import { startSweeper, type SweeperTimings } from '../../../../src/daemon/sessions/sweeper.js';
import type { SessionEntry } from '../../../../src/daemon/target.js';
import { waitFor } from '../../../helpers/env.js';
import { QueueingHost, hostHello, newHostInstance } from '../../../helpers/host-link.js';
import { RecordingLogger, RecordingSink } from '../../../helpers/recorders.js';

const T0 = Date.parse('2025-03-01T12:00:00.000Z');
const TIMINGS: SweeperTimings = { sweepIntervalMs: 5, healthIntervalMs: 10_000, idleThresholdMs: 60_000, exitedRetentionMs: 60_000, disconnectedExpireMs: 600_000 };

describe('sweeper', () => {
  let clock: number;
  let events: RecordingSink;
  let registry: SessionRegistry;
  let alive: Set<number>;
  let gone: string[];
  let sweeper: { stop(): void };

  beforeEach(() => {
    clock = T0;
    events = new RecordingSink();
    alive = new Set();
    gone = [];
    registry = new SessionRegistry({ machineId: 'box-1', events, now: () => clock, changed: () => undefined, isAlive: async (pid) => alive.has(pid) });
    sweeper = startSweeper(registry, events, TIMINGS, () => clock, async (pid) => alive.has(pid), new RecordingLogger(), async (e) => void gone.push(e.id));
  });

  afterEach(() => sweeper.stop());

  async function session(id: string, hostPid: number): Promise<SessionEntry> {
    const host = new QueueingHost();
    const { entry } = await registry.attachHost(hostHello(newHostInstance(), id, clock, {}, { host_pid: hostPid, last_activity_at: new Date(clock).toISOString() }), host);
    return entry;
  }

  it('announces a connected session idle once, past the threshold', async () => {
    await session('quiet', 1);
    clock += TIMINGS.idleThresholdMs;
    await waitFor('session.idle', () => events.kinds().includes('session.idle'));
    await new Promise((r) => setTimeout(r, 4 * TIMINGS.sweepIntervalMs));
    expect(events.events.filter((e) => e.kind === 'session.idle')).toEqual([{ kind: 'session.idle', fields: { session_id: 'quiet', idleSeconds: 60, lastActivityAt: new Date(T0).toISOString() } }]);
  });

  it('exits a disconnected session whose host process is gone, and ends what it left', async () => {
    const e = await session('orphaned', 999_999);
    registry.detachHost(e, e.link as NonNullable<SessionEntry['link']>);
    await waitFor('exited', () => e.status === 'exited');
    expect(events.events.find((x) => x.kind === 'session_exit')?.fields).toMatchObject({ session_id: 'orphaned', reason: 'host gone' });
    expect(gone).toEqual(['orphaned']);
  });

  it('keeps a disconnected session whose host lives until the expiry, then exits it', async () => {
    alive.add(4242);
    const e = await session('away', 4242);
    registry.detachHost(e, e.link as NonNullable<SessionEntry['link']>);
    await new Promise((r) => setTimeout(r, 4 * TIMINGS.sweepIntervalMs));
    expect(e.status).toBe('disconnected');
    clock += TIMINGS.disconnectedExpireMs + 1;
    await waitFor('expired', () => e.status === 'exited');
    expect(events.events.find((x) => x.kind === 'session_exit')?.fields).toMatchObject({ reason: 'host did not reconnect' });
    expect(gone).toEqual([]);
  });

  it('removes an exited session after its retention, and reports health of live ones on the health interval', async () => {
    const done = await session('done', 1);
    await session('live', 2);
    registry.markExited(done, 0, 'exited');
    clock += TIMINGS.healthIntervalMs;
    await waitFor('health', () => events.kinds().includes('session_health'));
    expect(events.events.filter((e) => e.kind === 'session_health').map((e) => e.fields.session_id)).toEqual(['live']);
    expect(registry.get('done')).toBe(done);
    clock += TIMINGS.exitedRetentionMs;
    await waitFor('removed', () => registry.get('done') === undefined);
  });
});
