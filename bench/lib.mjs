// Shared pieces of the bench scripts: temp homes, a daemon per home, hyperfine, percentiles, result rows.
import { execFileSync, spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync, existsSync } from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

export const ROOT = fileURLToPath(new URL('..', import.meta.url));
export const BIN = path.join(ROOT, 'bin', 'telepty.js');
export const RESULTS_JSON = path.join(ROOT, 'bench', 'results.json');

export function has(cmd) {
  return spawnSync('sh', ['-c', `command -v ${cmd}`], { stdio: 'ignore' }).status === 0;
}

function stateRecordPid(home) {
  try {
    const pid = JSON.parse(readFileSync(path.join(home, 'daemon.json'), 'utf8')).pid;
    return Number.isInteger(pid) ? pid : null;
  } catch {
    return null; // no daemon was started in this home
  }
}

function isTeleptyDaemon(pid) {
  try {
    return readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0').slice(1, 3).join(' ').endsWith('bin/telepty.js daemon');
  } catch {
    return false; // gone, or no /proc (not Linux): nothing to kill
  }
}

/** A temp TELEPTY_HOME with an environment for it (port 0: any free loopback port). */
export function benchHome() {
  const home = mkdtempSync(path.join(os.tmpdir(), 'telepty-bench-'));
  const env = { ...process.env, TELEPTY_HOME: home, TELEPTY_PORT: '0', NO_COLOR: '1' };
  let cleaned = false;
  const cleanup = () => {
    if (cleaned) return;
    cleaned = true;
    // Every session of this home first (their hosts outlive the daemon), then the daemon, both through the CLI.
    const daemonPid = stateRecordPid(home);
    spawnSync(process.execPath, [BIN, 'kill', '--all'], { env, stdio: 'ignore' });
    spawnSync(process.execPath, [BIN, 'daemon', 'stop'], { env, stdio: 'ignore' });
    // A daemon that did not go is SIGKILLed: by the pid its own state file gave, once its command line confirms it.
    if (daemonPid !== null && isTeleptyDaemon(daemonPid)) {
      console.error(`bench: the daemon (pid ${daemonPid}) did not stop; killing it`);
      process.kill(daemonPid, 'SIGKILL');
    }
    // TELEPTY_BENCH_KEEP=1 keeps the home (daemon and host logs) for a look after a failed run.
    if (process.env.TELEPTY_BENCH_KEEP) console.error(`bench home kept: ${home}`);
    else rmSync(home, { recursive: true, force: true });
  };
  // A bench stopped from outside (run.mjs's time bound sends SIGTERM) still ends what it started.
  for (const sig of ['SIGTERM', 'SIGINT']) {
    process.once(sig, () => {
      cleanup();
      process.exit(130);
    });
  }
  return {
    home,
    env,
    cli: (args, opts = {}) => execFileSync(process.execPath, [BIN, ...args], { env, encoding: 'utf8', ...opts }),
    /** End every session and the daemon of this home (through the CLI, by verified pids) and remove the home. */
    cleanup,
  };
}

/**
 * Run hyperfine on commands; returns p50/p99/mean in ms per command. The runs are split into `rounds` rounds of
 * all commands in turn, their samples merged: this machine's speed drifts within a minute, and one long block per
 * command would put that drift into the ratios between them.
 */
export function hyperfine(commands, { runs = 30, warmup = 3, rounds = 1, env } = {}) {
  const samples = commands.map(() => []);
  for (let r = 0; r < rounds; r++) {
    const out = path.join(os.tmpdir(), `telepty-hf-${process.pid}-${Date.now()}-${r}.json`);
    execFileSync('hyperfine', ['-N', '--warmup', String(warmup), '--runs', String(Math.ceil(runs / rounds)), '--export-json', out, ...commands.map((c) => c.cmd)], {
      env: env ?? process.env,
      stdio: ['ignore', 'ignore', 'inherit'],
    });
    const data = JSON.parse(readFileSync(out, 'utf8'));
    rmSync(out, { force: true });
    data.results.forEach((res, i) => samples[i].push(...res.times.map((t) => t * 1000)));
  }
  return commands.map((c, i) => ({ name: c.name, ...summarize(samples[i]) }));
}

export function summarize(samplesMs) {
  const s = [...samplesMs].sort((a, b) => a - b);
  const pick = (q) => s[Math.min(s.length - 1, Math.floor(q * s.length))];
  return { n: s.length, p50: pick(0.5), p99: pick(0.99), mean: s.reduce((a, b) => a + b, 0) / s.length };
}

export const fmt = (ms) => (ms >= 100 ? ms.toFixed(0) : ms >= 10 ? ms.toFixed(1) : ms.toFixed(2));

/** Record result rows under a section name (bench/results.json), for the markdown table. */
export function record(section, rows) {
  const all = existsSync(RESULTS_JSON) ? JSON.parse(readFileSync(RESULTS_JSON, 'utf8')) : {};
  all[section] = { measured_at: new Date().toISOString(), rows };
  writeFileSync(RESULTS_JSON, `${JSON.stringify(all, null, 2)}\n`);
}

export function printRows(title, rows) {
  console.log(`\n## ${title}`);
  for (const r of rows) console.log(`  ${r.name.padEnd(44)} ${r.value}${r.ratio ? `   ratio ${r.ratio}` : ''}${r.target ? `   (target ${r.target})` : ''}`);
}

/** A loopback port nothing listens on right now. */
export function freePort() {
  return new Promise((resolve, reject) => {
    const srv = net.createServer();
    srv.once('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const { port } = srv.address();
      srv.close(() => resolve(port));
    });
  });
}

/**
 * `bytes` of printable lines (base64 at 120 columns, like a long build log) written to `file`: the floods of the
 * throughput, record and memory benches. Returns the text written.
 */
export function writeLogFile(file, bytes) {
  const parts = [];
  let n = 0;
  for (let i = 0; n < bytes; i++) {
    const l = `${Buffer.from(`line ${i} `.repeat(12)).toString('base64').slice(0, 119)}\n`;
    parts.push(l);
    n += l.length;
  }
  const text = parts.join('').slice(0, bytes);
  writeFileSync(file, text);
  return text;
}
