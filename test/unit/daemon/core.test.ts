import { promises as fs } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { createCore, type DaemonCore } from '../../../src/daemon/core.js';
import { HostLinkConnection } from '../../../src/daemon/sessions/host-hub.js';
import { settingsFromEnv } from '../../../src/daemon/settings.js';
import { DEFAULT_DAEMON_TIMINGS } from '../../../src/daemon/timings.js';
import { isTeleptyError } from '../../../src/protocol/errors.js';
import { DEFAULT_INJECT_TIMEOUT_MS, type InjectOptions } from '../../../src/protocol/inject.js';
import type { TeleptyConfig } from '../../../src/util/config.js';
import { resolvePaths } from '../../../src/util/paths.js';
import { waitFor } from '../../helpers/env.js';
import { RecordingLogger } from '../../helpers/recorders.js';
import { BusRecorder, FakeLinkHost, linkHello, turns } from './fake-link.js';

const MACHINE = 'box-core';

function opts(over: Partial<InjectOptions> = {}): InjectOptions {
  return { from: null, reply_to: null, thread_id: null, reply_expected: false, no_enter: false, wait: false, timeout_ms: DEFAULT_INJECT_TIMEOUT_MS, ...over };
}

/** The core, in-process: no server, no sockets; hosts reach it through host-hub over in-memory channels. */
describe('daemon core', () => {
  let dir: string;
  let core: DaemonCore;
  let bus: BusRecorder;
  const hosts: FakeLinkHost[] = [];

  beforeEach(async () => {
    dir = await fs.mkdtemp(path.join(os.tmpdir(), 'telepty-core-'));
    const config: TeleptyConfig = { paths: await resolvePaths({ TELEPTY_HOME: dir }), host: '127.0.0.1', port: 0, machineId: MACHINE, addressExplicit: false };
    core = createCore({ config, env: {}, settings: settingsFromEnv({}), log: new RecordingLogger(), timings: DEFAULT_DAEMON_TIMINGS, now: Date.now });
    await core.load();
    core.activate();
    bus = new BusRecorder();
    core.bus.subscribe(bus, null);
  });

  afterEach(async () => {
    for (const h of hosts.splice(0)) h.close(1000, 'test over');
    await core.stop();
    await fs.rm(dir, { recursive: true, force: true });
  });

  /** A host on the real host-link code (host-hub), over an in-memory channel; it has said nothing yet. */
  function linkHost(): FakeLinkHost {
    const { sessions } = core;
    const host = new FakeLinkHost();
    host.link = new HostLinkConnection(host, {
      registry: sessions.registry,
      viewers: sessions.viewers,
      injector: sessions.injector,
      log: new RecordingLogger(),
      timings: DEFAULT_DAEMON_TIMINGS,
      onExit: (e) => sessions.onHostExit(e),
      spawnedBy: (rid, e) => sessions.spawnedBy(rid, e),
    });
    hosts.push(host);
    return host;
  }

  /** A host connected (hello answered with welcome). */
  async function connect(id: string, instance = `instance-${id}`.padEnd(24, '0')): Promise<FakeLinkHost> {
    const host = linkHost();
    host.say(linkHello(instance, id));
    await turns();
    expect(host.ofType('welcome')).toEqual([{ type: 'welcome', link_version: 3, session_id: id }]);
    return host;
  }

  it('lists a host that said hello, with this machine in its locator', async () => {
    await connect('alpha');
    const [s] = await core.sessions.list();
    expect(s).toMatchObject({ id: 'alpha', status: 'connected', type: 'spawned', locator: { machine_id: MACHINE, session_id: 'alpha' } });
    expect(bus.ofKind('session_register')).toHaveLength(1);
  });

  it('injects through the host and publishes the outcome the host reports, once, then acks it', async () => {
    const host = await connect('alpha');
    const r = await core.injector.inject('alpha', 'hello there', opts({ from: 'beta' }));
    expect(r).toMatchObject({ success: true, session_id: 'alpha', status: 'queued' });
    const [req] = host.ofType('request');
    expect(req).toMatchObject({ op: 'inject', args: { inject_id: r.inject_id, text: 'hello there', meta: { from: 'beta', reply_to: null } } });

    host.say({ type: 'inject_written', inject_id: r.inject_id, written_at: '2025-03-01T12:00:01.000Z' });
    const result = { type: 'inject_result', inject_id: r.inject_id, status: 'submitted', written_at: '2025-03-01T12:00:01.000Z', submitted_at: '2025-03-01T12:00:02.000Z' };
    host.say(result);
    host.say(result); // sent again (its ack was lost): published once
    await turns();
    expect(bus.ofKind('inject_written')).toEqual([expect.objectContaining({ inject_id: r.inject_id, target_agent: 'alpha', content: 'hello there', from: 'beta' })]);
    expect(bus.ofKind('submitted')).toEqual([expect.objectContaining({ inject_id: r.inject_id, target_agent: 'alpha' })]);
    expect(host.ofType('inject_ack').flatMap((a) => a.inject_ids)).toEqual([r.inject_id, r.inject_id]);
    expect((await core.sessions.get('alpha')).last_reply_to).toBe('beta');
  });

  it('publishes inject_failed for an inject to a session it does not know, and refuses it', async () => {
    const err = await core.injector.inject('ghost', 'hi', opts()).catch((e: unknown) => e);
    expect(isTeleptyError(err) && err.code).toBe('SESSION_NOT_FOUND');
    await turns();
    expect(bus.ofKind('inject_failed')).toEqual([expect.objectContaining({ inject_id: null, target_agent: 'ghost', code: 'SESSION_NOT_FOUND', delivered: false, source_type: 'api' })]);
  });

  it('renames a session: the host is told, the list has the new id', async () => {
    const host = await connect('alpha');
    expect(await core.sessions.rename('alpha', 'gamma')).toEqual({ success: true, old_id: 'alpha', new_id: 'gamma' });
    expect(host.ofType('rename')).toEqual([{ type: 'rename', new_id: 'gamma' }]);
    expect((await core.sessions.list()).map((s) => s.id)).toEqual(['gamma']);
  });

  it('kills a session: the host is told, its exit report ends the kill, the session leaves the list', async () => {
    const host = await connect('alpha');
    const killed = core.sessions.kill('alpha', { wait: true });
    // Told once the pending kill is on disk.
    await waitFor('the kill at the host', () => host.ofType('kill').length === 1);
    host.say({ type: 'exit', code: null, signal: 1 });
    expect(await killed).toEqual({ success: true, id: 'alpha', status: 'killed', exit_code: 129 });
    expect(await core.sessions.list()).toEqual([]);
    expect(bus.ofKind('session_exit')).toHaveLength(1);
  });

  it('resolves addresses to targets: id and id@this-machine to the session, id@another to UNKNOWN_HOST', async () => {
    const host = await connect('alpha');
    expect(core.targets.resolve('alpha')).toMatchObject({ id: 'alpha', machineId: MACHINE, local: true });
    const target = core.targets.resolve(`alpha@${MACHINE}`);
    expect((await target.read({ scrollback: false, ansi: false })).lines).toEqual(['$ ']);
    expect(host.ofType('request').map((r) => r.op)).toEqual(['screen']);
    const err = (() => {
      try {
        core.targets.resolve('alpha@elsewhere');
      } catch (e) {
        return e;
      }
      return null;
    })();
    expect(isTeleptyError(err) && [err.code, err.message]).toEqual(['UNKNOWN_HOST', 'target alpha@elsewhere is on host elsewhere; no peer is configured for it, so it was not delivered']);
  });

  it('routes a turn_request on the bus to the target session (the auto-router is part of the core)', async () => {
    const host = await connect('alpha');
    core.bus.publish({ message_id: 'm-1', kind: 'turn_request', source: 'delib', target: `alpha@${MACHINE}`, payload: { turn_id: 't-1', prompt: 'your turn' } });
    // Handed on once the turn is on disk (turn-follows.json): a write, not a fixed number of turns of the loop.
    await waitFor('the routed job at the host', () => host.ofType('request').length > 0);
    expect(host.ofType('request')).toEqual([expect.objectContaining({ op: 'inject', args: expect.objectContaining({ text: 'your turn', meta: expect.objectContaining({ source_type: 'bus_auto_route', reply_to: 'delib' }) }) })]);
  });

  it('persists what it was told: a second core on the same home restores the session, disconnected', async () => {
    await connect('alpha');
    await core.stop();
    const config: TeleptyConfig = { paths: await resolvePaths({ TELEPTY_HOME: dir }), host: '127.0.0.1', port: 0, machineId: MACHINE, addressExplicit: false };
    const next = createCore({ config, env: {}, settings: settingsFromEnv({}), log: new RecordingLogger(), timings: DEFAULT_DAEMON_TIMINGS, now: Date.now });
    await next.load();
    expect((await next.sessions.list()).map((s) => [s.id, s.status])).toEqual([['alpha', 'disconnected']]);
    await next.stop();
  });

  it('welcomes a host that announces its link features with its own, and publishes its agent states as session.state', async () => {
    const { sessions } = core;
    const host = linkHost();
    host.say(linkHello('instance-agent'.padEnd(24, '0'), 'agent', { features: ['agent_state', 'keys', 'hook'] }));
    await turns();
    expect(host.ofType('welcome')).toEqual([{ type: 'welcome', link_version: 3, session_id: 'agent', features: ['agent_state', 'keys', 'hook', 'since', 'last_screen'] }]);
    host.say({ type: 'agent_state', state: 'blocked', since: 1_000, source: 'screen', detail: 'Do you want to proceed?', reason: 'screen rule claude.dialog', explain: ['e'] });
    await turns();
    expect(bus.ofKind('session.state')).toHaveLength(1);
    const [s] = await sessions.list();
    expect(s).toMatchObject({ state: 'blocked', state_source: 'screen', state_detail: 'Do you want to proceed?', state_since: new Date(1_000).toISOString() });
    expect(await sessions.state.state('agent')).toMatchObject({ state: 'blocked', explain: ['e'] });
  });
});
