// Bus: publish → subscriber latency (p50/p99) over WS and HTTP, and events/s fanned out to 1, 10 and 100
// subscribers (NDJSON batches, `batch=1`), plus one-event-per-frame subscribers (the seed's clients) for
// comparison. The daemon is a separate process; publisher and subscribers live in this one.
import { readFileSync } from 'node:fs';
import http from 'node:http';
import path from 'node:path';
import { createRequire } from 'node:module';
import { benchHome, fmt, printRows, record, summarize } from './lib.mjs';

const require = createRequire(import.meta.url);
const WebSocket = require('ws');
const LATENCY_SAMPLES = 5_000;
const FRAME_EVENTS = 500;

function open(url) {
  const ws = new WebSocket(url, { perMessageDeflate: false });
  return new Promise((resolve, reject) => {
    ws.once('open', () => resolve(ws));
    ws.once('error', reject);
  });
}

/** A subscriber counting events (newlines in NDJSON frames; frames otherwise) without parsing them. */
async function counter(port, query) {
  const ws = await open(`ws://127.0.0.1:${port}/api/bus${query}`);
  const c = { ws, n: 0 };
  const batch = query.includes('batch=1');
  ws.on('message', (d) => {
    if (!batch) c.n++;
    else for (let i = d.indexOf(10); i >= 0; i = d.indexOf(10, i + 1)) c.n++;
  });
  return c;
}

async function latencyWs(port) {
  const sub = await open(`ws://127.0.0.1:${port}/api/bus?kind=lat.ws`);
  const pub = await open(`ws://127.0.0.1:${port}/api/bus?subscribe=0`);
  const samples = [];
  for (let i = 0; i < LATENCY_SAMPLES + 500; i++) {
    const got = new Promise((r) => sub.once('message', r));
    const t0 = process.hrtime.bigint();
    pub.send(`{"kind":"lat.ws","payload":{"i":${i}}}`);
    await got;
    if (i >= 500) samples.push(Number(process.hrtime.bigint() - t0) / 1e6);
  }
  sub.close();
  pub.close();
  return summarize(samples);
}

async function latencyHttp(port) {
  const sub = await open(`ws://127.0.0.1:${port}/api/bus?kind=lat.http`);
  const agent = new http.Agent({ keepAlive: true, maxSockets: 1 });
  const samples = [];
  for (let i = 0; i < LATENCY_SAMPLES / 2 + 50; i++) {
    const got = new Promise((r) => sub.once('message', r));
    const t0 = process.hrtime.bigint();
    const answered = new Promise((resolve, reject) => {
      const req = http.request({ host: '127.0.0.1', port, method: 'POST', path: '/api/bus/publish', agent, headers: { 'content-type': 'application/json' } }, (res) => {
        res.resume();
        res.on('end', resolve);
      });
      req.on('error', reject);
      req.end(`{"kind":"lat.http","payload":{"i":${i}}}`);
    });
    await got;
    if (i >= 50) samples.push(Number(process.hrtime.bigint() - t0) / 1e6);
    await answered; // the next request reuses this keep-alive socket
  }
  agent.destroy();
  sub.close();
  return summarize(samples);
}

async function fanout(port, subscribers, events, query) {
  const subs = [];
  for (let i = 0; i < subscribers; i++) subs.push(await counter(port, `${query}&kind=fan`));
  const pub = await open(`ws://127.0.0.1:${port}/api/bus?subscribe=0`);
  const event = (i) => `{"kind":"fan","source":"bench","target":"dev-001","payload":{"i":${i},"prompt":"review the auth module and report"}}`;
  const t0 = performance.now();
  for (let i = 0; i < events; i += FRAME_EVENTS) {
    const lines = [];
    for (let k = i; k < Math.min(events, i + FRAME_EVENTS); k++) lines.push(event(k));
    pub.send(lines.join('\n'));
    // Let the daemon keep up with the publisher's socket (a real publisher is not infinitely fast either).
    if (pub.bufferedAmount > 4 * 1024 * 1024) await new Promise((r) => setTimeout(r, 1));
  }
  const deadline = Date.now() + 120_000;
  while (subs.some((s) => s.n < events) && Date.now() < deadline) await new Promise((r) => setTimeout(r, 2));
  const seconds = (performance.now() - t0) / 1000;
  const complete = subs.every((s) => s.n >= events);
  for (const s of subs) s.ws.close();
  pub.close();
  return { perSecond: events / seconds, complete };
}

const h = benchHome();
const rows = [];
try {
  h.cli(['daemon', 'start']);
  const port = JSON.parse(readFileSync(path.join(h.home, 'daemon.json'), 'utf8')).port;
  const ws = await latencyWs(port);
  rows.push({ name: 'publish → subscriber latency, WS', value: `p50 ${fmt(ws.p50)} ms, p99 ${fmt(ws.p99)} ms`, ratio: '', target: 'p50 < 0.3 ms', p50_ms: ws.p50, p99_ms: ws.p99 });
  const ht = await latencyHttp(port);
  rows.push({ name: 'publish → subscriber latency, HTTP (keep-alive)', value: `p50 ${fmt(ht.p50)} ms, p99 ${fmt(ht.p99)} ms`, ratio: '', target: '', p50_ms: ht.p50, p99_ms: ht.p99 });
  for (const [n, events] of [
    [1, 200_000],
    [10, 200_000],
    [100, 50_000],
  ]) {
    const r = await fanout(port, n, events, '?batch=1');
    rows.push({
      name: `fan-out to ${n} subscriber${n > 1 ? 's' : ''} (NDJSON batches)`,
      value: `${Math.round(r.perSecond).toLocaleString('en')} events/s (${Math.round(r.perSecond * n).toLocaleString('en')} deliveries/s)${r.complete ? '' : ' INCOMPLETE'}`,
      ratio: '',
      target: n === 10 ? '≥ 50,000 events/s' : '',
      events_per_s: r.perSecond,
    });
  }
  const perFrame = await fanout(port, 10, 50_000, '?batch=0');
  rows.push({
    name: 'fan-out to 10 subscribers, one event per frame (seed clients)',
    value: `${Math.round(perFrame.perSecond).toLocaleString('en')} events/s${perFrame.complete ? '' : ' INCOMPLETE'}`,
    ratio: '',
    target: '',
    events_per_s: perFrame.perSecond,
  });
} finally {
  h.cleanup();
}
printRows('Bus', rows);
record('bus', rows);
