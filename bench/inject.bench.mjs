// Time from "send this prompt" to "the program took it as submitted", on the Claude-like fixture:
// telepty's API (keep-alive client, wait:true) next to tmux send-keys of the text plus a separate Enter,
// measured in one run. Both are timed until the fixture logs the submission; every prompt is checked.
import { execFileSync, spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import http from 'node:http';
import path from 'node:path';
import { ROOT, benchHome, fmt, has, printRows, record, summarize } from './lib.mjs';

const PROMPTS = 60;
const FIXTURE = path.join(ROOT, 'test', 'fixtures', 'claude-like.mjs');
const SHORT = (i) => `bench prompt ${i}: review the auth module and report`;
/** Longer than the fixture's paste threshold (like Claude Code's ~66 chars): where text+Enter in a hurry fails. */
const LONG = (i) => `long prompt ${i}: ${'review the auth module, list every failing test and propose a fix; '.repeat(3)}`.slice(0, 200);
let text = SHORT;

function logCount(file) {
  try {
    return readFileSync(file, 'utf8').split('\n').filter(Boolean).length;
  } catch (err) {
    if (err.code === 'ENOENT') return 0;
    throw err;
  }
}

async function waitForCount(file, n, timeoutMs = 10_000) {
  const deadline = Date.now() + timeoutMs;
  while (logCount(file) < n) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for submission ${n}`);
    await new Promise((r) => setImmediate(r));
  }
}

function failures(file, expected) {
  const got = readFileSync(file, 'utf8').split('\n').filter(Boolean).map((l) => JSON.parse(l).text);
  return expected.length - got.filter((t, i) => t === expected[i]).length + Math.max(0, got.length - expected.length);
}

async function benchTelepty(h, tag) {
  const log = path.join(h.home, `telepty-${tag}.submissions`);
  h.cli(['spawn', '--id', `agent-${tag}`, '--env', `FIXTURE_LOG=${log}`, '--', process.execPath, FIXTURE]);
  await new Promise((r) => setTimeout(r, 500));
  const port = JSON.parse(readFileSync(path.join(h.home, 'daemon.json'), 'utf8')).port;
  const agent = new http.Agent({ keepAlive: true });
  const post = (prompt) =>
    new Promise((resolve, reject) => {
      const req = http.request({ host: '127.0.0.1', port, method: 'POST', path: `/api/sessions/agent-${tag}/inject`, agent, headers: { 'content-type': 'application/json' } }, (res) => {
        let body = '';
        res.on('data', (c) => (body += c));
        res.on('end', () => resolve(JSON.parse(body)));
      });
      req.on('error', reject);
      req.end(JSON.stringify({ prompt, wait: true }));
    });
  const toLog = [];
  const toAnswer = [];
  const statuses = {};
  for (let i = 0; i < PROMPTS; i++) {
    const t0 = performance.now();
    const answer = post(text(i)).then((r) => {
      toAnswer.push(performance.now() - t0);
      statuses[r.status ?? r.code] = (statuses[r.status ?? r.code] ?? 0) + 1;
    });
    await waitForCount(log, i + 1);
    toLog.push(performance.now() - t0);
    await answer;
  }
  agent.destroy();
  return { toLog: summarize(toLog), toAnswer: summarize(toAnswer), failed: failures(log, Array.from({ length: PROMPTS }, (_, i) => text(i))), statuses };
}

async function benchTmux(h, tag) {
  const log = path.join(h.home, `tmux-${tag}.submissions`);
  const sock = `telepty-bench-inject-${process.pid}-${tag}`;
  const tmux = (...args) => execFileSync('tmux', ['-L', sock, '-f', '/dev/null', ...args]);
  try {
    tmux('new-session', '-d', '-s', 'agent', '-x', '120', '-y', '30', `FIXTURE_LOG=${log} ${process.execPath} ${FIXTURE}`);
    await new Promise((r) => setTimeout(r, 500));
    const samples = [];
    for (let i = 0; i < PROMPTS; i++) {
      const t0 = performance.now();
      tmux('send-keys', '-t', 'agent', '-l', text(i));
      tmux('send-keys', '-t', 'agent', 'Enter');
      // A prompt tmux delivered wrongly (merged into the next, or never submitted) is counted below; wait
      // a bounded time for it here.
      await waitForCount(log, i + 1, 2_000).catch(() => undefined);
      samples.push(performance.now() - t0);
    }
    return { toLog: summarize(samples), failed: failures(log, Array.from({ length: PROMPTS }, (_, i) => text(i))) };
  } finally {
    spawnSync('tmux', ['-L', sock, 'kill-server'], { stdio: 'ignore' });
  }
}

const h = benchHome();
const rows = [];
try {
  h.cli(['daemon', 'start']);
  for (const [tag, gen, label] of [['short', SHORT, '50 chars'], ['long', LONG, '200 chars']]) {
    text = gen;
    const t = await benchTelepty(h, tag);
    const x = has('tmux') ? await benchTmux(h, tag) : null;
    rows.push({
      name: `inject → submitted (Claude-like, ${label}), telepty API`,
      value: `p50 ${fmt(t.toLog.p50)} ms, p99 ${fmt(t.toLog.p99)} ms; answer p50 ${fmt(t.toAnswer.p50)} ms; ${t.failed} failed of ${PROMPTS}`,
      ratio: x ? `${(t.toLog.p50 / x.toLog.p50).toFixed(2)}x tmux` : '',
      target: 'p50 < 100 ms, 0 failed',
      p50_ms: t.toLog.p50,
      p99_ms: t.toLog.p99,
      failed: t.failed,
      statuses: t.statuses,
    });
    if (x) {
      rows.push({
        name: `same prompt (${label}), tmux send-keys text + separate Enter`,
        value: `p50 ${fmt(x.toLog.p50)} ms, p99 ${fmt(x.toLog.p99)} ms; ${x.failed} failed of ${PROMPTS}`,
        ratio: '',
        target: '',
        p50_ms: x.toLog.p50,
        p99_ms: x.toLog.p99,
        failed: x.failed,
      });
    }
  }
} finally {
  h.cleanup();
}
printRows('Inject → submitted', rows);
record('inject', rows);
