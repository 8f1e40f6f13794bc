import { randomBytes } from 'node:crypto';
import { promises as fs } from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ResultPromise } from 'execa';
import WebSocket from 'ws';
import { HOST_LINK_PATH, HOST_LINK_VERSION } from '../../src/protocol/host-link.js';
import { TOKEN_HEADER } from '../../src/protocol/headers.js';
import { parseJson, runCli, spawnCli } from '../helpers/cli.js';
import { liveDaemon, useHomes } from '../helpers/daemon.js';
import { ROOT, waitFor } from '../helpers/env.js';
import { createNetns, type Netns } from '../helpers/netns.js';

/**
 * Auth from a peer that is not loopback: a network namespace on a private veth pair. The daemon listens on the
 * veth address (never on a wildcard), so only this machine and the namespace can reach it.
 */
const homes = useHomes();
const WS_PROBE = path.join(ROOT, 'test', 'fixtures', 'ws-probe.mjs');
const REMOTE_CLIENT = path.join(ROOT, 'test', 'fixtures', 'remote-client.mjs');
/** An error text a session host might report: a file path, and a stack trace on the next line. */
const LEAKY_ERROR = 'pty write failed for /home/alice/.secret/project/notes.txt\n    at write (/srv/telepty/dist/host/pty.js:10:3)';
const octet = (): number => 10 + Math.floor(Math.random() * 240);

interface Remote {
  ns: Netns;
  home: string;
  port: number;
  token: string;
  daemon: ResultPromise;
}

async function remoteDaemon(prefix: string, env: Record<string, string> = {}): Promise<Remote | string> {
  const ns = await createNetns(prefix);
  if ('skip' in ns) return ns.skip;
  const home = homes.newHome();
  const daemon = spawnCli(home, ['daemon', '--host', ns.hostIp, '--port', '0'], { env });
  try {
    const live = await waitFor('the daemon on the veth address', () => liveDaemon(home));
    const token = (await fs.readFile(path.join(home, 'token'), 'utf8')).trim();
    return { ns, home, port: live.record.port, token, daemon };
  } catch (err) {
    daemon.kill('SIGTERM');
    await ns.cleanup();
    throw err;
  }
}

/** curl from inside the namespace: status and JSON body. */
async function curl(r: Remote, urlPath: string, args: string[] = []): Promise<{ status: number; json: Record<string, unknown> }> {
  const out = await r.ns.exec(['curl', '-s', '-m', '5', '-w', '\n%{http_code}', ...args, `http://${r.ns.hostIp}:${r.port}${urlPath}`]);
  const lines = out.stdout.trimEnd().split('\n');
  const status = Number(lines.pop());
  const body = lines.join('\n');
  return { status, json: body ? (JSON.parse(body) as Record<string, unknown>) : {} };
}

async function wsProbe(r: Remote, urlPath: string, headers: string[] = []): Promise<string> {
  return (await r.ns.exec([process.execPath, WS_PROBE, `ws://${r.ns.hostIp}:${r.port}${urlPath}`, ...headers])).stdout.trim();
}

/** remote-client.mjs from inside the namespace: its JSON lines. */
async function remoteClient(r: Remote, urlPath: string, args: string[]): Promise<Record<string, unknown>[]> {
  const out = await r.ns.exec([process.execPath, REMOTE_CLIENT, `ws://${r.ns.hostIp}:${r.port}${urlPath}`, '--header', `x-telepty-token:${r.token}`, ...args]);
  return out.stdout.trim().split('\n').filter(Boolean).map((l) => JSON.parse(l) as Record<string, unknown>);
}

/**
 * A session host on this machine that answers every inject job with LEAKY_ERROR (through the real host link).
 * Resolves once the daemon has welcomed it.
 */
