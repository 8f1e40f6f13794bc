// Shared by agents.bench.mjs and agents-paused.bench.mjs (two scripts: each stays within run.mjs's time bound).
// Inject → submitted on the fixtures that model each AI CLI's rule (issue 25): Gemini's Enter-after-paste window
// and placeholder, Claude Code's late paste, box reset and queue while busy, OpenCode's merge during a submit, and
// a program paused 150 ms every 500 ms. Per program, 60 prompts sent one after the other (each waited for), and
// 60 queued back to back. A failure is a prompt not taken exactly once and whole by the program (its own log), or
// not reported `submitted`.
import { readFileSync } from 'node:fs';
import http from 'node:http';
import path from 'node:path';
import { ROOT, benchHome, fmt, printRows, record, summarize } from './lib.mjs';

const PROMPTS = 60;
const FIX = (f) => path.join(ROOT, 'test', 'fixtures', f);
/**
 * The fixtures, and for those whose own modelled delays alone take 100 ms or more per prompt, what they are: such a
 * fixture's p50 cannot be under 100 ms whatever telepty does, so its row's target is 0 failures, and the p50 target
 * is the real CLI's row (`npm run test:agents`, section agents-real). The fixtures' delays are made slower than the
 * real programs' (OpenCode 1.18.33 takes a prompt 43-46 ms after the Enter, p50) so the hazards they model happen.
 */
const CLAUDE_FLOOR = 'its box reset 80 ms after each submit, then a paste applied 20 ms after it arrives';
export const PROGRAMS = [
  ['Gemini-like', [FIX('gemini-like.mjs')], null],
  ['Claude-Code-like', [FIX('claude-code-like.mjs')], CLAUDE_FLOOR],
  ['OpenCode-like', [FIX('opencode-like.mjs')], 'the text taken 100 ms after the Enter'],
  ['Claude-Code-like, paused 150/500 ms', [FIX('paused.mjs'), FIX('claude-code-like.mjs')], CLAUDE_FLOOR],
];
/** Sizes cycled through: short, medium, over Gemini's 500-character placeholder threshold. */
const SIZES = [40, 120, 640];
const prompt = (tag, i) => `${tag} ${i}: ${'review the auth module and list every failing test; '.repeat(20)}`.slice(0, SIZES[i % SIZES.length]);

function submissions(file) {
  try {
    return readFileSync(file, 'utf8').split('\n').filter(Boolean).map((l) => JSON.parse(l).text);
  } catch (err) {
    if (err.code === 'ENOENT') return [];
    throw err;
  }
}

function failures(file, answers) {
  const got = new Map();
  for (const t of submissions(file)) got.set(t, (got.get(t) ?? 0) + 1);
  const sent = new Set(answers.map((a) => a.prompt));
  let bad = answers.filter((a) => got.get(a.prompt) !== 1 || a.status !== 'submitted').length;
  // A submission that is no prompt (two merged, or one cut) is a failure of its own too.
  for (const t of got.keys()) if (!sent.has(t)) bad++;
  return Math.min(bad, answers.length);
}

async function settle(file) {
  let last = -1;
  for (;;) {
    const n = submissions(file).length;
    if (n === last) return;
    last = n;
    await new Promise((r) => setTimeout(r, 500));
  }
}

async function run(h, port, label, argv, tag) {
  const id = `${tag}-${label.replace(/[^a-z]/gi, '').toLowerCase()}`.slice(0, 40);
  const log = path.join(h.home, `${id}.log`);
  h.cli(['spawn', '--id', id, '--env', `FIXTURE_LOG=${log}`, '--', process.execPath, ...argv]);
  for (let i = 0; i < 100 && !h.cli(['read', id]).includes('ready'); i++) await new Promise((r) => setTimeout(r, 50));
  const agent = new http.Agent({ keepAlive: true, maxSockets: PROMPTS + 1 });
  const post = (text) =>
    new Promise((resolve, reject) => {
      const t0 = performance.now();
      const req = http.request({ host: '127.0.0.1', port, method: 'POST', path: `/api/sessions/${id}/inject`, agent, headers: { 'content-type': 'application/json' } }, (res) => {
        let body = '';
        res.on('data', (c) => (body += c));
        res.on('end', () => {
          const r = JSON.parse(body);
          resolve({ prompt: text, status: r.status ?? r.code, ms: performance.now() - t0, submittedAt: r.submitted_at ? Date.parse(r.submitted_at) : null });
        });
      });
      req.on('error', reject);
      req.end(JSON.stringify({ prompt: text, wait: true, timeout_ms: 600_000 }));
    });
  const answers = [];
  if (tag === 'seq') {
    for (let i = 0; i < PROMPTS; i++) answers.push(await post(prompt(tag, i)));
  } else {
    const pending = [];
    for (let i = 0; i < PROMPTS; i++) {
      pending.push(post(prompt(tag, i)));
      await new Promise((r) => setImmediate(r));
    }
    answers.push(...(await Promise.all(pending)));
  }
  agent.destroy();
  await settle(log);
  h.cli(['kill', id]);
  const failed = failures(log, answers);
  if (tag === 'seq') return { p50: summarize(answers.map((a) => a.ms)).p50, p99: summarize(answers.map((a) => a.ms)).p99, failed };
  // Queued: the time each prompt took once the one before it was submitted (its own share of the queue).
  const times = answers.map((a) => a.submittedAt).filter((t) => t !== null).sort((a, b) => a - b);
  const gaps = times.slice(1).map((t, i) => t - times[i]);
  return { p50: gaps.length ? summarize(gaps).p50 : NaN, p99: gaps.length ? summarize(gaps).p99 : NaN, failed };
}

/** Bench these programs (labels from PROGRAMS) and record their rows under `section` of bench/results.json. */
export async function benchPrograms(section, labels) {
  const h = benchHome();
  const rows = [];
  try {
    h.cli(['daemon', 'start']);
    const port = JSON.parse(readFileSync(path.join(h.home, 'daemon.json'), 'utf8')).port;
    for (const [label, argv, floor] of PROGRAMS.filter(([l]) => labels.includes(l))) {
      for (const tag of ['seq', 'queued']) {
        const r = await run(h, port, label, argv, tag);
        rows.push({
          name: `${label}: inject → submitted, ${tag === 'seq' ? 'one after the other' : `${PROMPTS} queued back to back (per prompt)`}`,
          value: `p50 ${fmt(r.p50)} ms, p99 ${fmt(r.p99)} ms; ${r.failed} failed of ${PROMPTS}`,
          ratio: '',
          target: floor ? `0 failed (p50: the fixture's own delays take about 100 ms per prompt or more: ${floor}; see agents-real)` : 'p50 < 100 ms, 0 failed',
          p50_ms: r.p50,
          p99_ms: r.p99,
          failed: r.failed,
        });
        console.error(`${rows.at(-1).name}: ${rows.at(-1).value}`);
      }
    }
  } finally {
    h.cleanup();
  }
  printRows('Inject → submitted on the AI-CLI fixtures', rows);
  record(section, rows);
}
