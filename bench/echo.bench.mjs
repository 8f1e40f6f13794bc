// Keystroke → echo latency seen by the user's terminal: a program run directly in a PTY, the same program
// through `telepty wrap`, and through an attached tmux client, measured in one run. The program is `cat` in a
// cooked terminal: the inner terminal echoes each key, so the path measured is exactly the passthrough.
import { createRequire } from 'node:module';
import { spawnSync } from 'node:child_process';
import { BIN, benchHome, fmt, has, printRows, record, summarize } from './lib.mjs';

const require = createRequire(import.meta.url);
const pty = require('node-pty');
const KEYSTROKES = 300;
const WARMUP = 20;

function driver(file, args, env) {
  const p = pty.spawn(file, args, { name: 'xterm-256color', cols: 80, rows: 24, env });
  let buf = '';
  let waiter = null;
  p.onData((d) => {
    buf += d;
    if (waiter && buf.includes(waiter.token)) {
      const w = waiter;
      waiter = null;
      w.resolve();
    }
  });
  return {
    until(token, timeoutMs = 10_000) {
      if (buf.includes(token)) return Promise.resolve();
      return new Promise((resolve, reject) => {
        const t = setTimeout(() => reject(new Error(`timeout waiting for ${JSON.stringify(token)}; got ${JSON.stringify(buf.slice(-200))}`)), timeoutMs);
        waiter = { token, resolve: () => (clearTimeout(t), resolve()) };
      });
    },
    clear() {
      buf = '';
    },
    write: (d) => p.write(d),
    kill: () => p.kill('SIGKILL'),
    pid: p.pid,
  };
}

async function measure(d) {
  await new Promise((r) => setTimeout(r, 300));
  const samples = [];
  const letters = 'abcdefghijklmnopqrstuvwxyz';
  for (let i = 0; i < WARMUP + KEYSTROKES; i++) {
    const ch = letters[i % 26];
    d.clear();
    const t0 = process.hrtime.bigint();
    d.write(ch);
    await d.until(ch);
    const ms = Number(process.hrtime.bigint() - t0) / 1e6;
    if (i >= WARMUP) samples.push(ms);
    if (i % 60 === 59) {
      d.write('\r');
      await d.until('\n');
    }
  }
  return summarize(samples);
}

const h = benchHome();
const rows = [];
try {
  h.cli(['daemon', 'start']);
  const env = { ...h.env, TERM: 'xterm-256color' };
  const direct = driver('cat', [], env);
  const base = await measure(direct);
  direct.kill();

  const wrapped = driver(process.execPath, [BIN, 'wrap', '--quiet', '--', 'cat'], env);
  await new Promise((r) => setTimeout(r, 800));
  const viaWrap = await measure(wrapped);
  wrapped.kill();

  let viaTmux = null;
  if (has('tmux')) {
    const sock = `telepty-bench-echo-${process.pid}`;
    const t = driver('tmux', ['-L', sock, '-f', '/dev/null', 'new-session', 'cat'], env);
    await new Promise((r) => setTimeout(r, 800));
    viaTmux = await measure(t);
    t.kill();
    spawnSync('tmux', ['-L', sock, 'kill-server'], { stdio: 'ignore' });
  }
  const row = (name, s, ref) => ({
    name,
    value: `p50 ${fmt(s.p50)} ms, p99 ${fmt(s.p99)} ms`,
    ratio: ref ? `${(s.p50 / ref.p50).toFixed(2)}x direct` : '',
    target: '',
    p50_ms: s.p50,
    p99_ms: s.p99,
  });
  rows.push(row('keystroke → echo, program run directly', base));
  rows.push(row('keystroke → echo, through telepty wrap', viaWrap, base));
  if (viaTmux) {
    rows.push(row('keystroke → echo, through tmux (attached client)', viaTmux, base));
    rows[1].ratio += `; ${(viaWrap.p50 / viaTmux.p50).toFixed(2)}x tmux`;
  }
} finally {
  h.cleanup();
}
printRows('Keystroke echo latency (wrap)', rows);
record('echo', rows);
