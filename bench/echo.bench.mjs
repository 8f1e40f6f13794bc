// Keystroke → echo latency seen by the user's terminal: a program run directly in a PTY, the same program
// through `telepty wrap`, and through an attached tmux client, measured in one run. The program is `cat` in a
// cooked terminal: the inner terminal echoes each key, so the path measured is exactly the passthrough.
import { createRequire } from 'node:module';
import { spawnSync } from 'node:child_process';
import { BIN, benchHome, fmt, has, printRows, record, summarize } from './lib.mjs';

const require = createRequire(import.meta.url);
const pty = require('node-pty');
/**
 * The wrap host is a long-lived process: what matters is its steady state, after V8 has optimised the hot path
 * (a few thousand calls). Each terminal first gets WARMUP keys (not kept), then KEYSTROKES timed ones in ROUNDS
 * interleaved rounds (all three, then again), so this machine's drift within a minute hits them alike.
 */
const WARMUP = 2000;
const KEYSTROKES = 2000;
const ROUNDS = 10;
/** Enter after this many keys keeps the cooked line short; the line's echo is not timed. */
const LINE_KEYS = 60;

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
    /** Keys typed so far (which letter comes next, and when Enter is due). */
    typed: 0,
    kill: () => p.kill('SIGKILL'),
    pid: p.pid,
  };
}

/** Type `n` keys into `d` one at a time, each timed until its echo; times go to `into` (null: none kept). */
async function measure(d, n, into) {
  const letters = 'abcdefghijklmnopqrstuvwxyz';
  for (let k = 0; k < n; k++) {
    const i = d.typed++;
    const ch = letters[i % 26];
    d.clear();
    const t0 = process.hrtime.bigint();
    d.write(ch);
    await d.until(ch);
    if (into) into.push(Number(process.hrtime.bigint() - t0) / 1e6);
    if (i % LINE_KEYS === LINE_KEYS - 1) {
      d.write('\r');
      await d.until('\n');
    }
  }
}

const h = benchHome();
const rows = [];
try {
  h.cli(['daemon', 'start']);
  const env = { ...h.env, TERM: 'xterm-256color' };
  const sock = `telepty-bench-echo-${process.pid}`;
  // Direct, through wrap, and through tmux: each with the times of its keys.
  const terminals = [driver('cat', [], env), driver(process.execPath, [BIN, 'wrap', '--quiet', '--', 'cat'], env)];
  if (has('tmux')) terminals.push(driver('tmux', ['-L', sock, '-f', '/dev/null', 'new-session', 'cat'], env));
  const samples = terminals.map(() => []);
  try {
    await new Promise((r) => setTimeout(r, 800));
    for (const d of terminals) await measure(d, WARMUP, null);
    for (let r = 0; r < ROUNDS; r++) for (const [i, d] of terminals.entries()) await measure(d, KEYSTROKES / ROUNDS, samples[i]);
  } finally {
    for (const d of terminals) d.kill();
    if (has('tmux')) spawnSync('tmux', ['-L', sock, 'kill-server'], { stdio: 'ignore' });
  }
  const [base, viaWrap, viaTmux = null] = samples.map(summarize);
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
