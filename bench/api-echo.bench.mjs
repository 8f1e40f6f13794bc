// Keystroke → echo through the API with a persistent (keep-alive) client: telepty's viewer WebSocket
// (input message → output frame) next to tmux control mode (send-keys on stdin → %output on stdout), both
// driving `cat` in a cooked terminal, measured in one run. Also telepty with every viewer relayed through the
// daemon (TELEPTY_DIRECT_VIEWERS=0, as for wrapped sessions), and bare ws floors for both shapes.
import { spawn, spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';
import { benchHome, fmt, freePort, has, printRows, record, summarize } from './lib.mjs';

const require = createRequire(import.meta.url);
const WebSocket = require('ws');
/**
 * A session host is a long-lived process: the target is its steady state. V8 optimises a hot path only after a
 * few thousand calls, so every probe first types WARMUP keys; the first COLD of them are reported on their own
 * (a session's first keystrokes, JIT cold), the rest are not kept.
 */
const WARMUP = 2000;
const COLD = 200;
/**
 * The cold rows pool COLD_PAIRS fresh telepty sessions and as many fresh tmux servers, each pair made together and
 * measured one after the other (the order flipped every pair), the first COLD keys of each: one fresh session
 * against one fresh tmux server (what this row used to compare) scattered from 1.5x to 2.6x between runs of one
 * build, as much from tmux (its first keys 0.07-0.16 ms) as from telepty.
 */
const COLD_PAIRS = 5;
/** A fresh session or tmux server gets this long to settle (its start's work done) before its first key. */
const COLD_SETTLE_MS = 1500;
/**
 * Keys measured per probe. This machine's speed drifts within a minute: they are typed in ROUNDS interleaved
 * rounds (all probes, then again), so drift hits every probe alike.
 */
const KEYS = 2000;
const ROUNDS = 10;
/**
 * A cooked line holds 4095 characters and the keys stay on one line (no Enter, so no line echo to confuse):
 * every CLEAR_EVERY keys the probe erases the line (^U), and the key after that is not timed.
 */
const CLEAR_EVERY = 1000;
const KILL_LINE = '\u0015';
const LETTERS = 'abcdefghijklmnopqrstuvwxyz';

/**
 * A probe types one key at a time and times it until its echo arrives. `send(ch)` types; `clear()` erases the
 * line; the probe's output handler calls `saw(text)` with what came back.
 */
function prober(send, clear) {
  let seen = '';
  let waiter = null;
  let i = 0;
  const samples = [];
  const cold = [];
  return {
    saw(text) {
      seen += text;
      if (waiter && seen.includes(waiter.ch)) {
        const w = waiter;
        waiter = null;
        w.resolve();
      }
    },
    /** Type `n` keys; keep their times in `into` (null: keep none). */
    async measure(n, into = samples) {
      for (let k = 0; k < n; k++, i++) {
        const afterClear = i > 0 && i % CLEAR_EVERY === 0;
        if (afterClear) clear();
        const ch = LETTERS[i % 26];
        seen = '';
        const got = new Promise((resolve) => (waiter = { ch, resolve }));
        const t0 = process.hrtime.bigint();
        send(ch);
        await got;
        if (into && !afterClear) into.push(Number(process.hrtime.bigint() - t0) / 1e6);
      }
    },
    samples,
    cold,
  };
}

/** A probe over one WebSocket: `frame` makes the message for a key; `text` takes the output out of a message. */
async function wsProbe(url, frame, text) {
  const ws = new WebSocket(url, { perMessageDeflate: false });
  await new Promise((r, reject) => {
    ws.once('open', r);
    ws.once('error', reject);
  });
  const p = prober((ch) => ws.send(frame(ch)), () => ws.send(frame(KILL_LINE)));
  ws.on('message', (d) => {
    const out = text(d.toString());
    if (out !== null) p.saw(out);
  });
  return { ...p, close: () => ws.close() };
}

const viewerProbe = (port, id, onReplay = () => undefined) =>
  wsProbe(
    `ws://127.0.0.1:${port}/api/sessions/${id}`,
    (ch) => JSON.stringify({ type: 'input', data: ch }),
    (raw) => {
      const m = JSON.parse(raw);
      if (m.type === 'replay') onReplay();
      return m.type === 'output' ? m.data : null;
    },
  );

/** A viewer of session `id` once its replay came (a fresh session's first keys then meet nothing else). */
async function replayedViewer(port, id) {
  let replayed;
  const replay = new Promise((r) => (replayed = r));
  const probe = await viewerProbe(port, id, () => replayed());
  await replay;
  return probe;
}

/** bench/floor-relay.cjs processes: a node-pty echo host and a relay in front of it. */
async function floorProcesses(started) {
  const start = async (args) => {
    const c = spawn(process.execPath, [new URL('./floor-relay.cjs', import.meta.url).pathname, ...args], { stdio: ['ignore', 'pipe', 'inherit'] });
    started.push(c);
    await new Promise((resolve, reject) => {
      c.stdout.once('data', resolve);
      c.once('exit', (code) => reject(new Error(`floor-relay ${args[0]} exited ${code}`)));
    });
  };
  const [hostPort, relayPort] = [await freePort(), await freePort()];
  await start(['host', String(hostPort)]);
  await start(['relay', String(relayPort), `ws://127.0.0.1:${hostPort}`]);
  return { host: `ws://127.0.0.1:${hostPort}`, relay: `ws://127.0.0.1:${relayPort}` };
}

function tmuxProbe(name = 'echo') {
  const sock = `telepty-bench-${name}-cc-${process.pid}`;
  const tmux = spawn('tmux', ['-L', sock, '-f', '/dev/null', '-C', 'new-session', '-s', 'e', '-x', '80', '-y', '24', 'cat'], { stdio: ['pipe', 'pipe', 'ignore'] });
  const p = prober(
    (ch) => tmux.stdin.write(`send-keys -t e -l ${ch}\n`),
    () => tmux.stdin.write('send-keys -t e C-u\n'),
  );
  let buf = '';
  tmux.stdout.on('data', (d) => {
    buf += d.toString();
    const lines = buf.split('\n');
    buf = lines.pop() ?? '';
    for (const l of lines) if (l.startsWith('%output')) p.saw(l.slice(l.lastIndexOf(' ') + 1));
  });
  return {
    ...p,
    close: () => {
      tmux.kill('SIGKILL');
      spawnSync('tmux', ['-L', sock, '-f', '/dev/null', 'kill-server'], { stdio: 'ignore' });
    },
  };
}

const direct = benchHome();
const relayed = benchHome();
relayed.env.TELEPTY_DIRECT_VIEWERS = '0';
const started = [];
const probes = [];
const rows = [];
try {
  for (const h of [direct, relayed]) {
    h.cli(['daemon', 'start']);
    h.cli(['spawn', '--id', 'echo', '--', 'cat']);
  }
  // A session of its own warms this process's client code (ws, JSON, the prober) first: the cold row is about a
  // fresh session's host, and tmux's cold keys go through a C client; this bench's own JIT is no part of either.
  direct.cli(['spawn', '--id', 'warm-client', '--', 'cat']);
  const portOf = (h) => JSON.parse(readFileSync(path.join(h.home, 'daemon.json'), 'utf8')).port;
  const floor = await floorProcesses(started);
  const raw = (url) => wsProbe(url, (ch) => ch, (text) => text);
  const named = [
    ['keystroke → echo via API (viewer WebSocket), spawned session', await viewerProbe(portOf(direct), 'echo'), '≤ 2x tmux control mode'],
    ['same, viewer relayed by the daemon (wrapped sessions; TELEPTY_DIRECT_VIEWERS=0)', await viewerProbe(portOf(relayed), 'echo'), ''],
    ['floor: one bare ws hop, viewer straight to a node-pty host (writing to the PTY as the host does)', await raw(floor.host), ''],
    ['floor: two bare ws hops (a relay in between)', await raw(floor.relay), ''],
    ...(has('tmux') ? [['keystroke → echo via tmux control mode', tmuxProbe(), '']] : []),
  ];
  probes.push(...named.map(([, p]) => p));
  const warmClient = await viewerProbe(portOf(direct), 'warm-client');
  probes.push(warmClient);
  await warmClient.measure(WARMUP, null);
  probes.pop();
  warmClient.close();
  await new Promise((r) => setTimeout(r, 500));
  for (const p of probes) {
    await p.measure(COLD, p.cold);
    await p.measure(WARMUP - COLD, null);
  }
  for (let r = 0; r < ROUNDS; r++) for (const p of probes) await p.measure(KEYS / ROUNDS);
  // The cold rows: COLD_PAIRS fresh sessions (spawned as any spawn after a daemon's first: a spare host takes it)
  // next to as many fresh tmux servers, the first COLD keys of each, pooled.
  const cold = { telepty: [], tmux: [] };
  for (let i = 0; i < COLD_PAIRS; i++) {
    const id = `cold-${i}`;
    direct.cli(['spawn', '--id', id, '--', 'cat']);
    const fresh = has('tmux') ? tmuxProbe(`cold${i}`) : null;
    await new Promise((r) => setTimeout(r, COLD_SETTLE_MS));
    const viewer = await replayedViewer(portOf(direct), id);
    const pair = [
      [viewer, cold.telepty],
      [fresh, cold.tmux],
    ];
    try {
      for (const [p, into] of i % 2 ? pair.reverse() : pair) if (p) await p.measure(COLD, into);
    } finally {
      viewer.close();
      fresh?.close();
      direct.cli(['kill', id]);
    }
  }
  const row = (name, samples, against, target = '') => {
    const s = summarize(samples);
    rows.push({
      name,
      value: `p50 ${fmt(s.p50)} ms, p99 ${fmt(s.p99)} ms`,
      ratio: against ? `${(s.p50 / summarize(against).p50).toFixed(2)}x tmux control mode` : '',
      target,
      p50_ms: s.p50,
      p99_ms: s.p99,
    });
  };
  const tmux = has('tmux') ? named.at(-1)[1] : null;
  for (const [name, p, target] of named) row(name, p.samples, p === tmux ? null : tmux?.samples, target);
  const coldTmux = tmux ? cold.tmux : null;
  row(`cold: the first ${COLD} keys to a fresh spawned session (JIT not yet warm; ${COLD_PAIRS} sessions pooled)`, cold.telepty, coldTmux, '≤ 2x tmux control mode');
  if (tmux) row(`cold: the first ${COLD} keys via a fresh tmux control client (${COLD_PAIRS} servers pooled)`, cold.tmux, null);
  // The floor's host process serves every connection: only its first is cold, so it has one sample.
  row(`cold: the first ${COLD} keys through one bare ws hop to a fresh node-pty host (the floor; one host)`, named[2][1].cold, coldTmux);
  // What the cold row compared before (one session, one tmux server), for continuity.
  const [, first] = named[0];
  row(`cold, one session against one tmux server (the row's definition before Dec 5)`, first.cold, tmux?.cold);
} finally {
  for (const p of probes) p.close();
  for (const c of started) c.kill('SIGKILL');
  direct.cleanup();
  relayed.cleanup();
}
printRows('API keystroke → echo', rows);
record('api-echo', rows);
