// New-process costs: `telepty --version`, `telepty meta`, and `telepty inject` (the hot path scripts call)
// against `node -e 0` (the floor of any Node CLI) and `tmux send-keys` as a new process, with hyperfine in one run.
import { execFileSync, spawnSync } from 'node:child_process';
import { BIN, benchHome, fmt, has, hyperfine, printRows, record } from './lib.mjs';

if (!has('hyperfine')) {
  console.log('startup: hyperfine not installed (apt-get install hyperfine); skipped');
  process.exit(0);
}
const h = benchHome();
const sock = `telepty-bench-start-${process.pid}`;
try {
  h.cli(['daemon', 'start']);
  h.cli(['spawn', '--id', 'sink', '--', 'cat']);
  const node = process.execPath;
  const commands = [
    { name: 'node -e 0', cmd: `${node} -e 0` },
    { name: 'telepty --version', cmd: `${node} ${BIN} --version` },
    { name: 'telepty meta --json (daemon running)', cmd: `${node} ${BIN} meta --json` },
    { name: 'telepty inject sink --no-wait hello', cmd: `${node} ${BIN} inject sink --no-wait hello` },
  ];
  if (has('tmux')) {
    execFileSync('tmux', ['-L', sock, '-f', '/dev/null', 'new-session', '-d', '-s', 'sink', 'cat']);
    commands.push({ name: 'tmux send-keys -t sink -l hello', cmd: `tmux -L ${sock} send-keys -t sink -l hello` });
  }
  const results = hyperfine(commands, { env: h.env, runs: 60, rounds: 6 });
  const byName = Object.fromEntries(results.map((r) => [r.name, r]));
  const base = byName['node -e 0'];
  const tmux = byName['tmux send-keys -t sink -l hello'];
  const targets = { 'telepty --version': '≤ 1.3x node -e 0', 'telepty inject sink --no-wait hello': '≤ 1.3x node -e 0' };
  const rows = results.map((r) => ({
    name: r.name,
    value: `p50 ${fmt(r.p50)} ms, p99 ${fmt(r.p99)} ms`,
    ratio: r === base || r === tmux ? '' : `${(r.p50 / base.p50).toFixed(2)}x node -e 0${r.name.includes('inject') && tmux ? `; ${(r.p50 / tmux.p50).toFixed(0)}x tmux send-keys` : ''}`,
    target: targets[r.name] ?? '',
    p50_ms: r.p50,
    p99_ms: r.p99,
  }));
  printRows('New-process start', rows);
  record('startup', rows);
} finally {
  spawnSync('tmux', ['-L', sock, 'kill-server'], { stdio: 'ignore' });
  h.cleanup();
}