async function leakyHost(r: Remote, id: string): Promise<WebSocket> {
  const ws = new WebSocket(`ws://${r.ns.hostIp}:${r.port}${HOST_LINK_PATH}`, { headers: { [TOKEN_HEADER]: r.token } });
  await new Promise((resolve, reject) => {
    ws.once('open', resolve);
    ws.once('error', reject);
  });
  const welcomed = new Promise<void>((resolve) => {
    ws.on('message', (data: Buffer) => {
      const msg = JSON.parse(data.toString()) as { type: string; req_id?: number; op?: string };
      if (msg.type === 'welcome') resolve();
      if (msg.type === 'request') {
        const reply = msg.op === 'inject' ? { ok: false, error: { error: LEAKY_ERROR, code: 'INTERNAL' } } : { ok: true, result: {} };
        ws.send(JSON.stringify({ type: 'reply', req_id: msg.req_id, ...reply }));
      }
    });
  });
  const now = new Date().toISOString();
  ws.send(
    JSON.stringify({
      type: 'hello',
      link_version: HOST_LINK_VERSION,
      host_instance: randomBytes(16).toString('hex'),
      session_id: id,
      id_flexible: false,
      session: { type: 'wrapped', command: 'sh', args: [], cwd: '/', pid: process.pid, host_pid: process.pid, cols: 80, rows: 24, term: 'xterm', created_at: now, last_activity_at: now, bracketed_paste: false, alt_screen: false },
    }),
  );
  await welcomed;
  return ws;
}

async function stop(r: Remote | string | undefined): Promise<void> {
  if (!r || typeof r === 'string') return;
  r.daemon.kill('SIGTERM');
  await r.daemon;
  await r.ns.cleanup();
}

