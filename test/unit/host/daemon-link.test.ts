import type { AddressInfo } from 'node:net';
import WebSocket, { WebSocketServer } from 'ws';
import { afterEach, describe, expect, it } from 'vitest';
import { DaemonLink, watchDaemonState, type LinkTimings } from '../../../src/host/daemon-link.js';
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { HOST_LINK_PATH, HOST_LINK_VERSION, type DaemonToHost, type HostHello } from '../../../src/protocol/host-link.js';
import { waitFor } from '../../helpers/env.js';
import { RecordingLogger } from '../../helpers/recorders.js';

/** Jitter is ±20%; timers and a loopback handshake add a few ms on a loaded machine. */
const JITTER = 0.2;
const SLACK_MS = 60;

/** A stand-in daemon: a real ws server on loopback that records the link's hellos and connections. */
class FakeDaemon {
  readonly wss: WebSocketServer;
  readonly hellos: HostHello[] = [];
  readonly connectedAt: number[] = [];
  readonly sockets: WebSocket[] = [];
  /** What to do with each new connection (default: welcome it on hello). */
  onConnection: (ws: WebSocket) => void = (ws) => this.welcomeOnHello(ws);

  constructor() {
    this.wss = new WebSocketServer({ host: '127.0.0.1', port: 0, path: HOST_LINK_PATH });
    this.wss.on('connection', (ws) => {
      this.connectedAt.push(Date.now());
      this.sockets.push(ws);
      this.onConnection(ws);
    });
  }

  async ready(): Promise<number> {
    if (!this.wss.address()) await new Promise((r) => this.wss.once('listening', r));
    return (this.wss.address() as AddressInfo).port;
  }

  welcomeOnHello(ws: WebSocket): void {
    ws.on('message', (data) => {
      const m = JSON.parse(String(data)) as HostHello;
      if (m.type !== 'hello') return;
      this.hellos.push(m);
      ws.send(JSON.stringify({ type: 'welcome', link_version: HOST_LINK_VERSION, session_id: m.session_id } satisfies DaemonToHost));
    });
  }

  close(): Promise<void> {
    for (const ws of this.sockets) ws.terminate();
    return new Promise((r) => this.wss.close(() => r()));
  }
}

interface Recorded {
  link: DaemonLink;
  welcomes: string[];
  downs: { code: number; at: number }[];
  helloCalls: number;
  log: RecordingLogger;
}

const cleanups: (() => Promise<void> | void)[] = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

async function daemon(): Promise<{ fake: FakeDaemon; port: number }> {
  const fake = new FakeDaemon();
  cleanups.push(() => fake.close());
  return { fake, port: await fake.ready() };
}

function link(port: number, timings: LinkTimings): Recorded {
  const log = new RecordingLogger();
  const rec: Recorded = { link: undefined as unknown as DaemonLink, welcomes: [], downs: [], helloCalls: 0, log };
  rec.link = new DaemonLink(
    () => Promise.resolve({ host: '127.0.0.1', port }),
    {
      hello: () => {
        rec.helloCalls++;
        return hello(`sess-${rec.helloCalls}`);
      },
      onWelcome: (w) => rec.welcomes.push(w.session_id),
      onMessage: () => undefined,
      onDown: (code) => rec.downs.push({ code, at: Date.now() }),
    },
    timings,
    log,
  );
  cleanups.push(() => rec.link.stop());
  return rec;
}

function hello(sessionId: string): HostHello {
  return {
    type: 'hello',
    link_version: HOST_LINK_VERSION,
    host_instance: 'a'.repeat(32),
    session_id: sessionId,
    id_flexible: false,
    session: {
      type: 'spawned',
      command: 'sh',
      args: [],
      cwd: '/',
      pid: 1,
      host_pid: process.pid,
      cols: 80,
      rows: 24,
      term: 'xterm-256color',
      created_at: new Date(0).toISOString(),
      last_activity_at: new Date(0).toISOString(),
      bracketed_paste: false,
      alt_screen: false,
    },
  };
}

/** Long heartbeats: tests of reconnecting must not be disturbed by the heartbeat. */
const QUIET_HEARTBEAT = { heartbeatMs: 60_000, heartbeatTimeoutMs: 120_000 };

