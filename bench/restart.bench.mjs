// After `kill -9` of the daemon (on a fixed port, as users run it): the time the first command takes (it starts the
// new daemon and waits, bounded, for the live hosts) and the time until all of N sessions are `connected` again,
// both counted from the moment that first command starts. N = 1, 10, 30; a few rounds each.
import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import http from 'node:http';
import os from 'node:os';
import path from 'node:path';
import { BIN, benchHome, fmt, freePort, printRows, record, summarize } from './lib.mjs';

const COUNTS = [1, 10, 30];
const ROUNDS = 3;
/** Polling the daemon's session list after the first command: fine enough for a 1 s target. */
const POLL_MS = 10;
/** A round that is not all connected by then has failed (the target is 1 s). */
const GIVE_UP_MS = 20_000;

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

function sessionsAt(port) {
  return new Promise((resolve) => {
    const req = http.get({ host: '127.0.0.1', port, path: '/api/sessions', timeout: 2_000 }, (res) => {
      let body = '';
      res.on('data', (d) => (body += d));
      res.on('end', () => {
        try {
          resolve(JSON.parse(body));
        } catch {
          resolve(null);
        }
      });
    });
    req.on('error', () => resolve(null));
    req.on('timeout', () => req.destroy());
  });
}

const connectedOf = (list) => (Array.isArray(list) ? list.filter((s) => s.status === 'connected').length : 0);

function daemonPid(home) {
  return JSON.parse(readFileSync(path.join(home, 'daemon.json'), 'utf8')).pid;
}

function alive(pid) {
  try {
    process.kill(pid, 0);
    return !readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1]?.startsWith('Z');
  } catch {
    return false;
  }
}

async function measure(n) {
  const h = benchHome();
  const port = await freePort();
  h.env.TELEPTY_PORT = String(port);
  const first = [];
  const all = [];
  const listedConnected = [];
  try {
    h.cli(['daemon', 'start']);
    for (let i = 0; i < n; i++) h.cli(['spawn', '--id', `s${i}`, '--', 'sleep', '3600']);
    for (let round = 0; round < ROUNDS; round++) {
      const deadline = Date.now() + GIVE_UP_MS;
      while (connectedOf(await sessionsAt(port)) < n && Date.now() < deadline) await sleep(POLL_MS);
      const pid = daemonPid(h.home);
      process.kill(pid, 'SIGKILL');
      while (alive(pid)) await sleep(5);
      const t0 = performance.now();
      const r = spawnSync(process.execPath, [BIN, 'list', '--json'], { env: h.env, encoding: 'utf8' });
      const t1 = performance.now();
      if (r.status !== 0) throw new Error(`the first command failed (exit ${r.status}): ${r.stderr}`);
      listedConnected.push(connectedOf(JSON.parse(r.stdout)));
      while (connectedOf(await sessionsAt(port)) < n) {
        if (performance.now() - t0 > GIVE_UP_MS) throw new Error(`not all ${n} sessions connected within ${GIVE_UP_MS} ms`);
        await sleep(POLL_MS);
      }
      first.push(t1 - t0);
      all.push(performance.now() - t0);
    }
  } finally {
    h.cleanup();
  }
  return { first: summarize(first), all: summarize(all), listedConnected };
}

const rows = [];
for (const n of COUNTS) {
  const m = await measure(n);
  // Daemon and CLI cold starts dominate these times, and they stretch with the machine's load: say what it was.
  const load = os.loadavg()[0].toFixed(1);
  const plural = n === 1 ? 'session' : 'sessions';
  rows.push({
    name: `daemon kill -9 → all of ${n} ${plural} connected, from the first command`,
    value: `median ${fmt(m.all.p50)} ms, max ${fmt(m.all.p99)} ms; the first command (list) took median ${fmt(m.first.p50)} ms and listed ${m.listedConnected.join('/')} of ${n} connected (${ROUNDS} rounds; load average ${load} on ${os.cpus().length} cores)`,
    ratio: '',
    target: '≤ 1 s',
    all_p50_ms: m.all.p50,
    all_max_ms: m.all.p99,
    first_p50_ms: m.first.p50,
  });
}
printRows('Daemon restart after kill -9', rows);
record('restart', rows);
