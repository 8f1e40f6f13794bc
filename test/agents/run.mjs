#!/usr/bin/env node
// Opt-in suite of issue 25: "submitted" means submitted, on the real AI CLIs. `npm run test:agents [-- claude codex
// gemini opencode]` installs each CLI from the npm registry into a cache folder (install.mjs), runs it offline in
// a real telepty session pointed at a stand-in model server on loopback (model-server.mjs, clis.mjs), injects the
// prompts test/e2e/submission.test.ts gives its fixtures (one after the other with long and multi-line pastes, 20
// queued back to back, 5 at once) and judges each by the CLI's own record: the prompt must reach the model exactly
// once, whole, and telepty must have answered `submitted` for it. Prints a table per CLI and writes
// bench/agents-real.md. Exit 1 when a prompt failed; a CLI that could not be installed or started is skipped.
import { execFile } from 'node:child_process';
import { appendFileSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import http from 'node:http';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { CLIS, VERSIONS } from './clis.mjs';
import { cacheDir, ensureInstalled } from './install.mjs';
import { startModelServer } from './model-server.mjs';
import { prompt, SIZES } from '../fixtures/prompts.mjs';
import { record } from '../../bench/lib.mjs';

const ROOT = fileURLToPath(new URL('../..', import.meta.url));
const BIN = path.join(ROOT, 'bin', 'telepty.js');
const REPORT = path.join(ROOT, 'bench', 'agents-real.md');

/** Prompts queued back to back, and sent at once (submission.test.ts's fixtures get 20 and 5). */
const QUEUED = Number(process.env.TELEPTY_AGENTS_QUEUED || 20);
const CONCURRENT = Number(process.env.TELEPTY_AGENTS_CONCURRENT || 5);
/** Prompts one after the other: the 9 below, then more of the fixtures' sizes up to this (issue 25 names 60). */
const SEQUENTIAL = Math.max(9, Number(process.env.TELEPTY_AGENTS_SEQUENTIAL || 9));
/** A CLI shows its input box within this after its start (OpenCode's first start takes about 7 s here). */
const READY_TIMEOUT_MS = 90_000;
/** The screen holds still this long once the input box shows before the first prompt: the CLI is done starting. */
const READY_STILL_MS = 1_500;
/** The model server got no new turn for this long after the last answer: the CLI has sent what it will send. */
const SETTLE_MS = 3_000;
/** The same while a prompt answered `submitted` has not reached the model yet: it may still come, late. */
const MISSING_SETTLE_MS = 30_000;
/** One inject's bound (the daemon's answer comes at the outcome); queued prompts wait for all before them. */
const INJECT_TIMEOUT_MS = 300_000;

const log = (s) => process.stderr.write(`${s}\n`);

// ---------------------------------------------------------------- prompts (as test/e2e/submission.test.ts's)


/** One after the other, each waited for: the fixtures' sizes, then multi-line and long pastes. */
function sequentialPrompts() {
  const out = SIZES.map((size, i) => prompt(`s${i}`, size, i));
  out.push(Array.from({ length: 6 }, (_, k) => prompt(`s5-line${k}`, 50, k)).join('\n'));
  out.push(prompt('s6', 2_000, 6));
  out.push(Array.from({ length: 12 }, (_, k) => prompt(`s7-para${k}`, 400, k)).join('\n\n'));
  out.push(prompt('s8', 12, 8));
  for (let i = out.length; i < SEQUENTIAL; i++) out.push(prompt(`s${i}`, SIZES[i % SIZES.length], i));
  return out;
}

// ---------------------------------------------------------------- telepty

function telepty(env, args, timeoutMs = 60_000) {
  return new Promise((resolve) => {
    execFile(process.execPath, [BIN, ...args], { env, timeout: timeoutMs, maxBuffer: 16 * 1024 * 1024 }, (err, stdout, stderr) => {
      resolve({ code: err ? (typeof err.code === 'number' ? err.code : -1) : 0, stdout, stderr });
    });
  });
}

function inject(port, id, text) {
  const t0 = performance.now();
  return new Promise((resolve) => {
    const req = http.request({ host: '127.0.0.1', port, method: 'POST', path: `/api/sessions/${id}/inject`, headers: { 'content-type': 'application/json' } }, (res) => {
      let body = '';
      res.on('data', (c) => (body += c));
      res.on('end', () => {
        let json;
        try {
          json = JSON.parse(body);
        } catch (err) {
          json = { code: 'NOT_JSON', error: `${String(err)}: ${body.slice(0, 200)}` };
        }
        const status = res.statusCode === 200 ? String(json.status) : `HTTP ${res.statusCode} ${String(json.code)}`;
        resolve({
          prompt: text,
          status,
          seen: json.seen,
          ms: performance.now() - t0,
          submittedAt: json.submitted_at ? Date.parse(json.submitted_at) : null,
          readyAt: json.ready_at ? Date.parse(json.ready_at) : null,
        });
      });
    });
    req.on('error', (err) => resolve({ prompt: text, status: `request failed: ${String(err)}`, ms: performance.now() - t0, submittedAt: null, readyAt: null }));
    req.end(JSON.stringify({ prompt: text, wait: true, timeout_ms: INJECT_TIMEOUT_MS }));
  });
}

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

/**
 * End what a CLI left running outside its session's process group, found by the CLI's temp HOME in the command
 * line (Codex 0.171 starts a detached `codex app-server` daemon from CODEX_HOME that outlives the session). Linux
 * only (/proc); elsewhere nothing is looked for.
 */
function endLeftovers(home) {
  let pids;
  try {
    pids = readdirSync('/proc').filter((d) => /^\d+$/.test(d));
  } catch (err) {
    if (err.code === 'ENOENT') return [];
    throw err;
  }
  const ended = [];
  for (const pid of pids) {
    let cmdline;
    try {
      cmdline = readFileSync(`/proc/${pid}/cmdline`, 'utf8');
    } catch (err) {
      if (err.code === 'ENOENT' || err.code === 'ESRCH' || err.code === 'EACCES') continue; // gone, or not ours
      throw err;
    }
    if (!cmdline.includes(`${home}/`)) continue;
    try {
      process.kill(Number(pid), 'SIGTERM');
      ended.push(Number(pid));
    } catch (err) {
      if (err.code !== 'ESRCH') throw err; // ended meanwhile
    }
  }
  return ended;
}

async function waitReady(env, id, ready) {
  const deadline = Date.now() + READY_TIMEOUT_MS;
  let last = '';
  let since = Date.now();
  while (Date.now() < deadline) {
    const screen = (await telepty(env, ['read', id])).stdout;
    if (screen !== last) {
      last = screen;
      since = Date.now();
    } else if (ready.test(screen) && Date.now() - since >= READY_STILL_MS) return { ok: true, screen };
    await sleep(250);
  }
  return { ok: false, screen: last };
}

/**
 * The CLI has sent what it will send: every prompt answered `submitted` reached the model and no request came for
 * SETTLE_MS, or, while one is missing, none came for MISSING_SETTLE_MS (a CLI on a loaded machine may take many
 * seconds for a turn: OpenCode's first took 19 s at a load average of 17).
 */
async function settled(server, answers) {
  const submitted = answers.filter((a) => a.status === 'submitted').map((a) => a.prompt);
  let n = -1;
  let since = Date.now();
  for (;;) {
    const now = server.requests.length;
    if (now !== n) {
      n = now;
      since = Date.now();
    } else {
      const got = new Set(server.conversation());
      const quiet = submitted.every((p) => got.has(p)) ? SETTLE_MS : MISSING_SETTLE_MS;
      if (Date.now() - since >= quiet) return;
    }
    await sleep(100);
  }
}

// ---------------------------------------------------------------- judging

/** Every prompt reached the model exactly once and whole, and `submitted` was reported for exactly those. */
function judge(answers, received) {
  // OpenCode 1.18.33 adds a space after a pasted text (its paste handling): trailing blanks are not compared (a
  // prompt sent never ends in one; a cut or merge changes more than that).
  const turns = received.map((t) => t.trimEnd());
  const taken = new Map();
  for (const t of turns) taken.set(t, (taken.get(t) ?? 0) + 1);
  const sent = new Set(answers.map((a) => a.prompt));
  const problems = [];
  let once = 0;
  let reported = 0;
  let failed = 0;
  for (const a of answers) {
    const times = taken.get(a.prompt) ?? 0;
    if (times === 1) once++;
    if (a.status === 'submitted') reported++;
    if (times !== 1 || a.status !== 'submitted') {
      failed++;
      problems.push(`${JSON.stringify(a.prompt.slice(0, 24))}… (${a.prompt.length} chars): reached the model ${times} times, telepty answered ${a.status}${a.seen ? ` (seen: ${a.seen})` : ''}`);
    }
  }
  const strays = turns.filter((t) => !sent.has(t));
  for (const t of strays) problems.push(`the model got a user message that is no prompt sent (merged or cut), ${t.length} chars: ${JSON.stringify(process.env.AG_FULL ? t : t.slice(0, 120))}`);
  return { once, reported, failed: failed + strays.length, problems };
}

function percentile(xs, p) {
  if (!xs.length) return NaN;
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.max(0, Math.ceil((p / 100) * s.length) - 1))];
}