describe('DaemonLink', () => {
  it('reconnects with a doubling delay capped at reconnectMaxMs while the daemon refuses it', async () => {
    const { fake, port } = await daemon();
    // Every connection is dropped before a welcome, so the backoff never resets.
    fake.onConnection = (ws) => ws.terminate();
    const timings = { reconnectInitialMs: 10, reconnectMaxMs: 200, ...QUIET_HEARTBEAT };
    const rec = link(port, timings);
    rec.link.start();
    await waitFor('nine connection attempts', () => fake.connectedAt.length >= 9, 10_000);
    // The delays the link scheduled (its debug log), not the wall-clock gaps: those add the machine's load.
    const delays = rec.log.lines.map((l) => /next try in (\d+) ms \(base (\d+) ms\)/.exec(l.message)).filter((m) => m !== null);
    // Bases 10, 20, 40, 80, 160, then the cap: 200, 200, 200; each delay within ±JITTER of its base.
    expect(delays.slice(0, 8).map((m) => Number(m[2]))).toEqual([10, 20, 40, 80, 160, 200, 200, 200]);
    for (const m of delays.slice(0, 8)) {
      const [delay, base] = [Number(m[1]), Number(m[2])];
      expect(delay).toBeGreaterThanOrEqual(Math.floor(base * (1 - JITTER)));
      expect(delay).toBeLessThanOrEqual(Math.ceil(base * (1 + JITTER)));
    }
    expect(rec.welcomes).toEqual([]);
    expect(rec.link.up).toBe(false);
  });

  it('says hello again after every reconnect, and starts the backoff over once welcomed', async () => {
    const { fake, port } = await daemon();
    const rec = link(port, { reconnectInitialMs: 20, reconnectMaxMs: 1_000, ...QUIET_HEARTBEAT });
    rec.link.start();
    expect(await rec.link.waitUp(5_000)).toBe(true);
    expect(rec.link.send({ type: 'gap' })).toBe(true);
    for (let round = 1; round <= 3; round++) {
      (fake.sockets.at(-1) as WebSocket).terminate();
      await waitFor(`reconnect ${round}`, () => rec.welcomes.length === round + 1, 5_000);
      // A welcome resets the backoff: each reconnect waits the initial delay, not 2x, 4x, ...
      const gap = (fake.connectedAt.at(-1) as number) - (rec.downs.at(-1)?.at as number);
      expect(gap).toBeLessThan(20 * (1 + JITTER) + SLACK_MS);
    }
    // hello() is asked each time (the host's current id and state go with it), and each one reached the daemon.
    expect(rec.helloCalls).toBe(4);
    expect(fake.hellos.map((h) => h.session_id)).toEqual(['sess-1', 'sess-2', 'sess-3', 'sess-4']);
    expect(rec.welcomes).toEqual(['sess-1', 'sess-2', 'sess-3', 'sess-4']);
    expect(rec.downs.map((d) => d.code)).toEqual([1006, 1006, 1006]);
    expect(rec.link.up).toBe(true);
  });

  it('notices a daemon that stops answering pings (half-open link) within heartbeatTimeoutMs, and reconnects', async () => {
    const { fake, port } = await daemon();
    const timings = { reconnectInitialMs: 20, reconnectMaxMs: 200, heartbeatMs: 50, heartbeatTimeoutMs: 300 };
    const rec = link(port, timings);
    rec.link.start();
    expect(await rec.link.waitUp(5_000)).toBe(true);
    // Answered pings keep the link up through several timeouts' worth of time.
    await new Promise((r) => setTimeout(r, 700));
    expect(rec.downs).toEqual([]);
    // The daemon goes silent without closing: its socket stops reading, so pings get no pong.
    const silentAt = Date.now();
    (fake.sockets[0] as unknown as { _socket: { pause(): void } })._socket.pause();
    await waitFor('the link to give up on the silent daemon', () => rec.downs.length === 1, 5_000);
    const noticedAfter = (rec.downs[0]?.at as number) - silentAt;
    expect(noticedAfter).toBeGreaterThanOrEqual(timings.heartbeatTimeoutMs - timings.heartbeatMs);
    expect(noticedAfter).toBeLessThan(timings.heartbeatTimeoutMs + timings.heartbeatMs + SLACK_MS);
    expect(rec.downs[0]?.code).toBe(1006);
    await waitFor('a new link', () => rec.welcomes.length === 2, 5_000);
    expect(fake.connectedAt).toHaveLength(2);
  });

  it('sends nothing while down and reports waitUp false after its timeout', async () => {
    const { fake, port } = await daemon();
    fake.onConnection = (ws) => ws.terminate();
    const rec = link(port, { reconnectInitialMs: 20, reconnectMaxMs: 50, ...QUIET_HEARTBEAT });
    rec.link.start();
    const t0 = Date.now();
    expect(await rec.link.waitUp(150)).toBe(false);
    expect(Date.now() - t0).toBeGreaterThanOrEqual(140);
    expect(rec.link.send({ type: 'gap' })).toBe(false);
    rec.link.stop();
    const attempts = fake.connectedAt.length;
    await new Promise((r) => setTimeout(r, 150));
    expect(fake.connectedAt.length).toBe(attempts); // stop() ends the retries
  });

  it('tries at once when the state file changes while it waits out its backoff (a new daemon has claimed)', async () => {
    const { fake, port } = await daemon();
    const dir = mkdtempSync(path.join(os.tmpdir(), 'telepty-link-'));
    cleanups.push(() => rmSync(dir, { recursive: true, force: true }));
    const stateFile = path.join(dir, 'daemon.json');
    watchDaemonState(stateFile);
    // No daemon until the state file exists; after that, the fake one. The backoff alone would wait 30 s.
    const log = new RecordingLogger();
  const rec: Recorded = { link: undefined as unknown as DaemonLink, welcomes: [], downs: [], helloCalls: 0, log };
    let asked = 0;
    rec.link = new DaemonLink(
      () => {
        asked++;
        return Promise.resolve(existsSync(stateFile) ? { host: '127.0.0.1', port } : null);
      },
      { hello: () => hello('woken'), onWelcome: (w) => rec.welcomes.push(w.session_id), onMessage: () => undefined, onDown: () => undefined },
      { reconnectInitialMs: 30_000, reconnectMaxMs: 30_000, ...QUIET_HEARTBEAT },
      new RecordingLogger(),
    );
    cleanups.push(() => rec.link.stop());
    rec.link.start();
    await waitFor('the first attempt', () => asked >= 1);
    await new Promise((r) => setTimeout(r, 50));
    const before = Date.now();
    writeFileSync(stateFile, '{}');
    await waitFor('the link to be welcomed', () => rec.welcomes.length === 1, 5_000);
    expect(Date.now() - before).toBeLessThan(5_000);
    expect(fake.hellos.map((h) => h.session_id)).toEqual(['woken']);
  });

  it('retries at once when the state file changed during an attempt that then fails its proof (a daemon restarted on the same port)', async () => {
    const { fake, port } = await daemon();
    const dir = mkdtempSync(path.join(os.tmpdir(), 'telepty-link-'));
    cleanups.push(() => rmSync(dir, { recursive: true, force: true }));
    const stateFile = path.join(dir, 'daemon.json');
    watchDaemonState(stateFile);
    // The first attempt read the old record: its proof fails only after the new daemon has claimed the file.
    let failFirstProof!: (ok: boolean) => void;
    let asked = 0;
    const rec = { welcomes: [] as string[] };
    const link = new DaemonLink(
      () => {
        asked++;
        const proof = asked === 1 ? new Promise<boolean>((resolve) => (failFirstProof = resolve)) : Promise.resolve(true);
        return Promise.resolve({ host: '127.0.0.1', port, proof });
      },
      { hello: () => hello('again'), onWelcome: (w) => rec.welcomes.push(w.session_id), onMessage: () => undefined, onDown: () => undefined },
      // The backoff alone would wait 30 s.
      { reconnectInitialMs: 30_000, reconnectMaxMs: 30_000, ...QUIET_HEARTBEAT },
      new RecordingLogger(),
    );
    cleanups.push(() => link.stop());
    link.start();
    await waitFor('the first attempt', () => asked >= 1 && failFirstProof !== undefined);
    writeFileSync(stateFile, '{"new":true}');
    await new Promise((r) => setTimeout(r, 100)); // the watch has fired while the attempt was under way
    const before = Date.now();
    failFirstProof(false);
    await waitFor('the link to be welcomed', () => rec.welcomes.length === 1, 5_000);
    expect(Date.now() - before).toBeLessThan(2_000);
    expect(asked).toBe(2);
  });

  it('registers only once the daemon proved its record: the hello waits for the proof, and no proof means no hello', async () => {
    const { fake, port } = await daemon();
    const proofs: ((ok: boolean) => void)[] = [];
    const log = new RecordingLogger();
  const rec: Recorded = { link: undefined as unknown as DaemonLink, welcomes: [], downs: [], helloCalls: 0, log };
    rec.link = new DaemonLink(
      () => Promise.resolve({ host: '127.0.0.1', port, proof: new Promise<boolean>((resolve) => proofs.push(resolve)) }),
      { hello: () => hello('proven'), onWelcome: (w) => rec.welcomes.push(w.session_id), onMessage: () => undefined, onDown: () => undefined },
      { reconnectInitialMs: 20, reconnectMaxMs: 20, ...QUIET_HEARTBEAT },
      new RecordingLogger(),
    );
    cleanups.push(() => rec.link.stop());
    rec.link.start();
    // Connected, not registered: the proof has not come.
    await waitFor('the first connection', () => fake.connectedAt.length === 1);
    await new Promise((r) => setTimeout(r, 50));
    expect(fake.hellos).toEqual([]);
    // Not proven: the link is closed without a hello and tried again.
    proofs[0]?.(false);
    await waitFor('a second connection', () => fake.connectedAt.length === 2 && proofs.length === 2, 5_000);
    expect(fake.hellos).toEqual([]);
    proofs[1]?.(true);
    await waitFor('the link to be welcomed', () => rec.welcomes.length === 1, 5_000);
    expect(fake.hellos.map((h) => h.session_id)).toEqual(['proven']);
  });
});
