// Recording cost (issue 22): 40 MB through `cat` in a session, recorded (asciicast v2, the default) and not, in
// the same run. Clock as in throughput.bench.mjs: from the Enter that starts the cat to session_exit on the bus
// (the host reports it once every byte went through its terminal model; the recorder writes off that path).
// Also: whether the recording kept every byte (its `o` events' bytes) or dropped some to a marked gap, and the session
// host's CPU time per MB (all its threads, from the Enter until the host process is gone, so the recording's writing
// after the exit counts too): CPU is steadier than the time on this shared VM and says what the recording costs when
// no core is free.
import { execFileSync } from 'node:child_process';
import { readFileSync, rmSync, statSync } from 'node:fs';
import { createRequire } from 'node:module';
import os from 'node:os';
import path from 'node:path';
import { benchHome, printRows, record, writeLogFile } from './lib.mjs';

const require = createRequire(import.meta.url);
const WebSocket = require('ws');
const SIZE = 40 * 1000 * 1000;
const FILE = path.join(os.tmpdir(), `telepty-bench-record-40mb-${process.pid}.txt`);
const COLS = 120;
const ROWS = 40;
/**
 * Interleaved rounds: plain, recorded, plain, recorded, …, plain. This VM drifts by a third within minutes (and other
 * work on it comes and goes): each recorded run is compared with the mean of the plain runs just before and after it
 * (a bracket cancels a steady drift), and the median of those ratios is the cost.
 */
const ROUNDS = Number(process.env.RECORD_BENCH_ROUNDS ?? 9);
/** After the exit, the host finishes the file: the bench waits (bounded) for its last line before reading it. */
const FILE_DONE_WAIT_MS = 20_000;

function makeFile() {
  const text = writeLogFile(FILE, SIZE);
  // What the terminal delivers of the file: its ONLCR puts a \r before every \n (the Enter's echo comes on top).
  return SIZE + text.split('\n').length - 1;
}

const open = (url) =>
  new Promise((resolve, reject) => {
    const ws = new WebSocket(url, { perMessageDeflate: false });
    ws.once('open', () => resolve(ws));
    ws.once('error', reject);
  });

/** CPU ms (user + system) of a process and its threads, live and ended; null once it is gone (or without /proc). */
function cpuMs(pid) {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    const f = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return ((Number(f[11]) + Number(f[12])) * 1000) / CLK_TCK;
  } catch {
    return null; // the process has ended (or this is not Linux): the last reading stands
  }
}
const CLK_TCK = 100;
/** The host's CPU is read this often until it exits (the last reading misses at most this much of its end). */
const CPU_POLL_MS = 5;

async function run(h, port, id, castFile) {
  h.cli(['spawn', '--id', id, '--cols', String(COLS), '--rows', String(ROWS), ...(castFile ? ['--record', castFile] : []), '--', 'sh', '-c', `read go; cat ${FILE}`]);
  const bus = await open(`ws://127.0.0.1:${port}/api/bus?kind=session_exit&target=${id}`);
  const exited = new Promise((r) => bus.once('message', r));
  const pid = JSON.parse(h.cli(['list', '--json'])).find((s) => s.id === id)?.host_pid;
  await new Promise((r) => setTimeout(r, 300));
  const cpu0 = cpuMs(pid);
  // Read all along (a host that is not recording is gone moments after its exit); the highest reading stands.
  let cpu = cpu0;
  let alive = cpu0 !== null;
  const poll = setInterval(() => {
    const c = cpuMs(pid);
    if (c === null) alive = false;
    else if (c > cpu) cpu = c;
  }, CPU_POLL_MS);
  const t0 = performance.now();
  execFileSync('curl', ['-s', '-o', '/dev/null', '-X', 'POST', '-H', 'content-type: application/json', '-d', '{}', `http://127.0.0.1:${port}/api/sessions/${id}/submit`]);
  await exited;
  const seconds = (performance.now() - t0) / 1000;
  bus.close();
  while (alive) await new Promise((r) => setTimeout(r, CPU_POLL_MS));
  clearInterval(poll);
  return { seconds, cpuMs: cpu0 === null ? null : cpu - cpu0 };
}