/** Sequential: each waited inject's answer time. Queued or concurrent: the time between two submissions. */
function p50(answers, mode) {
  if (mode === 'sequential') return percentile(answers.filter((a) => a.status === 'submitted').map((a) => a.ms), 50);
  const times = answers.map((a) => a.submittedAt).filter((t) => t !== null).sort((a, b) => a - b);
  return percentile(times.slice(1).map((t, i) => t - times[i]), 50);
}

/**
 * telepty's part: from when the program was ready for the prompt (the answer's ready_at: the job had arrived, the
 * previous prompt had left the box, no turn running) to the submission (submitted_at). It holds telepty's waits plus
 * the program's echo of the text and its reaction to the Enter, not the program's turn.
 */
function teleptyP50(answers) {
  return percentile(answers.filter((a) => a.status === 'submitted' && a.submittedAt !== null && a.readyAt !== null).map((a) => a.submittedAt - a.readyAt), 50);
}

// ---------------------------------------------------------------- one scenario on one CLI

const SCENARIOS = [
  { name: 'sequential', what: `${SEQUENTIAL} one after the other (waited), incl. multi-line and 2,000-5,000-char pastes` },
  { name: 'queued', what: `${QUEUED} queued back to back` },
  { name: 'concurrent', what: `${CONCURRENT} at once` },
];

