// Agent state (issue 19) on the Claude Code-like fixture (test/fixtures/claude-state-like.mjs):
// - the delay between the fixture's real end of a turn (it logs the moment it prints the answer) and the `idle`
//   state reaching a bus subscriber, with Claude Code's hooks (telepty's --settings) and from the screen alone;
// - a routed turn: publishing a `turn_request` → its `turn_complete` reaching a subscriber, for a turn the fixture
//   spends TURN_MS on (the rest is telepty: inject, submission proof, end of turn, the answer's text).
import { readFileSync, rmSync, writeFileSync } from 'node:fs';
import http from 'node:http';
import os from 'node:os';
import path from 'node:path';
import WebSocket from 'ws';
import { ROOT, benchHome, fmt, printRows, record, summarize } from './lib.mjs';

const FIXTURE = path.join(ROOT, 'test', 'fixtures', 'claude-state-like.mjs');
const ROUNDS = 20;
/** The fixture's turn: long enough that the turn's start and end are two distinct moments. */
const TURN_MS = 300;
/** A round that has not ended by then has failed. */
const GIVE_UP_MS = 15_000;

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

function post(port, urlPath, body) {
  return new Promise((resolve, reject) => {
    const data = JSON.stringify(body);
    const req = http.request({ host: '127.0.0.1', port, path: urlPath, method: 'POST', headers: { 'content-type': 'application/json', 'content-length': Buffer.byteLength(data) } }, (res) => {
      let out = '';
      res.on('data', (d) => (out += d));
      res.on('end', () => (res.statusCode < 300 ? resolve(JSON.parse(out)) : reject(new Error(`${urlPath}: ${res.statusCode} ${out}`))));
    });
    req.on('error', reject);
    req.end(data);
  });
}

/** A bus subscriber; `next(pred)` resolves with the first event after now that matches, and when it arrived. */
async function subscribe(port, query) {
  const ws = new WebSocket(`ws://127.0.0.1:${port}/api/bus${query}`);
  const waiters = new Set();
  ws.on('message', (d) => {
    const at = Date.now();
    for (const line of d.toString().split('\n').filter(Boolean)) {
      const ev = JSON.parse(line);
      for (const w of [...waiters]) if (w.pred(ev)) (waiters.delete(w), w.resolve({ ev, at }));
    }
  });
  await new Promise((r, j) => (ws.once('open', r), ws.once('error', j)));
  return {
    next: (pred) =>
      new Promise((resolve, reject) => {
        const w = { pred, resolve };
        waiters.add(w);
        setTimeout(() => waiters.delete(w) && reject(new Error('no such event in time')), GIVE_UP_MS);
      }),
    close: () => ws.close(),
  };
}

function portOf(home) {
  return JSON.parse(readFileSync(path.join(home, 'daemon.json'), 'utf8')).port;
}

/** End of turn → idle on the bus, for a session with hooks or without. */
async function endToIdle(hooks) {
  const h = benchHome();
  const ends = path.join(h.home, 'ends.log');
  const samples = [];
  let sources = new Set();
  try {
    h.cli(['spawn', '--id', 'agent', ...(hooks ? [] : ['--no-hooks']), '--env', `FIXTURE_WORK_MS=${TURN_MS}`, '--env', `FIXTURE_END_LOG=${ends}`, '--', process.execPath, FIXTURE]);
    const port = portOf(h.home);
    const bus = await subscribe(port, '?kind=session.state');
    const deadline = Date.now() + GIVE_UP_MS;
    while (JSON.parse(h.cli(['state', 'agent', '--json'])).state !== 'idle') {
      if (Date.now() > deadline) throw new Error('the fixture never became idle');
      await sleep(50);
    }
    for (let i = 0; i < ROUNDS + 2; i++) {
      writeFileSync(ends, '');
      const idle = bus.next((e) => e.session_id === 'agent' && e.state === 'idle' && e.previous === 'working');
      const r = await post(port, '/api/sessions/agent/inject', { prompt: `question ${i}`, wait: true });
      if (r.status !== 'submitted') throw new Error(`round ${i}: ${JSON.stringify(r)}\n${h.cli(['read', 'agent'])}`);
      const { ev, at } = await idle;
      const end = Number(readFileSync(ends, 'utf8').trim().split('\n')[0]);
      if (process.env.DEBUG_BENCH) console.error(i, at, end, JSON.stringify(ev), JSON.stringify(r));
      // The first two rounds warm up (the hook's first start reads its files from disk).
      if (i >= 2) samples.push(at - end);
      sources.add(ev.state_source);
      await sleep(100);
    }
    bus.close();
  } finally {
    h.cleanup();
    rmSync(ends, { force: true });
  }
  return { ...summarize(samples), sources: [...sources].join('/') };
}

/** turn_request published → turn_complete received. */
async function routedTurn() {
  const h = benchHome();
  const total = [];
  const reported = [];
  try {
    h.cli(['spawn', '--id', 'worker', '--env', `FIXTURE_WORK_MS=${TURN_MS}`, '--', process.execPath, FIXTURE]);
    const port = portOf(h.home);
    const bus = await subscribe(port, '?kind=turn_complete');
    const deadline = Date.now() + GIVE_UP_MS;
    while (JSON.parse(h.cli(['state', 'worker', '--json'])).state !== 'idle') {
      if (Date.now() > deadline) throw new Error('the fixture never became idle');
      await sleep(50);
    }
    for (let i = 0; i < ROUNDS + 2; i++) {
      const turnId = `turn-${i}`;
      const done = bus.next((e) => e.turn_id === turnId);
      const t0 = Date.now();
      await post(port, '/api/bus/publish', { kind: 'turn_request', target: 'worker', payload: { turn_id: turnId, prompt: `routed ${i}` } });
      const { ev, at } = await done;
      if (ev.state !== 'idle' || !String(ev.answer).includes(`answer: routed ${i}`)) throw new Error(`turn ${turnId} ended ${ev.state} with ${JSON.stringify(ev.answer)}`);
      if (i >= 2) {
        total.push(at - t0);
        reported.push(ev.duration_ms);
      }
      await sleep(100);
    }
    bus.close();
  } finally {
    h.cleanup();
  }
  return { total: summarize(total), reported: summarize(reported) };
}

const load = () => `load average ${os.loadavg()[0].toFixed(1)} on ${os.cpus().length} cores`;
const rows = [];
const hooked = await endToIdle(true);
rows.push({
  name: 'end of turn → idle on the bus, with hooks',
  value: `p50 ${fmt(hooked.p50)} ms, p99 ${fmt(hooked.p99)} ms (${hooked.n} turns, source ${hooked.sources}; ${load()})`,
  target: 'p50 < 50 ms',
  p50_ms: hooked.p50,
});
const screen = await endToIdle(false);
rows.push({
  name: 'end of turn → idle on the bus, screen alone',
  value: `p50 ${fmt(screen.p50)} ms, p99 ${fmt(screen.p99)} ms (${screen.n} turns, source ${screen.sources}; ${load()})`,
  target: 'p50 < 300 ms',
  p50_ms: screen.p50,
});
const turn = await routedTurn();
rows.push({
  name: `turn_request → turn_complete (a ${TURN_MS} ms turn)`,
  value: `p50 ${fmt(turn.total.p50)} ms, p99 ${fmt(turn.total.p99)} ms; its duration_ms p50 ${fmt(turn.reported.p50)} ms (${turn.total.n} turns, with hooks; ${load()})`,
  target: '',
  p50_ms: turn.total.p50,
});
printRows('Agent state', rows);
record('state', rows);
