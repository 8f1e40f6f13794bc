// `spawn` → the program's first output: from starting `telepty spawn` (a new CLI process, as a user or script runs
// it) until the program in the new session has written its first bytes, next to `tmux new-session -d` with the
// same program, in interleaved rounds of one run. Also the same through the HTTP API (no CLI start).
// The program writes one byte into a FIFO the bench reads: the clock stops when that byte arrives.
// Two daemons: one as shipped, which keeps a spare session host started ahead of the next spawn once it has spawned
// (src/daemon/sessions/spare-host.ts; its first round is its first spawn, so without one), and one with
// TELEPTY_SPARE_HOST=0, where every spawn starts its host (what back-to-back spawns get after the first).
import { execFileSync, spawn, spawnSync } from 'node:child_process';
import { createReadStream, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { BIN, benchHome, fmt, has, printRows, record, summarize } from './lib.mjs';

/** Interleaved rounds (telepty CLI, telepty API, tmux, then again): the machine's drift hits each alike. */
const ROUNDS = 15;
const dir = mkdtempSync(path.join(os.tmpdir(), 'telepty-bench-spawn-'));
let fifoN = 0;

/** A fresh FIFO and a promise of the first byte written into it (resolves with the time it came). */
function fifo() {
  const file = path.join(dir, `f${fifoN++}`);
  execFileSync('mkfifo', [file]);
  const first = new Promise((resolve, reject) => {
    const s = createReadStream(file);
    s.once('data', () => {
      resolve(performance.now());
      s.destroy();
    });
    s.once('error', reject);
  });
  return { file, first };
}

const program = (file) => `printf x > ${file}; exec sleep 600`;

function run(cmd, args, env) {
  return new Promise((resolve, reject) => {
    const c = spawn(cmd, args, { env, stdio: ['ignore', 'ignore', 'inherit'] });
    c.once('exit', (code) => (code === 0 ? resolve() : reject(new Error(`${cmd} ${args.join(' ')} exited ${code}`))));
    c.once('error', reject);
  });
}

/** A daemon in a home of its own; `spawnApi`/`spawnCli` time one spawn each to the program's first output. */
function daemonOf(extraEnv) {
  const h = benchHome();
  const env = { ...h.env, ...extraEnv };
  const cli = (args) => spawnSync(process.execPath, [BIN, ...args], { env, stdio: 'ignore' });
  if (cli(['daemon', 'start']).status !== 0) throw new Error('daemon start failed');
  const { port } = JSON.parse(readFileSync(path.join(h.home, 'daemon.json'), 'utf8'));
  const token = readFileSync(path.join(h.home, 'token'), 'utf8').trim();
  return {
    h,
    async spawnCli(id) {
      const f = fifo();
      const t0 = performance.now();
      await run(process.execPath, [BIN, 'spawn', '--id', id, '--', 'sh', '-c', program(f.file)], env);
      const ms = (await f.first) - t0;
      cli(['kill', id]);
      return ms;
    },
    async spawnApi(id) {
      const f = fifo();
      const t0 = performance.now();
      const res = await fetch(`http://127.0.0.1:${port}/api/sessions/spawn`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', 'x-telepty-token': token },
        body: JSON.stringify({ session_id: id, command: 'sh', args: ['-c', program(f.file)] }),
      });
      if (res.status !== 201) throw new Error(`spawn via API: HTTP ${res.status} ${await res.text()}`);
      const ms = (await f.first) - t0;
      cli(['kill', id]);
      return ms;
    },
  };
}

const sock = `telepty-bench-spawn-${process.pid}`;
const tmuxArgs = ['-L', sock, '-f', '/dev/null'];
const samples = { cli: [], api: [], cliCold: [], apiCold: [], tmux: [] };
const rows = [];
const homes = [];
try {
  const shipped = daemonOf({});
  homes.push(shipped.h);
  const cold = daemonOf({ TELEPTY_SPARE_HOST: '0' });
  homes.push(cold.h);
  if (has('tmux')) execFileSync('tmux', [...tmuxArgs, 'new-session', '-d', '-s', 'keep', 'sleep 600']);
  for (let r = 0; r < ROUNDS; r++) {
    samples.cli.push(await shipped.spawnCli(`cli-${r}`));
    samples.api.push(await shipped.spawnApi(`api-${r}`));
    samples.cliCold.push(await cold.spawnCli(`cli-${r}`));
    samples.apiCold.push(await cold.spawnApi(`api-${r}`));
    if (has('tmux')) {
      // The server is already running (as telepty's daemon is): a new session in it, like telepty spawn.
      const f = fifo();
      const t0 = performance.now();
      await run('tmux', [...tmuxArgs, 'new-session', '-d', '-s', `s${r}`, program(f.file)], process.env);
      samples.tmux.push((await f.first) - t0);
      spawnSync('tmux', [...tmuxArgs, 'kill-session', '-t', `s${r}`], { stdio: 'ignore' });
    }
  }
  const tmux = samples.tmux.length ? summarize(samples.tmux) : null;
  const row = (name, xs, target = '') => {
    const s = summarize(xs);
    rows.push({ name, value: `p50 ${fmt(s.p50)} ms, p99 ${fmt(s.p99)} ms`, ratio: tmux ? `${(s.p50 / tmux.p50).toFixed(1)}x tmux` : '', target, p50_ms: s.p50, p99_ms: s.p99 });
  };
  row('telepty spawn (CLI) → the program\'s first output', samples.cli, 'p50 < 150 ms');
  row('POST /api/sessions/spawn → the program\'s first output', samples.api);
  row('telepty spawn (CLI), no spare host (TELEPTY_SPARE_HOST=0) → first output', samples.cliCold);
  row('POST /api/sessions/spawn, no spare host → first output', samples.apiCold);
  if (tmux) rows.push({ name: 'tmux new-session -d (server running) → the program\'s first output', value: `p50 ${fmt(tmux.p50)} ms, p99 ${fmt(tmux.p99)} ms`, ratio: '', target: '', p50_ms: tmux.p50, p99_ms: tmux.p99 });
} finally {
  spawnSync('tmux', [...tmuxArgs, 'kill-server'], { stdio: 'ignore' });
  for (const h of homes) h.cleanup();
  rmSync(dir, { recursive: true, force: true });
}
printRows('spawn → first output', rows);
record('spawn', rows);