async function scenario(ctx, cli, bin, sc) {
  const id = `${cli.name}-${sc.name}`;
  // TELEPTY_AGENTS_DUMP=DIR: every request the model server got, with its body, to DIR/<id>.ndjson (for a look).
  const dump = process.env.TELEPTY_AGENTS_DUMP;
  if (dump) mkdirSync(dump, { recursive: true });
  const server = await startModelServer({ onRequest: dump ? (e, body) => appendFileSync(path.join(dump, `${id}.ndjson`), `${JSON.stringify({ ...e, body })}\n`) : undefined });
  const home = mkdtempSync(path.join(ctx.root, `${id}-`));
  const work = path.join(home, 'work');
  mkdirSync(work, { recursive: true });
  const cache = path.join(cacheDir(), 'state', cli.name);
  mkdirSync(cache, { recursive: true });
  const env = { HOME: home, ...cli.setup({ home, work, cache }, server.url) };
  const spawnArgs = ['spawn', '--id', id, '--cwd', work, '--cols', '120', '--rows', '40'];
  for (const [k, v] of Object.entries(env)) spawnArgs.push('--env', `${k}=${v}`);
  const row = { scenario: sc.name, what: sc.what, sent: 0, once: 0, reported: 0, failed: 0, p50: NaN, ownP50: NaN, problems: [], screen: '' };
  try {
    // TELEPTY_AGENTS_PAUSED=1: the CLI is paused 150 ms every 500 ms (test/fixtures/paused.mjs), as on a loaded machine.
    const command = process.env.TELEPTY_AGENTS_PAUSED === '1' ? [process.execPath, path.join(ROOT, 'test', 'fixtures', 'paused.mjs'), bin] : [bin];
    const sp = await telepty(ctx.env, [...spawnArgs, '--', ...command]);
    if (sp.code !== 0) throw new Error(`telepty spawn failed (exit ${sp.code}): ${sp.stderr.trim()}`);
    const ready = await waitReady(ctx.env, id, cli.ready);
    if (!ready.ok) {
      row.screen = ready.screen;
      throw new Error(`its input box did not show within ${READY_TIMEOUT_MS / 1000} s`);
    }
    let answers;
    if (sc.name === 'sequential') {
      answers = [];
      for (const p of sequentialPrompts()) answers.push(await inject(ctx.port, id, p));
    } else if (sc.name === 'queued') {
      const pending = [];
      for (let i = 0; i < QUEUED; i++) {
        pending.push(inject(ctx.port, id, prompt(`b${i}`, SIZES[i % SIZES.length], i)));
        await sleep(5);
      }
      answers = await Promise.all(pending);
    } else {
      answers = await Promise.all(Array.from({ length: CONCURRENT }, (_, i) => inject(ctx.port, id, prompt(`c${i}`, SIZES[i % SIZES.length], i))));
    }
    await settled(server, answers);
    const verdict = judge(answers, server.conversation());
    Object.assign(row, { sent: answers.length, once: verdict.once, reported: verdict.reported, failed: verdict.failed, p50: p50(answers, sc.name), ownP50: teleptyP50(answers), problems: verdict.problems });
    if (verdict.failed) row.screen = (await telepty(ctx.env, ['read', id])).stdout;
  } catch (err) {
    row.error = String(err instanceof Error ? err.message : err);
  } finally {
    await telepty(ctx.env, ['kill', id]);
    const left = endLeftovers(home);
    if (left.length) log(`  ended ${left.length} process(es) the CLI left running outside its session: ${left.join(', ')}`);
    await server.close();
  }
  return row;
}

