// Keystroke → echo through the API with a persistent (keep-alive) client: telepty's viewer WebSocket
// (input message → output frame) next to tmux control mode (send-keys on stdin → %output on stdout), both
// driving `cat` in a cooked terminal, measured in one run.
import { spawn, spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';
import { benchHome, fmt, freePort, has, printRows, record, summarize } from './lib.mjs';

const require = createRequire(import.meta.url);
const WebSocket = require('ws');
/** A cooked line holds 4095 characters: the keys stay on one line (no Enter, so no line echo to confuse). */
const KEYS = 500;
const WARMUP = 50;
const LETTERS = 'abcdefghijklmnopqrstuvwxyz';

/**
 * Keystrokes over one WebSocket, one at a time, each timed until its echo arrives. `frame` makes the message for a
 * key; `text` takes the output out of a message (null: not output).
 */
async function wsEcho(url, frame, text) {
  const ws = new WebSocket(url, { perMessageDeflate: false });
  await new Promise((r) => ws.once('open', r));
  let seen = '';
  let waiter = null;
  ws.on('message', (d) => {
    const out = text(d.toString());
    if (out === null) return;
    seen += out;
    if (waiter && seen.includes(waiter.ch)) {
      const w = waiter;
      waiter = null;
      w.resolve();
    }
  });
  await new Promise((r) => setTimeout(r, 500));
  const samples = [];
  for (let i = 0; i < WARMUP + KEYS; i++) {
    const ch = LETTERS[i % 26];
    seen = '';
    const got = new Promise((resolve) => (waiter = { ch, resolve }));
    const t0 = process.hrtime.bigint();
    ws.send(frame(ch));
    await got;
    if (i >= WARMUP) samples.push(Number(process.hrtime.bigint() - t0) / 1e6);
  }
  ws.close();
  return summarize(samples);
}

async function teleptyEcho(h) {
  h.cli(['spawn', '--id', 'echo', '--', 'cat']);
  const port = JSON.parse(readFileSync(path.join(h.home, 'daemon.json'), 'utf8')).port;
  return wsEcho(
    `ws://127.0.0.1:${port}/api/sessions/echo`,
    (ch) => JSON.stringify({ type: 'input', data: ch }),
    (raw) => {
      const m = JSON.parse(raw);
      return m.type === 'output' ? m.data : null;
    },
  );
}

/**
 * The same hops with bare ws relays (bench/floor-relay.cjs): what this architecture costs at the least; and one
 * hop (viewer straight to the host), what it would cost without the daemon in between.
 */
async function floorEcho() {
  const started = [];
  const start = async (args) => {
    const c = spawn(process.execPath, [new URL('./floor-relay.cjs', import.meta.url).pathname, ...args], { stdio: ['ignore', 'pipe', 'inherit'] });
    started.push(c);
    await new Promise((resolve, reject) => {
      c.stdout.once('data', resolve);
      c.once('exit', (code) => reject(new Error(`floor-relay ${args[0]} exited ${code}`)));
    });
  };
  try {
    const [hostPort, relayPort] = [await freePort(), await freePort()];
    await start(['host', String(hostPort)]);
    await start(['relay', String(relayPort), `ws://127.0.0.1:${hostPort}`]);
    const relayed = await wsEcho(`ws://127.0.0.1:${relayPort}`, (ch) => ch, (raw) => raw);
    // The viewer straight to the host's node-pty, no daemon between: what a design without the relay could reach.
    const direct = await wsEcho(`ws://127.0.0.1:${hostPort}`, (ch) => ch, (raw) => raw);
    return { relayed, direct };
  } finally {
    for (const c of started) c.kill('SIGKILL');
  }
}

async function tmuxEcho() {
  const sock = `telepty-bench-echo-cc-${process.pid}`;
  const tmux = spawn('tmux', ['-L', sock, '-f', '/dev/null', '-C', 'new-session', '-s', 'e', '-x', '80', '-y', '24', 'cat'], { stdio: ['pipe', 'pipe', 'ignore'] });
  let buf = '';
  let waiter = null;
  tmux.stdout.on('data', (d) => {
    buf += d.toString();
    if (waiter && buf.split('\n').some((l) => l.startsWith('%output') && l.endsWith(waiter.ch))) {
      const w = waiter;
      waiter = null;
      w.resolve();
    }
  });
  await new Promise((r) => setTimeout(r, 500));
  const samples = [];
  try {
    for (let i = 0; i < WARMUP + KEYS; i++) {
      const ch = LETTERS[i % 26];
      buf = '';
      const got = new Promise((resolve) => (waiter = { ch, resolve }));
      const t0 = process.hrtime.bigint();
      tmux.stdin.write(`send-keys -t e -l ${ch}\n`);
      await got;
      if (i >= WARMUP) samples.push(Number(process.hrtime.bigint() - t0) / 1e6);
    }
  } finally {
    tmux.kill('SIGKILL');
    spawnSync('tmux', ['-L', sock, 'kill-server'], { stdio: 'ignore' });
  }
  return summarize(samples);
}

const h = benchHome();
const rows = [];
try {
  h.cli(['daemon', 'start']);
  const t = await teleptyEcho(h);
  const floor = await floorEcho();
  const x = has('tmux') ? await tmuxEcho() : null;
  const row = (name, r, target) => ({
    name,
    value: `p50 ${fmt(r.p50)} ms, p99 ${fmt(r.p99)} ms`,
    ratio: x ? `${(r.p50 / x.p50).toFixed(2)}x tmux control mode` : '',
    target,
    p50_ms: r.p50,
    p99_ms: r.p99,
  });
  rows.push(row('keystroke → echo via API (viewer WebSocket)', t, '≤ 2x tmux control mode'));
  rows.push(row('same hops through bare ws relays (the floor)', floor.relayed, ''));
  rows.push(row('one bare ws hop, viewer straight to a node-pty host', floor.direct, ''));
  if (x) rows.push({ name: 'keystroke → echo via tmux control mode', value: `p50 ${fmt(x.p50)} ms, p99 ${fmt(x.p99)} ms`, ratio: '', target: '', p50_ms: x.p50, p99_ms: x.p99 });
} finally {
  h.cleanup();
}
printRows('API keystroke → echo', rows);
record('api-echo', rows);
