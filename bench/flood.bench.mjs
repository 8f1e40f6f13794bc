// Bus flood (issue 15): 200 WS subscribers of `load.*` (half with batch=1) and one publisher (`ack=1`) sending
// 10,000 events with up to 500 unacknowledged, while /api/health is probed, SESSIONS sessions stay linked, and
// prompts are injected into another session. Measured: health p99, inject latency during the flood vs idle, host
// links cut, events lost by subscribers that kept up (not dropped as too slow).
import { readFileSync } from 'node:fs';
import http from 'node:http';
import path from 'node:path';
import { idleHealth, runFlood } from './flood-load.mjs';
import { ROOT, benchHome, fmt, printRows, record, summarize } from './lib.mjs';

const SUBSCRIBERS = 200;
const EVENTS = 10_000;
const WINDOW = 500;
/** Linked sessions whose hosts must stay connected through the flood (each runs `cat`). */
const SESSIONS = 10;
/** Injects timed idle, then during the flood. */
const INJECTS = 10;
/** How long /api/health is probed on the idle daemon (the baseline: this shared VM is slow even then). */
const IDLE_HEALTH_MS = 3_000;
const FIXTURE = path.join(ROOT, 'test', 'fixtures', 'claude-like.mjs');

const h = benchHome();
const rows = [];
try {
  h.cli(['daemon', 'start']);
  const port = JSON.parse(readFileSync(path.join(h.home, 'daemon.json'), 'utf8')).port;
  for (let i = 0; i < SESSIONS; i++) h.cli(['spawn', '--id', `linked-${i}`, '--', 'cat']);
  h.cli(['spawn', '--id', 'agent', '--env', `FIXTURE_LOG=${path.join(h.home, 'agent.submissions')}`, '--', process.execPath, FIXTURE]);
  await new Promise((r) => setTimeout(r, 500));
  const agent = new http.Agent({ keepAlive: true });
  /** An inject's time in ms, or its error text (a cut link fails it). */
  const inject = (i) =>
    new Promise((resolve) => {
      const t0 = performance.now();
      const req = http.request({ host: '127.0.0.1', port, method: 'POST', path: '/api/sessions/agent/inject', agent, headers: { 'content-type': 'application/json' } }, (res) => {
        let body = '';
        res.on('data', (c) => (body += c));
        res.on('end', () => resolve(res.statusCode === 200 ? performance.now() - t0 : `inject ${i}: ${res.statusCode} ${body}`));
      });
      req.on('error', (err) => resolve(`inject ${i}: ${err.message}`));
      req.end(JSON.stringify({ prompt: `flood bench prompt ${i}`, wait: true }));
    });
  const idle = [];
  for (let i = 0; i < INJECTS; i++) idle.push(await inject(i));
  const healthIdle = summarize(await idleHealth(port, IDLE_HEALTH_MS));
  const flood = await runFlood({
    port,
    subscribers: SUBSCRIBERS,
    events: EVENTS,
    window: WINDOW,
    during: async () => {
      const samples = [];
      for (let i = 0; i < INJECTS; i++) samples.push(await inject(INJECTS + i));
      return samples;
    },
  });
  agent.destroy();
  const health = summarize(flood.health);
  const idleS = summarize(idle);
  const injectFailures = [...idle, ...flood.extra].filter((x) => typeof x === 'string');
  for (const f of injectFailures) console.error(`bench flood: ${f}`);
  const floodOk = flood.extra.filter((x) => typeof x === 'number');
  const floodS = floodOk.length > 0 ? summarize(floodOk) : { p50: NaN, p99: NaN };
  rows.push({
    name: `/api/health during a flood (${SUBSCRIBERS} subscribers, ${EVENTS.toLocaleString('en')} events)`,
    value: `p50 ${fmt(health.p50)} ms, p99 ${fmt(health.p99)} ms, max ${fmt(Math.max(...flood.health))} ms (${flood.health.length} probes, ${flood.healthFailed} failed)`,
    ratio: `idle: p50 ${fmt(healthIdle.p50)} ms, p99 ${fmt(healthIdle.p99)} ms`,
    target: 'p99 < 50 ms',
    p50_ms: health.p50,
    p99_ms: health.p99,
  });
  rows.push({
    name: 'inject into another session: during the flood vs idle',
    value: `p50 ${floodOk.length ? fmt(floodS.p50) : 'n/a'} ms vs ${fmt(idleS.p50)} ms idle${injectFailures.length ? `; ${injectFailures.length} of ${INJECTS * 2} failed` : ''}`,
    ratio: `${(floodS.p50 / idleS.p50).toFixed(2)}x idle`,
    target: '≤ 2x idle',
    p50_ms: floodS.p50,
    idle_p50_ms: idleS.p50,
  });
  rows.push({ name: 'host links cut during the flood', value: `${flood.linksCut} of ${SESSIONS + 1}`, ratio: '', target: '0', links_cut: flood.linksCut });
  rows.push({
    name: 'events lost by subscribers that kept up',
    value: `${flood.lost} (${flood.dropped} of ${SUBSCRIBERS} dropped as too slow; ${flood.acked} acked in ${flood.publishSeconds.toFixed(1)} s, all delivered in ${flood.seconds.toFixed(1)} s)`,
    ratio: '',
    target: '0',
    lost: flood.lost,
    dropped: flood.dropped,
  });
} finally {
  h.cleanup();
}
printRows('Bus flood', rows);
record('flood', rows);
