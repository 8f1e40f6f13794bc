// The recording benches' flood (record.bench.mjs, record-ab.mjs): 40 MB through `cat` in a session, timed from the
// Enter that starts the cat to session_exit on the bus (the host reports it once every byte went through its terminal
// model; the recorder writes off that path), with the session host's CPU (all its threads, from the Enter until the
// host process is gone, so the recording's writing after the exit counts too).
import { execFileSync } from 'node:child_process';
import { readFileSync, statSync } from 'node:fs';
import { createRequire } from 'node:module';
import { writeLogFile } from './lib.mjs';

const require = createRequire(import.meta.url);
const WebSocket = require('ws');
export const SIZE = 40 * 1000 * 1000;
const COLS = 120;
const ROWS = 40;
/** After the exit, the host finishes the file (a spooled flood is converted then): a bounded wait for its last line. */
const FILE_DONE_WAIT_MS = 30_000;
const CLK_TCK = 100;
/** The host's CPU is read this often until it exits (the last reading misses at most this much of its end). */
const CPU_POLL_MS = 5;

/** Write the flood's file; returns the bytes the terminal delivers of it (its ONLCR puts a \r before every \n). */
export function makeFloodFile(file) {
  const text = writeLogFile(file, SIZE);
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

/** One flood in a new session of the daemon at `port` (`cli` runs telepty), recorded to `castFile` unless null. */
export async function runFlood(cli, port, id, file, castFile) {
  cli(['spawn', '--id', id, '--cols', String(COLS), '--rows', String(ROWS), ...(castFile ? ['--record', castFile] : []), '--', 'sh', '-c', `read go; cat ${file}`]);
  const bus = await open(`ws://127.0.0.1:${port}/api/bus?kind=session_exit&target=${id}`);
  const exited = new Promise((r) => bus.once('message', r));
  const pid = JSON.parse(cli(['list', '--json'])).find((s) => s.id === id)?.host_pid;
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
  // The host's CPU ms within the flood's time (the recording's writing after the exit not counted).
  const end = cpuMs(pid);
  const inFloodMs = cpu0 !== null && end !== null ? end - cpu0 : null;
  bus.close();
  while (alive) await new Promise((r) => setTimeout(r, CPU_POLL_MS));
  clearInterval(poll);
  return { seconds, cpuMs: cpu0 === null ? null : cpu - cpu0, inFloodMs };
}

/** The recording's output bytes and gap markers, once its exit marker is written. */
export async function recorded(castFile) {
  const deadline = Date.now() + FILE_DONE_WAIT_MS;
  let text = '';
  while (Date.now() < deadline) {
    text = readFileSync(castFile, 'utf8');
    if (text.trimEnd().endsWith('"exit 0"]')) break;
    await new Promise((r) => setTimeout(r, 100));
  }
  let bytes = 0;
  let gaps = 0;
  /** What each gap marker says (which bound dropped the output). */
  const gapLabels = [];
  for (const line of text.split('\n').slice(1)) {
    if (!line) continue;
    const [, code, data] = JSON.parse(line);
    if (code === 'o') bytes += Buffer.byteLength(data);
    else if (code === 'm' && data.startsWith('gap:')) {
      gaps++;
      gapLabels.push(data);
    }
  }
  return { bytes, gaps, gapLabels, fileBytes: statSync(castFile).size };
}

export const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];

/** Resamples of the rounds behind a median's interval: 2000 put the 5th and 95th percentiles within ±0.3 points. */
const RESAMPLES = 2000;

/**
 * Where the median of `xs` (one value per round) would land over other runs like this one: the 5th and 95th
 * percentiles of the medians of RESAMPLES resamples with replacement (bootstrap; a fixed seed, so the same rounds give
 * the same interval). The row prints it beside the median and draws no verdict: a run supports "< 5 %" only when the
 * interval's top is under it.
 */
export function medianInterval(xs) {
  let seed = 0x9e3779b9;
  const random = () => {
    seed = (seed + 0x6d2b79f5) | 0;
    let t = Math.imul(seed ^ (seed >>> 15), 1 | seed);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 2 ** 32;
  };
  const medians = [];
  for (let r = 0; r < RESAMPLES; r++) medians.push(median(xs.map(() => xs[Math.floor(random() * xs.length)])));
  medians.sort((a, b) => a - b);
  return [medians[Math.floor(RESAMPLES * 0.05)], medians[Math.floor(RESAMPLES * 0.95)]];
}
export const pct = (x) => `${x >= 0 ? '+' : ''}${(x * 100).toFixed(1)}%`;
