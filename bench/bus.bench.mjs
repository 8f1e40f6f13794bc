// Bus: publish → subscriber latency (p50/p99) over WS and HTTP; latency until an event has reached every one of
// 1, 10 and 100 subscribers, and events/s fanned out to them (NDJSON batches, `batch=1`), each next to the same
// fan-out through tmux (control clients all getting one pane's output) measured in the same run; plus
// one-event-per-frame subscribers (the seed's clients) for comparison. The daemon is a separate process;
// publisher and subscribers live in this one.
import { spawn, spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import http from 'node:http';
import path from 'node:path';
import { createRequire } from 'node:module';
import { benchHome, fmt, has, printRows, record, summarize } from './lib.mjs';

const require = createRequire(import.meta.url);
const WebSocket = require('ws');
const LATENCY_SAMPLES = 5_000;
const FRAME_EVENTS = 500;
/** Samples of "reached every subscriber", per subscriber count (fewer for more: each one waits for all). */
const REACH_SAMPLES = { 1: 1_000, 10: 500, 100: 200 };
/** Untimed rounds first, so neither side is timed while its code is still cold. */
const REACH_WARMUP = 100;
/** Keys per send-keys in tmux's fan-out, and how many may be on their way (more and the terminal drops echoes). */
const TMUX_CHUNK = 200;
const TMUX_WINDOW = 400;
/** Keys through tmux's fan-out, per subscriber count. */
const TMUX_FANOUT_KEYS = { 1: 50_000, 10: 50_000, 100: 10_000 };

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

/** Time from publishing one event until each of `n` WS subscribers (of events of `kind`) has it. */
async function reachWs(port, n, { samples: count = REACH_SAMPLES[n], warmup = REACH_WARMUP, kind = 'reach' } = {}) {
  const subs = [];
  for (let i = 0; i < n; i++) subs.push(await open(`ws://127.0.0.1:${port}/api/bus?kind=${kind}`));
  const pub = await open(`ws://127.0.0.1:${port}/api/bus?subscribe=0`);
  const samples = [];
  for (let i = 0; i < warmup + count; i++) {
    const got = Promise.all(subs.map((s) => new Promise((r) => s.once('message', r))));
    const t0 = process.hrtime.bigint();
    pub.send(`{"kind":"${kind}","payload":{"i":${i}}}`);
    await got;
    if (i >= warmup) samples.push(Number(process.hrtime.bigint() - t0) / 1e6);
  }
  for (const s of subs) s.close();
  pub.close();
  return summarize(samples);
}

/**
 * The nearest thing in tmux: its control clients all get the output of the panes of the session they attach to,
 * so "publish" is `send-keys` into a pane running `cat` (the cooked terminal echoes it) and each of `n` control
 * clients has an event (a key) once its `%output` line arrives. (tmux's own `wait-for` does not block a control
 * client, so it cannot stand in.) Resolves once every client is attached.
 */
async function tmuxFanout(n) {
  const sock = `telepty-bench-bus-${process.pid}-${n}`;
  const base = ['-L', sock, '-f', '/dev/null'];
  spawnSync('tmux', [...base, 'new-session', '-d', '-s', 'b', '-x', '80', '-y', '24', 'cat'], { stdio: 'ignore' });
  const clients = [];
  const client = () => {
    const c = spawn('tmux', [...base, '-C', 'attach', '-t', 'b'], { stdio: ['pipe', 'pipe', 'ignore'] });
    const me = { c, attached: false, seen: '', keys: 0, buf: '', onOutput: null };
    c.stdout.on('data', (d) => {
      me.buf += d.toString();
      const lines = me.buf.split('\n');
      me.buf = lines.pop() ?? '';
      for (const l of lines) {
        if (l.startsWith('%end')) me.attached = true;
        if (!l.startsWith('%output')) continue;
        // "%output %PANE DATA": only the letters typed count (a kill-line echo is escaped backspaces).
        const text = l.slice(l.indexOf(' ', '%output '.length) + 1);
        me.seen += text;
        for (let i = 0; i < text.length; i++) if (text.charCodeAt(i) >= 97 && text.charCodeAt(i) <= 122) me.keys++;
        me.onOutput?.();
      }
    });
    clients.push(me);
    return me;
  };
  const subscribers = Array.from({ length: n }, client);
  const publisher = client();
  const close = () => {
    for (const me of clients) me.c.kill('SIGKILL');
    spawnSync('tmux', [...base, 'kill-server'], { stdio: 'ignore' });
  };
  const deadline = Date.now() + 10_000;
  while (!clients.every((me) => me.attached) && Date.now() < deadline) await new Promise((r) => setTimeout(r, 5));
  /** Resolves when every subscriber satisfies `done(me)`, checked as output comes. */
  const all = (done) =>
    Promise.all(
      subscribers.map(
        (me) =>
          new Promise((resolve) => {
            me.onOutput = () => done(me) && ((me.onOutput = null), resolve());
            me.onOutput();
          }),
      ),
    );
  return { publisher, subscribers, all, close };
}

/** tmux: one key sent, timed until every control client has its echo. */
async function reachTmux(n) {
  const fx = await tmuxFanout(n);
  try {
    const samples = [];
    for (let i = 0; i < REACH_WARMUP + REACH_SAMPLES[n]; i++) {
      // Keep the cooked line short (no Enter: a line echo would muddle the next key's).
      if (i > 0 && i % 1000 === 0) {
        fx.publisher.c.stdin.write('send-keys -t b C-u\n');
        await new Promise((r) => setTimeout(r, 20));
      }
      const ch = 'abcdefghijklmnopqrstuvwxyz'[i % 26];
      for (const me of fx.subscribers) me.seen = '';
      const reached = fx.all((me) => me.seen.includes(ch));
      const t0 = process.hrtime.bigint();
      fx.publisher.c.stdin.write(`send-keys -t b -l ${ch}\n`);
      await reached;
      if (i >= REACH_WARMUP) samples.push(Number(process.hrtime.bigint() - t0) / 1e6);
    }
    return summarize(samples);
  } finally {
    fx.close();
  }
}

/**
 * tmux: `keys` keys sent as fast as every client takes them, timed until every control client has all of them:
 * events/s. They go as send-keys of TMUX_CHUNK letters, each followed by a kill-line (the cooked line stays short),
 * with at most TMUX_WINDOW keys not yet at every client: the terminal drops echoes it cannot pass on in time.
 */
async function fanoutTmux(n, keys) {
  const fx = await tmuxFanout(n);
  try {
    const letters = 'abcdefghijklmnopqrstuvwxyz'.repeat(Math.ceil(TMUX_CHUNK / 26)).slice(0, TMUX_CHUNK);
    const deadline = Date.now() + 60_000;
    const t0 = performance.now();
    let sent = 0;
    let complete = true;
    while (sent < keys || fx.subscribers.some((me) => me.keys < keys)) {
      const slowest = Math.min(...fx.subscribers.map((me) => me.keys));
      if (sent < keys && sent - slowest < TMUX_WINDOW) {
        fx.publisher.c.stdin.write(`send-keys -t b -l ${letters}\nsend-keys -t b C-u\n`);
        sent += TMUX_CHUNK;
        continue;
      }
      if (Date.now() > deadline) {
        complete = false;
        break;
      }
      await fx.all((me) => me.keys > slowest || me.keys >= keys);
    }
    return { perSecond: keys / ((performance.now() - t0) / 1000), complete };
  } finally {
    fx.close();
  }
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
/** "1 subscriber", "10 subscribers". */
const plural = (n, word) => `${n} ${word}${n > 1 ? 's' : ''}`;
/** A result row for a latency summary. */
const latencyRow = (name, s, ratio = '', target = '') => ({ name, value: `p50 ${fmt(s.p50)} ms, p99 ${fmt(s.p99)} ms`, ratio, target, p50_ms: s.p50, p99_ms: s.p99 });

const rows = [];
try {
  h.cli(['daemon', 'start']);
  const port = JSON.parse(readFileSync(path.join(h.home, 'daemon.json'), 'utf8')).port;
  rows.push(latencyRow('publish → subscriber latency, WS', await reachWs(port, 1, { samples: LATENCY_SAMPLES, warmup: 500, kind: 'lat.ws' }), '', 'p50 < 0.3 ms'));
  rows.push(latencyRow('publish → subscriber latency, HTTP (keep-alive)', await latencyHttp(port)));
  for (const n of [1, 10, 100]) {
    const t = await reachWs(port, n);
    const x = has('tmux') ? await reachTmux(n) : null;
    rows.push(latencyRow(`publish → reached all of ${plural(n, 'subscriber')}, WS`, t, x ? `${(t.p50 / x.p50).toFixed(2)}x tmux control clients` : ''));
    if (x) rows.push(latencyRow(`tmux send-keys → %output reached all of ${plural(n, 'control client')}`, x));
  }
  for (const [n, events] of [
    [1, 200_000],
    [10, 200_000],
    [100, 50_000],
  ]) {
    const r = await fanout(port, n, events, '?batch=1');
    const x = has('tmux') ? await fanoutTmux(n, TMUX_FANOUT_KEYS[n]) : null;
    const rate = (f) => `${Math.round(f.perSecond).toLocaleString('en')} events/s (${Math.round(f.perSecond * n).toLocaleString('en')} deliveries/s)${f.complete ? '' : ' INCOMPLETE'}`;
    rows.push({
      name: `fan-out to ${plural(n, 'subscriber')} (NDJSON batches)`,
      value: rate(r),
      ratio: x ? `${(r.perSecond / x.perSecond).toFixed(2)}x tmux's rate` : '',
      target: n === 10 ? '≥ 50,000 events/s' : '',
      events_per_s: r.perSecond,
    });
    if (x) rows.push({ name: `tmux: one-byte keys (send-keys) reaching all of ${plural(n, 'control client')}`, value: rate(x), ratio: '', target: '', events_per_s: x.perSecond });
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
