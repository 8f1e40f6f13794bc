// `npm run bench`: every bench/*.bench.mjs in order, each bounded in time; then bench/results.md.
import { spawnSync } from 'node:child_process';
import { readdirSync } from 'node:fs';
import path from 'node:path';
import { ROOT } from './lib.mjs';

/** Each script is bounded; the whole suite must stay under 5 minutes on this machine. */
const SCRIPT_TIMEOUT_MS = 120_000;

const only = process.argv.slice(2);
const dir = path.join(ROOT, 'bench');
const scripts = readdirSync(dir)
  .filter((f) => f.endsWith('.bench.mjs'))
  .filter((f) => only.length === 0 || only.some((o) => f.startsWith(o)))
  .sort();
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
