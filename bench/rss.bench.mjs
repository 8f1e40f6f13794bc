// Memory: daemon RSS and per-host RSS with 1, 10 and 50 idle sessions, next to a tmux server with the same
// number of idle windows, measured in one run. Every process started here is ended by the pid it has.
import { execFileSync, spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { benchHome, has, printRows, record } from './lib.mjs';

const COUNTS = [1, 10, 50];

/** RSS counts the node binary's shared code pages in every process; PSS shares them out (the real cost). */
function memKb(pid) {
  const text = readFileSync(`/proc/${pid}/smaps_rollup`, 'utf8');
  const field = (name) => Number(new RegExp(`^${name}:\\s+(\\d+) kB`, 'm').exec(text)?.[1] ?? NaN);
  return { rss: field('Rss'), pss: field('Pss') };
}
const sum = (xs) => xs.reduce((a, b) => a + b, 0);
const mb = (kb) => (kb / 1024).toFixed(1);

function measureTelepty(n) {
  const h = benchHome();
  try {
    h.cli(['daemon', 'start']);
    for (let i = 0; i < n; i++) h.cli(['spawn', '--id', `idle-${i}`, '--', 'sh', '-c', 'exec sleep 600']);
    // Let every host settle (first screen parse, link established) before reading memory.
    spawnSync('sleep', ['1']);
    const daemonPid = JSON.parse(readFileSync(`${h.home}/daemon.json`, 'utf8')).pid;
    const sessions = JSON.parse(h.cli(['list', '--json']));
    const hosts = sessions.map((s) => memKb(s.host_pid));
    return { daemon: memKb(daemonPid), hostRss: sum(hosts.map((m) => m.rss)) / n, hostPss: sum(hosts.map((m) => m.pss)) / n, hostPssTotal: sum(hosts.map((m) => m.pss)) };
  } finally {
    h.cleanup();
  }
}

function measureTmux(n) {
  const sock = `telepty-bench-${process.pid}-${n}`;
  const tmux = (...args) => execFileSync('tmux', ['-L', sock, '-f', '/dev/null', ...args], { encoding: 'utf8' });
  try {
    tmux('new-session', '-d', '-x', '80', '-y', '24', 'sh -c "exec sleep 600"');
    for (let i = 1; i < n; i++) tmux('new-window', '-d', 'sh -c "exec sleep 600"');
    spawnSync('sleep', ['1']);
    const pid = Number(tmux('display-message', '-p', '#{pid}').trim());
    return { server: memKb(pid) };
  } finally {
    spawnSync('tmux', ['-L', sock, 'kill-server'], { stdio: 'ignore' });
  }
}

const rows = [];
for (const n of COUNTS) {
  const t = measureTelepty(n);
  const x = has('tmux') ? measureTmux(n) : null;
  const total = t.daemon.pss + t.hostPssTotal;
  const label = `${n} idle session${n > 1 ? 's' : ''}`;
  rows.push({ name: `${label}: daemon`, value: `RSS ${mb(t.daemon.rss)} MB, PSS ${mb(t.daemon.pss)} MB`, ratio: '', target: '', daemon_rss_kb: t.daemon.rss, daemon_pss_kb: t.daemon.pss });
  rows.push({ name: `${label}: each host`, value: `RSS ${mb(t.hostRss)} MB, PSS ${mb(t.hostPss)} MB`, ratio: '', target: '', host_rss_kb: t.hostRss, host_pss_kb: t.hostPss });
  rows.push({
    name: `${label}: all of telepty vs tmux server`,
    value: `PSS ${mb(total)} MB vs ${x ? `${mb(x.server.pss)} MB` : 'tmux not installed'}`,
    ratio: x ? `${(total / x.server.pss).toFixed(0)}x tmux` : '',
    target: '',
    total_pss_kb: total,
    tmux_pss_kb: x?.server.pss ?? null,
  });
}
printRows("Memory (RSS and PSS) with idle sessions", rows);
record('memory', rows);
