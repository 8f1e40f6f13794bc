// CLI start time: `telepty --version` and `telepty meta` (daemon running) against `node -e 0`, with hyperfine.
import { BIN, benchHome, fmt, has, hyperfine, printRows, record } from './lib.mjs';

if (!has('hyperfine')) {
  console.log('startup: hyperfine not installed (apt-get install hyperfine); skipped');
  process.exit(0);
}
const h = benchHome();
try {
  h.cli(['daemon', 'start']);
  const node = process.execPath;
  const results = hyperfine(
    [
      { name: 'node -e 0', cmd: `${node} -e 0` },
      { name: 'telepty --version', cmd: `${node} ${BIN} --version` },
      { name: 'telepty meta --json (daemon running)', cmd: `${node} ${BIN} meta --json` },
    ],
    { env: h.env, runs: 40 },
  );
  const base = results[0];
  const rows = results.map((r) => ({
    name: r.name,
    value: `p50 ${fmt(r.p50)} ms, p99 ${fmt(r.p99)} ms`,
    ratio: r === base ? '' : `${(r.p50 / base.p50).toFixed(2)}x node -e 0`,
    target: r.name === 'telepty --version' ? '≤ 1.3x' : '',
    p50_ms: r.p50,
    p99_ms: r.p99,
  }));
  printRows('CLI start time', rows);
  record('startup', rows);
} finally {
  h.cleanup();
}