describe('auth from another host (network namespace)', () => {
  let plain: Remote | string;
  let allowlisted: Remote | string;
  let tailscale: Remote | string;
  let rotating: Remote | string;

  beforeAll(async () => {
    const a = octet();
    plain = await remoteDaemon(`10.231.${a}`);
    allowlisted = await remoteDaemon(`10.232.${a}`, { TELEPTY_PEER_ALLOWLIST: `10.232.${a}.0/24` });
    // 100.64.0.0/10 (Tailscale's range), with the daemon listening beyond loopback.
    tailscale = await remoteDaemon(`100.100.${a}`);
    // Its own daemon: the token rotation test changes the token.
    rotating = await remoteDaemon(`10.233.${a}`);
  }, 60_000);

  afterAll(async () => {
    for (const r of [plain, allowlisted, tailscale, rotating]) await stop(r);
  }, 60_000);

  function need(r: Remote | string): Remote {
    if (typeof r === 'string') {
      console.warn(`skipping: ${r}`);
      return null as unknown as Remote;
    }
    return r;
  }

  it('answers 401 without a token and works with it, by header or bearer, never from the query string', async (ctx) => {
    const r = need(plain);
    if (!r) return ctx.skip();
    const none = await curl(r, '/api/sessions');
    expect(none).toEqual({ status: 401, json: expect.objectContaining({ code: 'UNAUTHORIZED', error: expect.any(String) }) });
    const wrong = await curl(r, '/api/sessions', ['-H', 'x-telepty-token: nope']);
    expect(wrong.status).toBe(401);
    expect(await curl(r, '/api/sessions', ['-H', `x-telepty-token: ${r.token}`])).toEqual({ status: 200, json: expect.any(Array) as unknown as Record<string, unknown> });
    expect((await curl(r, '/api/meta', ['-H', `Authorization: Bearer ${r.token}`])).status).toBe(200);
    expect((await curl(r, `/api/sessions?token=${r.token}`)).status).toBe(401);
    expect((await curl(r, '/api/health')).status).toBe(200);
  });

  it('applies the same rules to WebSocket upgrades', async (ctx) => {
    const r = need(plain);
    if (!r) return ctx.skip();
    expect(await wsProbe(r, '/api/bus')).toMatch(/^refused 401 .*UNAUTHORIZED/);
    expect(await wsProbe(r, `/api/bus?token=${r.token}`)).toMatch(/^refused 401/);
    expect(await wsProbe(r, '/api/bus', [`x-telepty-token:${r.token}`])).toBe('open');
  });

  it('trusts an allowlisted CIDR without a token', async (ctx) => {
    const r = need(allowlisted);
    if (!r) return ctx.skip();
    expect((await curl(r, '/api/sessions')).status).toBe(200);
    expect(await wsProbe(r, '/api/bus')).toBe('open');
  });

  it('trusts a 100.64.0.0/10 peer when the daemon listens beyond loopback (and no other range)', async (ctx) => {
    const r = need(tailscale);
    if (!r) return ctx.skip();
    expect((await curl(r, '/api/sessions')).status).toBe(200);
    const p = need(plain);
    if (p) expect((await curl(p, '/api/sessions')).status).toBe(401);
  });

  it('keeps token rotation and daemon stop to the local user, even with the token', async (ctx) => {
    const r = need(plain);
    if (!r) return ctx.skip();
    const auth = ['-H', `x-telepty-token: ${r.token}`, '-H', 'content-type: application/json', '-d', '{}'];
    expect((await curl(r, '/api/token/rotate', auth)).status).toBe(403);
    expect((await curl(r, '/api/daemon/stop', auth)).status).toBe(403);
    expect(await liveDaemon(r.home)).not.toBeNull();
  });

  it('`telepty token --rotate` on this machine retires the old token for remote peers at once; the new one works', async (ctx) => {
    const r = need(rotating);
    if (!r) return ctx.skip();
    const shown = await runCli(r.home, ['token']);
    expect(shown.stdout.trim()).toBe(r.token);
    expect((await curl(r, '/api/sessions', ['-H', `x-telepty-token: ${r.token}`])).status).toBe(200);

    // The CLI reaches this daemon on its veth address, not loopback: still the local user, so rotation is allowed.
    const rotated = await runCli(r.home, ['token', '--rotate', '--json']);
    expect(rotated.exitCode, rotated.stderr).toBe(0);
    const fresh = parseJson<{ token: string; rotated: boolean }>(rotated);
    expect(fresh.rotated).toBe(true);
    expect(fresh.token).not.toBe(r.token);
    expect((await fs.readFile(path.join(r.home, 'token'), 'utf8')).trim()).toBe(fresh.token);

    expect(await curl(r, '/api/sessions', ['-H', `x-telepty-token: ${r.token}`])).toEqual({ status: 401, json: expect.objectContaining({ code: 'UNAUTHORIZED' }) });
    expect((await curl(r, '/api/sessions', ['-H', `x-telepty-token: ${fresh.token}`])).status).toBe(200);
    expect(await wsProbe(r, '/api/bus', [`x-telepty-token:${r.token}`])).toMatch(/^refused 401/);
    expect(await wsProbe(r, '/api/bus', [`x-telepty-token:${fresh.token}`])).toBe('open');
    // Even with the new token, the remote peer may not rotate it.
    expect((await curl(r, '/api/token/rotate', ['-H', `x-telepty-token: ${fresh.token}`, '-H', 'content-type: application/json', '-d', '{}'])).status).toBe(403);
  });

  it('lets the local user stop a daemon that listens on a non-loopback address', async (ctx) => {
    const r = need(rotating);
    if (!r) return ctx.skip();
    const stopped = await runCli(r.home, ['daemon', 'stop', '--json']);
    expect(stopped.exitCode, stopped.stderr).toBe(0);
    expect(parseJson(stopped)).toMatchObject({ stopped: true });
    expect(await liveDaemon(r.home)).toBeNull();
  });

  it('never tells a remote caller a file path or a stack trace', async (ctx) => {
    const r = need(plain);
    if (!r) return ctx.skip();
    const spawnBad = await curl(r, '/api/sessions/spawn', ['-H', `x-telepty-token: ${r.token}`, '-H', 'content-type: application/json', '-d', '{"command":"sh","cwd":"/no/such/secret/dir"}']);
    expect(spawnBad.status).toBe(400);
    expect(spawnBad.json.code).toBe('INVALID_CWD');
    expect(JSON.stringify(spawnBad.json)).not.toContain('/no/such');
    expect(spawnBad.json.error).toContain('<path>');
    const deepFile = path.join(r.home, 'deep.json');
    await fs.writeFile(deepFile, `${'['.repeat(200_000)}${']'.repeat(200_000)}`);
    const weird = await curl(r, '/api/bus/publish', ['-H', `x-telepty-token: ${r.token}`, '-H', 'content-type: application/json', '--data-binary', `@${deepFile}`]);
    expect(weird.status).toBeGreaterThanOrEqual(400);
    expect(JSON.stringify(weird.json)).not.toMatch(/\/work\/|node_modules|at .*\.js:\d+/);
  });

  it('redacts error texts for remote peers in multicast failures, bus error frames and daemon events, not for the local user', async (ctx) => {
    const r = need(plain);
    if (!r) return ctx.skip();
    const host = await leakyHost(r, 'leaky');
    // The local user (this machine) subscribes too: it gets the whole text, which shows the event did carry it.
    const local = new WebSocket(`ws://${r.ns.hostIp}:${r.port}/api/bus?kind=inject_failed`, { headers: { [TOKEN_HEADER]: r.token } });
    const localEvent = new Promise<Record<string, unknown>>((resolve) => local.once('message', (d: Buffer) => resolve(JSON.parse(d.toString()) as Record<string, unknown>)));
    await new Promise((resolve) => local.once('open', resolve));
    try {
      const multicast = `http://${r.ns.hostIp}:${r.port}/api/sessions/multicast/inject`;
      const lines = await remoteClient(r, '/api/bus?kind=inject_failed', ['--post', multicast, JSON.stringify({ session_ids: ['leaky'], prompt: 'hi' }), '--until', 'inject_failed']);
      const post = lines.find((l) => 'post' in l)?.post as { status: number; body: { results: { failed: { id: string; code: string; error: string }[] } } };
      expect(post.status).toBe(200);
      const failure = post.body.results.failed[0];
      expect(failure).toMatchObject({ id: 'leaky', code: 'INTERNAL' });
      expect(failure?.error).toBe('pty write failed for <path>');

      const event = lines.find((l) => (l.frame as { kind?: string } | undefined)?.kind === 'inject_failed')?.frame as Record<string, unknown>;
      expect(event).toMatchObject({ kind: 'inject_failed', target_agent: 'leaky', code: 'INTERNAL', error: 'pty write failed for <path>' });

      expect((await localEvent).error).toBe(LEAKY_ERROR);

      // A bus error frame answering a bad event sent over the WebSocket.
      const bad = await remoteClient(r, '/api/bus?subscribe=0', ['--send', JSON.stringify({ kind: 'turn_request', target: '/home/alice/.secret/x' }), '--until', 'bus.error']);
      const busError = bad.find((l) => (l.frame as { kind?: string } | undefined)?.kind === 'bus.error')?.frame as Record<string, unknown>;
      expect(busError).toMatchObject({ kind: 'bus.error', code: 'INVALID_EVENT' });
      expect(busError.error).toContain('<path>');
      expect(JSON.stringify(lines.concat(bad))).not.toMatch(/\/home\/alice|\.secret|at write|pty\.js/);
    } finally {
      host.close();
      local.close();
    }
  });

  it('refuses a Host header that does not name the daemon (DNS rebinding)', async (ctx) => {
    const r = need(plain);
    if (!r) return ctx.skip();
    const rebound = await curl(r, '/api/sessions', ['-H', `x-telepty-token: ${r.token}`, '-H', 'Host: attacker.example:3848']);
    expect(rebound).toEqual({ status: 403, json: expect.objectContaining({ code: 'FORBIDDEN_HOST' }) });
    // An IP literal that is not the daemon's address is refused too; the address it listens on is accepted.
    const otherIp = await curl(r, '/api/sessions', ['-H', `x-telepty-token: ${r.token}`, '-H', `Host: 10.9.9.9:${r.port}`]);
    expect(otherIp).toEqual({ status: 403, json: expect.objectContaining({ code: 'FORBIDDEN_HOST' }) });
    expect((await curl(r, '/api/sessions', ['-H', `x-telepty-token: ${r.token}`, '-H', `Host: ${r.ns.hostIp}:${r.port}`])).status).toBe(200);
  });
});
