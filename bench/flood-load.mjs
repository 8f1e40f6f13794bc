// The bus flood of issue 15: many WS subscribers of `load.*` (half with batch=1), one publisher (`ack=1`) sending
// events with a bounded number not yet acknowledged, while /api/health is probed, sessions stay linked and an
// inject goes into another session. Shared by bench/flood.bench.mjs (the full load) and the e2e flood test (a
// bounded one). Plain JS: the test imports it as is.
import http from 'node:http';
import { createRequire } from 'node:module';
import { Worker, isMainThread, parentPort, workerData } from 'node:worker_threads';

const require = createRequire(import.meta.url);
const WebSocket = require('ws');
/** A dropped slow subscriber's close code (src/daemon/bus/ws.ts). */
const BUS_CLOSE_TOO_SLOW = 4201;
/** Pause between health probes: a monitor asks often, but is no flood of its own. */
const HEALTH_GAP_MS = 10;

function open(url) {
  const ws = new WebSocket(url, { perMessageDeflate: false });
  return new Promise((resolve, reject) => {
    ws.once('open', () => resolve(ws));
    ws.once('error', reject);
  });
}

/** A subscriber that counts the events it gets (newlines in NDJSON frames, frames otherwise) and the seqs' order. */
async function subscriber(port, batch) {
  const ws = await open(`ws://127.0.0.1:${port}/api/bus?kind=load.*${batch ? '&batch=1' : ''}`);
  const s = { ws, n: 0, dropped: false, closed: false };
  ws.on('message', (d) => {
    if (!batch) s.n++;
    else for (let i = d.indexOf(10); i >= 0; i = d.indexOf(10, i + 1)) s.n++;
  });
  ws.on('close', (code) => {
    s.closed = true;
    if (code === BUS_CLOSE_TOO_SLOW) s.dropped = true;
  });
  ws.on('error', () => undefined);
  return s;
}

/** GET /api/health in a loop until `stop()`; every answer's time in ms (a probe that fails counts as failed). */
function healthProbe(port) {
  const agent = new http.Agent({ keepAlive: true, maxSockets: 1 });
  const samples = [];
  let failed = 0;
  let running = true;
  const once = () =>
    new Promise((resolve) => {
      const t0 = performance.now();
      const req = http.get({ host: '127.0.0.1', port, path: '/api/health', agent, timeout: 60_000 }, (res) => {
        res.resume();
        res.on('end', () => {
          if (res.statusCode === 200) samples.push(performance.now() - t0);
          else failed++;
          resolve();
        });
      });
      req.on('timeout', () => req.destroy(new Error('health probe timed out')));
      req.on('error', () => {
        failed++;
        resolve();
      });
    });
  const done = (async () => {
    while (running) {
      await once();
      await new Promise((r) => setTimeout(r, HEALTH_GAP_MS));
    }
    agent.destroy();
  })();
  return {
    samples,
    get failed() {
      return failed;
    },
    async stop() {
      running = false;
      await done;
    },
  };
}

/** /api/health answer times (ms) for `ms` of an idle daemon: the baseline of the flood's. */
export async function idleHealth(port, ms) {
  const probe = healthProbe(port);
  await new Promise((r) => setTimeout(r, ms));
  await probe.stop();
  return probe.samples;
}

/** Watch `session_disconnect` events (a host link cut) for as long as the flood lasts. */
async function disconnectWatch(port) {
  const ws = await open(`ws://127.0.0.1:${port}/api/bus?kind=session_disconnect`);
  const w = { ws, cut: [] };
  ws.on('message', (d) => {
    for (const line of d.toString().split('\n').filter(Boolean)) w.cut.push(JSON.parse(line).session_id);
  });
  return w;
}

/**
 * The load itself (subscribers and publisher), run in a worker thread: receiving 200 subscribers' frames keeps a
 * thread busy, and the health probes and injects must not measure that thread's own delays.
 */
async function load({ port, subscribers, events, window, timeoutMs }) {
  const subs = [];
  for (let i = 0; i < subscribers; i++) subs.push(await subscriber(port, i % 2 === 0));
  const pub = await open(`ws://127.0.0.1:${port}/api/bus?subscribe=0&ack=1`);
  parentPort.postMessage({ type: 'started' });
  const text = 'review the auth module, list every failing test and propose a fix';
  let sent = 0;
  let acked = 0;
  let errors = 0;
  const t0 = performance.now();
  const allAcked = new Promise((resolve) => {
    const pump = () => {
      while (sent < events && sent - acked < window) {
        pub.send(`{"kind":"load.e","source":"bench","payload":{"i":${sent},"text":"${text}"}}`);
        sent++;
      }
    };
    pub.on('message', (d) => {
      for (const line of d.toString().split('\n').filter(Boolean)) {
        const m = JSON.parse(line);
        if (m.kind === 'bus.ack') acked++;
        else errors++;
      }
      if (acked + errors >= events) resolve();
      else pump();
    });
    pump();
  });
  const deadline = Date.now() + timeoutMs;
  await Promise.race([allAcked, new Promise((r) => setTimeout(r, timeoutMs))]);
  const publishSeconds = (performance.now() - t0) / 1000;
  const keptUp = () => subs.filter((s) => !s.dropped);
  while (keptUp().some((s) => s.n < events && !s.closed) && Date.now() < deadline) await new Promise((r) => setTimeout(r, 10));
  const seconds = (performance.now() - t0) / 1000;
  const result = {
    acked,
    publishErrors: errors,
    publishSeconds,
    seconds,
    dropped: subs.filter((s) => s.dropped).length,
    // A subscriber that kept up (was not dropped as too slow) and still missed events lost them.
    lost: keptUp().reduce((sum, s) => sum + Math.max(0, events - s.n), 0),
  };
  for (const s of subs) s.ws.close();
  pub.close();
  return result;
}

if (!isMainThread && workerData?.flood) {
  load(workerData.flood).then((result) => parentPort.postMessage({ type: 'done', result }));
}

/**
 * Run one flood: `subscribers` subscribers (half batch=1), `events` events with at most `window` unacknowledged
 * (both in a worker thread), and `during()` (an inject, …) started once the publisher is sending, while this
 * thread probes /api/health and watches for host links cut. Resolves with what was measured.
 */
export async function runFlood({ port, subscribers, events, window, during = async () => undefined, timeoutMs = 120_000 }) {
  const watch = await disconnectWatch(port);
  const worker = new Worker(new URL(import.meta.url), { workerData: { flood: { port, subscribers, events, window, timeoutMs } } });
  const done = new Promise((resolve, reject) => {
    worker.on('error', reject);
    worker.on('message', (m) => {
      if (m.type === 'done') resolve(m.result);
    });
  });
  await new Promise((resolve, reject) => {
    worker.on('error', reject);
    worker.on('message', (m) => m.type === 'started' && resolve());
  });
  const health = healthProbe(port);
  const extra = await during();
  const result = await done;
  await health.stop();
  await worker.terminate();
  watch.ws.close();
  return { ...result, health: health.samples, healthFailed: health.failed, linksCut: watch.cut.length, extra };
}
