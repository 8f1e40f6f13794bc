import { promises as fs } from 'node:fs';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { CLAIM_GIVE_UP_MS, claimState, namesAddress, readState, releaseState, removeStaleState, serializeRecord, STALE_LOCK_MS } from '../../../src/wire/state-file.js';
import { STATE_FILE_VERSION, type DaemonRecord } from '../../../src/protocol/daemon-state.js';
import { makeHome } from '../../helpers/env.js';

function record(n: number): DaemonRecord {
  return {
    state_version: STATE_FILE_VERSION,
    pid: 10_000 + n,
    host: '127.0.0.1',
    port: 40_000 + n,
    version: '0.0.0-test',
    started_at: new Date(0).toISOString(),
    nonce: `nonce-${String(n).padStart(12, '0')}`,
  };
}

describe('singleton claim', () => {
  let home: { home: string; cleanup: () => void };
  let deps: { stateFile: string; lockFile: string; probe: (r: DaemonRecord) => Promise<boolean> };
  /** Nonces of daemons that "answer": the probe the real daemon makes over HTTP, injected. */
  let live: Set<string>;
  const probed: DaemonRecord[] = [];

  beforeEach(() => {
    home = makeHome();
    live = new Set();
    probed.length = 0;
    deps = {
      stateFile: path.join(home.home, 'daemon.json'),
      lockFile: path.join(home.home, 'daemon.json.lock'),
      probe: async (r) => {
        probed.push(r);
        return live.has(r.nonce);
      },
    };
  });
  afterEach(() => home.cleanup());

  it('claims an absent state file and writes the whole record', async () => {
    const r = record(1);
    const result = await claimState(r, deps);
    expect(result).toEqual({ claimed: true, record: r });
    const found = await readState(deps.stateFile);
    expect(found.kind === 'record' && found.record).toEqual(r);
    expect((await fs.stat(deps.stateFile)).mode & 0o777).toBe(0o600);
  });

  it('does not take over from a daemon that proves its identity', async () => {
    await claimState(record(1), deps);
    live.add(record(1).nonce);
    const result = await claimState(record(2), deps);
    expect(result).toEqual({ claimed: false, existing: record(1) });
    expect((await readState(deps.stateFile)).kind === 'record').toBe(true);
  });

  it('replaces a stale claim whose daemon does not answer', async () => {
    await claimState(record(1), deps);
    const result = await claimState(record(2), deps);
    expect(result.claimed).toBe(true);
    expect(probed.map((r) => r.nonce)).toEqual([record(1).nonce]);
    const found = await readState(deps.stateFile);
    expect(found.kind === 'record' && found.record.nonce).toBe(record(2).nonce);
  });

  it('replaces a corrupt or foreign state file without probing it', async () => {
    await fs.writeFile(deps.stateFile, '{"pid": 1, "not": "ours"');
    expect((await claimState(record(3), deps)).claimed).toBe(true);
    expect(probed).toEqual([]);
  });

  it('gives exactly one winner among many concurrent claimants', async () => {
    // A winner "answers" as soon as its file exists, as a real daemon does (it listens before claiming).
    deps.probe = async (r) => r.nonce.startsWith('nonce-');
    const results = await Promise.all(Array.from({ length: 12 }, (_, i) => claimState(record(i), deps)));
    const winners = results.filter((r) => r.claimed);
    expect(winners).toHaveLength(1);
    const winner = winners[0] as { record: DaemonRecord };
    for (const r of results) if (!r.claimed) expect(r.existing.nonce).toBe(winner.record.nonce);
  });

  it('gives exactly one winner when the file they race over is stale', async () => {
    await claimState(record(99), deps); // left behind by a dead daemon
    deps.probe = async (r) => r.nonce !== record(99).nonce;
    const results = await Promise.all(Array.from({ length: 8 }, (_, i) => claimState(record(i), deps)));
    expect(results.filter((r) => r.claimed)).toHaveLength(1);
  });

  it('never removes a fresh claim that replaced the stale one it was asked to remove', async () => {
    await claimState(record(1), deps);
    const staleRaw = serializeRecord(record(1));
    await fs.rm(deps.stateFile);
    await claimState(record(2), deps); // someone else already replaced it
    expect(await removeStaleState(staleRaw, deps)).toBe(false);
    const found = await readState(deps.stateFile);
    expect(found.kind === 'record' && found.record.nonce).toBe(record(2).nonce);
  });

  it('waits for a held replace lock, and breaks one left by a dead holder', async () => {
    await claimState(record(1), deps);
    await fs.writeFile(deps.lockFile, 'held');
    expect(await removeStaleState(serializeRecord(record(1)), deps)).toBe(false);
    expect((await readState(deps.stateFile)).kind).toBe('record');
    const old = new Date(Date.now() - STALE_LOCK_MS - 1_000);
    await fs.utimes(deps.lockFile, old, old);
    expect(await removeStaleState(serializeRecord(record(1)), deps)).toBe(false); // breaks the lock
    expect(await removeStaleState(serializeRecord(record(1)), deps)).toBe(true);
    expect((await readState(deps.stateFile)).kind).toBe('missing');
  });

  it('gets past a replace lock left by a holder that died: waits until the lock is stale, then claims', async () => {
    await claimState(record(1), deps); // a daemon that is gone (it does not answer)
    await fs.writeFile(deps.lockFile, 'held by a process that died'); // fresh: not yet stale
    let clock = Date.now();
    const waited: number[] = [];
    const result = await claimState(record(2), {
      ...deps,
      now: () => clock,
      sleep: async (ms) => {
        waited.push(ms);
        clock += ms;
      },
    });
    expect(result).toEqual({ claimed: true, record: record(2) });
    const found = await readState(deps.stateFile);
    expect(found.kind === 'record' && found.record.nonce).toBe(record(2).nonce);
    // It waited for the lock to age past STALE_LOCK_MS, no longer.
    const total = waited.reduce((a, b) => a + b, 0);
    expect(total).toBeGreaterThan(STALE_LOCK_MS - 100);
    expect(total).toBeLessThan(CLAIM_GIVE_UP_MS);
  });

  it('gives up on a claim it cannot make in CLAIM_GIVE_UP_MS', async () => {
    await claimState(record(1), deps);
    let clock = Date.now();
    const lockAlwaysFresh = async (ms: number): Promise<void> => {
      clock += ms;
      // Someone keeps renewing the lock (a live holder), so it never goes stale.
      await fs.writeFile(deps.lockFile, 'held');
      const t = new Date(clock);
      await fs.utimes(deps.lockFile, t, t);
    };
    await fs.writeFile(deps.lockFile, 'held');
    const start = clock;
    await expect(claimState(record(2), { ...deps, now: () => clock, sleep: lockAlwaysFresh })).rejects.toThrow(/could not claim/);
    expect(clock - start).toBeGreaterThanOrEqual(CLAIM_GIVE_UP_MS);
    expect((await readState(deps.stateFile)).kind).toBe('record'); // the old claim is left as it was
  });

  it('releases only its own claim', async () => {
    await claimState(record(1), deps);
    expect(await releaseState(record(2), deps)).toBe(false);
    expect((await readState(deps.stateFile)).kind).toBe('record');
    expect(await releaseState(record(1), deps)).toBe(true);
    expect((await readState(deps.stateFile)).kind).toBe('missing');
  });

  it('takes a record naming its own listening address as stale without probing it (the probe would wait on itself)', async () => {
    await claimState(record(1), deps);
    live.add(record(1).nonce); // even a "live" answer is never asked for: nobody else can listen on our port
    probed.length = 0;
    const mine = { ...record(2), port: record(1).port };
    const result = await claimState(mine, { ...deps, ownAddress: { host: '127.0.0.1', port: record(1).port } });
    expect(result).toEqual({ claimed: true, record: mine });
    expect(probed).toEqual([]);
  });

  it('still probes a record naming another address than its own', async () => {
    await claimState(record(1), deps);
    live.add(record(1).nonce);
    probed.length = 0;
    const result = await claimState(record(2), { ...deps, ownAddress: { host: '127.0.0.1', port: record(2).port } });
    expect(result).toEqual({ claimed: false, existing: record(1) });
    expect(probed.map((r) => r.nonce)).toEqual([record(1).nonce]);
  });

  it('claims once a slow probe found the record stale, even past the give-up time', async () => {
    await claimState(record(1), deps);
    let clock = Date.now();
    const slowProbe = async (): Promise<boolean> => {
      clock += 5_000; // a probe's timeout against something that accepts and never answers
      return false;
    };
    const result = await claimState(record(2), { ...deps, probe: slowProbe, now: () => clock });
    expect(result).toEqual({ claimed: true, record: record(2) });
  });

  it('knows which addresses its own socket covers', () => {
    const own = { host: '127.0.0.1', port: 3848 };
    expect(namesAddress({ host: '127.0.0.1', port: 3848 }, own)).toBe(true);
    expect(namesAddress({ host: 'localhost', port: 3848 }, own)).toBe(true);
    expect(namesAddress({ host: '0.0.0.0', port: 3848 }, own)).toBe(true);
    expect(namesAddress({ host: '127.0.0.1', port: 3849 }, own)).toBe(false);
    expect(namesAddress({ host: '10.0.0.5', port: 3848 }, own)).toBe(false);
    expect(namesAddress({ host: '10.0.0.5', port: 3848 }, { host: '0.0.0.0', port: 3848 })).toBe(true);
  });
});