// ---------------------------------------------------------------- report

const fmt = (ms) => (Number.isFinite(ms) ? `${Math.round(ms)} ms` : '–');

function table(rows) {
  const lines = [
    '| scenario | prompts sent | reached the model exactly once, whole | telepty answered `submitted` | failures | inject → submitted p50 | telepty\'s part p50 (program ready → submitted) |',
    '|---|---|---|---|---|---|---|',
  ];
  for (const r of rows) {
    if (r.error) lines.push(`| ${r.scenario} | – | – | – | not run: ${r.error.replace(/\|/g, '\\|')} | – | – |`);
    else lines.push(`| ${r.scenario} (${r.what}) | ${r.sent} | ${r.once} | ${r.reported} | ${r.failed} | ${fmt(r.p50)} | ${fmt(r.ownP50)} |`);
  }
  return lines.join('\n');
}

/**
 * The bench rows issue 25 names (inject → submitted p50 and failures, per program), for bench/results.json and so
 * bench/results.md, beside the fixtures' rows: one per CLI and scenario. At once (5 prompts) has no p50 target.
 */
function benchRows(results) {
  return results
    .filter((r) => !r.skipped)
    .flatMap((r) =>
      r.rows.map((row) => ({
        name: `${r.label} ${r.version}: inject → submitted, ${row.what}`,
        value: row.error ? `not run: ${row.error}` : `p50 ${fmt(row.p50)} (telepty's part ${fmt(row.ownP50)}); ${row.failed} failed of ${row.sent}`,
        ratio: '',
        target: row.scenario === 'concurrent' ? '0 failed' : 'p50 < 100 ms, 0 failed',
        p50_ms: row.p50,
        own_p50_ms: row.ownP50,
        failed: row.failed,
        sent: row.sent,
      })),
    );
}

function report(results, started) {
  const out = [
    '# telepty on the real AI CLIs (`npm run test:agents`)',
    '',
    `Last run: ${new Date(started).toISOString()} (${Math.round((Date.now() - started) / 1000)} s), telepty ${JSON.parse(readFileSync(path.join(ROOT, 'package.json'), 'utf8')).version}, Node ${process.version}, ${os.cpus().length} cores, load average ${os.loadavg().map((l) => l.toFixed(2)).join(' ')}.`,
    '',
    'Each CLI runs offline in a telepty session (`telepty spawn`), pointed at a stand-in model server on 127.0.0.1 that',
    'answers every turn with a short fixed text and records every request. The record of what was submitted is the',
    "conversation the CLI last sent with its main loop (the request offering tools): its user messages, with the CLI's",
    'own context taken out (Claude Code\'s `<system-reminder>` blocks and `<pasted_content>` wrapping, Codex\'s',
    '`<environment_context>`, Gemini CLI\'s `<session_context>`). A prompt passes when it shows there exactly once,',
    'whole, and telepty answered `submitted`; a user message that is no prompt sent (two merged, or one cut) is a',
    'failure too. `entered` (exit 8: Enter written, submission not seen) and `SESSION_BUSY` (exit 5: nothing typed,',
    'because the text before it was still in the box) count as failures. p50: sequential, the waited inject',
    '(`inject` → its `submitted` answer); queued and at once, the time between two submissions, which holds the CLI\'s',
    'own turn. telepty\'s part: from when the CLI was ready for the prompt (the answer\'s `ready_at`: the inject had',
    'arrived, the previous prompt had left the box, no turn running) to its `submitted_at`: telepty\'s waits plus the',
    'CLI\'s echo of the text and its reaction to the Enter.',
    '',
  ];
  for (const r of results) {
    out.push(`## ${r.label} ${r.version}`, '');
    if (r.skipped) {
      out.push(`Skipped: ${r.skipped}`, '');
      continue;
    }
    out.push(table(r.rows), '');
    const problems = r.rows.flatMap((row) => row.problems.map((p) => `- ${row.scenario}: ${p}`));
    if (problems.length) out.push('Failures:', '', ...problems, '');
  }
  return out.join('\n');
}

