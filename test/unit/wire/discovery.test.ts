import { promises as fs } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { STATE_FILE_VERSION, type DaemonRecord } from '../../../src/protocol/daemon-state.js';
import type { TeleptyError } from '../../../src/protocol/errors.js';
import type { MetaResponse } from '../../../src/protocol/meta.js';
import { loadConfig, type TeleptyConfig } from '../../../src/util/config.js';
import { homeId } from '../../../src/util/paths.js';
import { locateDaemon } from '../../../src/wire/discovery.js';
import type { Endpoint } from '../../../src/wire/http.js';
import { serializeRecord } from '../../../src/wire/state-file.js';
import { freePort, makeHome, testEnv } from '../../helpers/env.js';

/** Something at an address that answers /api/meta as a daemon would, with the identity it is given. */
async function fakeDaemon(meta: () => Partial<MetaResponse>): Promise<{ port: number; asked: () => number; close: () => Promise<void> }> {
  let asked = 0;
  const server: Server = createServer((req, res) => {
    asked++;
    res.setHeader('content-type', 'application/json');
    res.end(JSON.stringify(req.url === '/api/meta' ? meta() : { error: 'not found', code: 'NOT_FOUND' }));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    port: (server.address() as AddressInfo).port,
    asked: () => asked,
    close: () => new Promise((resolve) => server.close(() => resolve())),
  };
}

function metaOf(over: Partial<MetaResponse>): Partial<MetaResponse> {
  return { name: 'telepty', version: '0.2.0', pid: 4242, host: '127.0.0.1', port: 1, machine_id: 'm', started_at: '', uptime_seconds: 1, nonce: 'n'.repeat(32), capabilities: [], ...over };
}

function recordAt(port: number, over: Partial<DaemonRecord> = {}): DaemonRecord {
  return { state_version: STATE_FILE_VERSION, pid: 4242, host: '127.0.0.1', port, version: '0.2.0', started_at: new Date(0).toISOString(), nonce: 'n'.repeat(32), ...over };
}

/** What locateDaemon found, with its proof settled. */
async function located(...args: Parameters<typeof locateDaemon>): Promise<{ endpoint: Endpoint; proven: boolean } | null> {
  const found = await locateDaemon(...args);
  return found && { endpoint: found.endpoint, proven: await found.proven };
}

describe('locateDaemon (how a session host finds its daemon)', () => {
  let home: { home: string; cleanup: () => void };
  const closers: (() => Promise<void>)[] = [];

  beforeEach(() => {
    home = makeHome();
  });
  afterEach(async () => {
    for (const c of closers.splice(0)) await c();
    home.cleanup();
  });

  async function setup(extra: Record<string, string> = {}): Promise<{ config: TeleptyConfig; env: NodeJS.ProcessEnv }> {
    const env = testEnv(home.home, extra);
    const config = await loadConfig(env);
    await fs.mkdir(config.paths.dataDir, { recursive: true });
    return { config, env };
  }

  it('connects to the daemon the state file names once it answers with the record nonce and pid', async () => {
    const d = await fakeDaemon(() => metaOf({}));
    closers.push(d.close);
    const { config, env } = await setup();
    await fs.writeFile(config.paths.stateFile, serializeRecord(recordAt(d.port)));
    expect(await located(config, env)).toEqual({ endpoint: { host: '127.0.0.1', port: d.port, token: undefined }, proven: true });
    expect(d.asked()).toBe(1);
  });

  it('does not connect to whatever now holds the port of a stale record (another nonce or pid)', async () => {
    const d = await fakeDaemon(() => metaOf({ nonce: 'o'.repeat(32) }));
    closers.push(d.close);
    const { config, env } = await setup();
    await fs.writeFile(config.paths.stateFile, serializeRecord(recordAt(d.port)));
    expect(await located(config, env)).toMatchObject({ proven: false });
    await fs.writeFile(config.paths.stateFile, serializeRecord(recordAt(d.port, { pid: 1 })));
    expect(await located(config, env)).toMatchObject({ proven: false });
  });

  it('gives null without a state file (a host retries), and no proof for a record whose daemon is gone', async () => {
    const { config, env } = await setup();
    expect(await located(config, env)).toBeNull();
    await fs.writeFile(config.paths.stateFile, serializeRecord(recordAt(await freePort())));
    expect(await located(config, env)).toMatchObject({ proven: false });
  });

  it('tries an address set in the environment that does not answer yet (the daemon may be starting)', async () => {
    const port = await freePort();
    const { config, env } = await setup({ TELEPTY_PORT: String(port) });
    expect(await located(config, env)).toEqual({ endpoint: { host: '127.0.0.1', port, token: undefined }, proven: true });
  });

  it('refuses an address set in the environment whose daemon serves another home, and says why', async () => {
    const { config, env } = await setup();
    const other = await fakeDaemon(() => metaOf({ home_id: 'f'.repeat(16), home: '/elsewhere' }));
    closers.push(other.close);
    const told: TeleptyError[] = [];
    expect(await located({ ...config, port: other.port, addressExplicit: true }, env, (err) => told.push(err))).toBeNull();
    expect(told.map((e) => e.code)).toEqual(['DAEMON_MISMATCH']);
    // The same kind of address serving this home is taken.
    const ownId = await homeId(config.paths);
    const ours = await fakeDaemon(() => metaOf({ home_id: ownId }));
    closers.push(ours.close);
    expect(await located({ ...config, port: ours.port, addressExplicit: true }, env, (err) => told.push(err))).toEqual({ endpoint: { host: '127.0.0.1', port: ours.port, token: undefined }, proven: true });
    expect(told).toHaveLength(1);
  });

  it('sends the token of the environment with the proof', async () => {
    let seen: string | undefined;
    const server = createServer((req, res) => {
      seen = req.headers['x-telepty-token'] as string | undefined;
      res.end(JSON.stringify(metaOf({})));
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    closers.push(() => new Promise((resolve) => server.close(() => resolve())));
    const port = (server.address() as AddressInfo).port;
    const { config, env } = await setup({ TELEPTY_TOKEN: 't'.repeat(43) });
    await fs.writeFile(config.paths.stateFile, serializeRecord(recordAt(port)));
    expect(await located(config, env)).toEqual({ endpoint: { host: '127.0.0.1', port, token: 't'.repeat(43) }, proven: true });
    expect(seen).toBe('t'.repeat(43));
  });
});