/** The recording's output bytes and gap markers, once its exit marker is written. */
async function recorded(castFile) {
  const deadline = Date.now() + FILE_DONE_WAIT_MS;
  let text = '';
  while (Date.now() < deadline) {
    text = readFileSync(castFile, 'utf8');
    if (text.trimEnd().endsWith('"exit 0"]')) break;
    await new Promise((r) => setTimeout(r, 100));
  }
  let bytes = 0;
  let gaps = 0;
  for (const line of text.split('\n').slice(1)) {
    if (!line) continue;
    const [, code, data] = JSON.parse(line);
    if (code === 'o') bytes += Buffer.byteLength(data);
    else if (code === 'm' && data.startsWith('gap:')) gaps++;
  }
  return { bytes, gaps, fileBytes: statSync(castFile).size };
}

process.on('exit', () => rmSync(FILE, { force: true }));
const mbps = (s) => SIZE / 1e6 / s;
const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
const DELIVERED = makeFile();
const h = benchHome();
const rows = [];
try {
  h.cli(['daemon', 'start']);
  const port = JSON.parse(readFileSync(path.join(h.home, 'daemon.json'), 'utf8')).port;
  const plain = [];
  const rec = [];
  const kept = [];
  const cpuPlain = [];
  const cpuRec = [];
  const take = (r, times, cpus) => {
    times.push(r.seconds);
    if (r.cpuMs !== null) cpus.push(r.cpuMs);
    return r;
  };
  take(await run(h, port, 'plain-0', null), plain, cpuPlain);
  for (let i = 0; i < ROUNDS; i++) {
    const castFile = path.join(h.home, `rec-${i}.cast`);
    const r = take(await run(h, port, `rec-${i}`, castFile), rec, cpuRec);
    kept.push(await recorded(castFile));
    rmSync(castFile, { force: true });
    const p = take(await run(h, port, `plain-${i + 1}`, null), plain, cpuPlain);
    process.stderr.write(`  round ${i + 1}/${ROUNDS}: plain ${plain[i].toFixed(2)} s, recorded ${rec[i].toFixed(2)} s (host CPU ${r.cpuMs ?? '?'} ms), plain ${plain[i + 1].toFixed(2)} s (${p.cpuMs ?? '?'} ms) (kept ${(kept[i].bytes / 1e6).toFixed(1)} MB, ${kept[i].gaps} gaps)\n`);
  }
  const ratios = rec.map((s, i) => s / ((plain[i] + plain[i + 1]) / 2) - 1).sort((a, b) => a - b);
  const cost = median(ratios);
  const pct = (x) => `${x >= 0 ? '+' : ''}${(x * 100).toFixed(1)}%`;
  // The round that kept the least: a gap in any round shows.
  const k = kept.reduce((a, b) => (b.bytes < a.bytes ? b : a));
  const range = (xs) => `${Math.min(...xs).toFixed(2)} … ${Math.max(...xs).toFixed(2)} s`;
  const perMb = (xs) => (xs.length ? median(xs) / (SIZE / 1e6) : null);
  const cpuText = (xs) => (xs.length ? `; host CPU ${perMb(xs).toFixed(1)} ms/MB` : '');
  rows.push({ name: '40 MB through cat, not recorded', value: `${mbps(median(plain)).toFixed(1)} MB/s (${median(plain).toFixed(2)} s, ${range(plain)})${cpuText(cpuPlain)}`, ratio: '', target: '', mb_s: mbps(median(plain)), seconds: plain, host_cpu_ms_per_mb: perMb(cpuPlain) });
  rows.push({
    name: '40 MB through cat, recorded (asciicast v2)',
    value: `${mbps(median(rec)).toFixed(1)} MB/s (${median(rec).toFixed(2)} s, ${range(rec)})${cpuText(cpuRec)}; the round that kept least kept ${k.bytes >= DELIVERED ? 'every byte' : `${k.bytes} of ${DELIVERED} bytes`} (${(k.bytes / 1e6).toFixed(1)} MB with the terminal's \\r; ${k.gaps} gap markers), file ${(k.fileBytes / 1e6).toFixed(1)} MB`,
    ratio: `${Math.abs(cost * 100).toFixed(1)}% ${cost >= 0 ? 'slower' : 'faster'} than not recorded (median of ${ROUNDS} bracketed rounds; ${pct(ratios[0])} … ${pct(ratios[ratios.length - 1])})`,
    target: '< 5 %',
    mb_s: mbps(median(rec)),
    seconds: rec,
    host_cpu_ms_per_mb: perMb(cpuRec),
    cost_pct: cost * 100,
    cost_pct_rounds: ratios.map((r) => Math.round(r * 1000) / 10),
    kept_bytes: k.bytes,
    gaps: k.gaps,
  });
} finally {
  h.cleanup();
}
printRows('Recording', rows);
record('record', rows);
