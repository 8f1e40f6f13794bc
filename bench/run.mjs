// `npm run bench`: every bench/*.bench.mjs in order, each bounded in time; then bench/results.md.
import { spawnSync } from 'node:child_process';
import { readdirSync } from 'node:fs';
import path from 'node:path';
import { ROOT, has } from './lib.mjs';

/**
 * Each script is bounded. The longest, bench/rss.bench.mjs, lets 50 hosts settle (V8 gives back what loading took
 * at ~8 s) and took 95-115 s at load 3-10: twice that, so a loaded machine still finishes it.
 */
const SCRIPT_TIMEOUT_MS = 240_000;

const only = process.argv.slice(2);
const dir = path.join(ROOT, 'bench');
const scripts = readdirSync(dir)
  .filter((f) => f.endsWith('.bench.mjs'))
  .filter((f) => only.length === 0 || only.some((o) => f.startsWith(o)))
  .sort();
/**
 * tmux (what every ratio is against) and hyperfine (process start times) come from apt-get when absent: as root,
 * or through sudo when it needs no password. Without them the tmux rows are left out, and the start bench fails.
 */
function ensureTools() {
  const missing = ['tmux', 'hyperfine'].filter((t) => !has(t));
  if (missing.length === 0 || !has('apt-get')) return;
  const asRoot = process.getuid?.() === 0;
  if (!asRoot && spawnSync('sudo', ['-n', 'true'], { stdio: 'ignore' }).status !== 0) {
    console.error(`bench: ${missing.join(' and ')} missing; install with: sudo apt-get install -y ${missing.join(' ')}`);
    return;
  }
  console.error(`bench: installing ${missing.join(', ')} with apt-get…`);
  const apt = (...args) => spawnSync(asRoot ? 'apt-get' : 'sudo', asRoot ? args : ['-n', 'apt-get', ...args], { stdio: ['ignore', 'ignore', 'inherit'], env: { ...process.env, DEBIAN_FRONTEND: 'noninteractive' } });
  if (apt('install', '-y', ...missing).status !== 0) apt('update');
  if (missing.some((t) => !has(t))) apt('install', '-y', ...missing);
  for (const t of missing) console.error(`bench: ${t} ${has(t) ? 'installed' : 'could not be installed'}`);
}

ensureTools();
let failed = 0;
for (const f of scripts) {
  const r = spawnSync(process.execPath, [path.join(dir, f)], { stdio: 'inherit', timeout: SCRIPT_TIMEOUT_MS, killSignal: 'SIGTERM' });
  if (r.status !== 0) {
    failed++;
    console.error(`bench ${f} failed (${r.error ? r.error.message : `exit ${r.status}`})`);
  }
}
spawnSync(process.execPath, [path.join(dir, 'report.mjs')], { stdio: 'inherit' });
process.exit(failed ? 1 : 0);