/** The report's hand-written part (from NOTES_HEADING on: what was tried, with numbers), kept from run to run. */
const NOTES_HEADING = '## What was tried';
function notes() {
  let old;
  try {
    old = readFileSync(REPORT, 'utf8');
  } catch (err) {
    if (err.code === 'ENOENT') return '';
    throw err;
  }
  const at = old.indexOf(`\n${NOTES_HEADING}`);
  return at < 0 ? '' : old.slice(at + 1);
}

// ---------------------------------------------------------------- main

async function main() {
  const started = Date.now();
  const only = process.argv.slice(2).filter((a) => !a.startsWith('-'));
  const unknown = only.filter((n) => !CLIS.some((c) => c.name === n));
  if (unknown.length) {
    log(`test:agents: unknown CLI ${unknown.join(', ')} (known: ${CLIS.map((c) => c.name).join(', ')})`);
    return 2;
  }
  const clis = CLIS.filter((c) => !only.length || only.includes(c.name));
  const results = [];
  for (const cli of clis) {
    const version = VERSIONS[cli.name];
    const installed = await ensureInstalled(cli.pkg, cli.bin, version, (s) => log(`install: ${s}`));
    results.push({ ...cli, version, bin: installed.bin, skipped: installed.skipped, rows: [] });
    if (installed.skipped) log(`install: ${cli.pkg}@${version} skipped: ${installed.skipped}`);
  }

  const root = mkdtempSync(path.join(os.tmpdir(), 'telepty-agents-'));
  const env = { ...process.env, TELEPTY_HOME: root, TELEPTY_PORT: '0', NO_COLOR: '1' };
  for (const k of Object.keys(env)) if (k.startsWith('TELEPTY_') && !['TELEPTY_HOME', 'TELEPTY_PORT'].includes(k)) delete env[k];
  const stop = async () => {
    await telepty(env, ['kill', '--all', '--yes']);
    await telepty(env, ['daemon', 'stop']);
    if (process.env.TELEPTY_AGENTS_KEEP) log(`test:agents: home kept: ${root}`);
    else rmSync(root, { recursive: true, force: true });
  };
  for (const sig of ['SIGINT', 'SIGTERM']) process.once(sig, () => void stop().then(() => process.exit(130)));
  try {
    const d = await telepty(env, ['daemon', 'start', '--json']);
    if (d.code !== 0) throw new Error(`telepty daemon start failed (exit ${d.code}): ${d.stderr}`);
    const port = JSON.parse(readFileSync(path.join(root, 'daemon.json'), 'utf8')).port;
    const ctx = { root, env, port };
    for (const r of results.filter((x) => !x.skipped)) {
      for (const sc of SCENARIOS) {
        log(`${r.label} ${r.version}: ${sc.what} ...`);
        const row = await scenario(ctx, r, r.bin, sc);
        r.rows.push(row);
        if (row.error) log(`  not run: ${row.error}${row.screen ? `\n  screen:\n${row.screen}` : ''}`);
        else log(`  ${row.sent} sent, ${row.once} reached the model exactly once, ${row.reported} answered submitted, ${row.failed} failed, p50 ${fmt(row.p50)} (telepty's part ${fmt(row.ownP50)})`);
        for (const p of row.problems) log(`  - ${p}`);
        if (row.problems.length && row.screen) log(`  screen at the end:\n${row.screen}`);
      }
    }
  } finally {
    await stop();
  }

  for (const r of results) {
    process.stdout.write(`\n${r.label} ${r.version}\n`);
    process.stdout.write(r.skipped ? `skipped: ${r.skipped}\n` : `${table(r.rows)}\n`);
  }
  const text = report(results, started);
  if (!only.length || process.env.TELEPTY_AGENTS_WRITE) {
    writeFileSync(REPORT, `${text}\n${notes()}`);
    record('agents-real (npm run test:agents)', benchRows(results));
    await new Promise((resolve) =>
      execFile(process.execPath, [path.join(ROOT, 'bench', 'report.mjs')], (err) => {
        if (err) log(`bench/report.mjs failed: ${err.message}`);
        resolve();
      }),
    );
    log(`\ntest:agents: written to ${path.relative(ROOT, REPORT)}, and its rows to bench/results.md`);
  } else log('\ntest:agents: a run of some CLIs only: bench/agents-real.md left as is (TELEPTY_AGENTS_WRITE=1 writes it)');
  const bad = results.some((r) => r.rows.some((row) => row.failed > 0 || row.error));
  return bad ? 1 : 0;
}

process.exitCode = await main();
