// The fleet over NATS (issue 18), measured in one run on one machine through a real nats-server on loopback:
// - inject → submitted on another machine (desk's daemon → hub → laptop's daemon) next to the same inject made on
//   laptop itself, interleaved (target: the fleet adds < 1 ms p50);
// - `list --all`'s read of the directory with 20 simulated machines of 20 sessions each (target < 100 ms);
// - directory convergence: laptop's spawn answered → its row visible to desk (target p50 < 10 ms);
// - bus events per second from one machine to another.
// `ssh localhost tmux send-keys` (the usual alternative) needs an sshd, which this bench does not start: left out.
import { spawn } from 'node:child_process';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import http from 'node:http';
import path from 'node:path';
import { ROOT, benchHome, fmt, freePort, printRows, record, summarize } from './lib.mjs';

const NATS = ['/usr/sbin/nats-server', '/usr/bin/nats-server', '/usr/local/bin/nats-server'].find((p) => existsSync(p));
if (!NATS) {
  console.error('bench fleet: nats-server is not installed (apt-get install nats-server); skipped');
  process.exit(0);
}
const dist = (p) => import(path.join(ROOT, 'dist', p));
const { planHub } = await dist('fleet/hub-config.js');
const { connectFleet, ensureFleetStorage } = await dist('fleet/connect.js');
const { FleetDirectory } = await dist('fleet/directory.js');
const { Kvm } = await import('@nats-io/kv');
const { FLEET_DIRECTORY_BUCKET, sessionKey } = await dist('protocol/fleet.js');

const PROMPTS = 40;
const SIM_MACHINES = 20;
const SIM_SESSIONS = 20;
const FIXTURE = path.join(ROOT, 'test', 'fixtures', 'claude-like.mjs');
const sims = Array.from({ length: SIM_MACHINES }, (_, i) => `sim-${i + 1}`);

const desk = benchHome();
const laptop = benchHome();
const port = await freePort();
const files = planHub({ machines: ['desk', 'laptop', ...sims], servers: [`nats://127.0.0.1:${port}`], listen: `127.0.0.1:${port}`, storeDir: desk.home });
const conf = path.join(desk.home, 'nats-server.conf');
writeFileSync(conf, files.config, { mode: 0o600 });
const nats = spawn(NATS, ['-c', conf], { stdio: 'ignore' });
const conns = [];
const rows = [];

function post(h, pathname, body, agent) {
  const p = JSON.parse(readFileSync(path.join(h.home, 'daemon.json'), 'utf8')).port;
  return new Promise((resolve, reject) => {
    const req = http.request({ host: '127.0.0.1', port: p, method: body === undefined ? 'GET' : 'POST', path: pathname, agent, headers: { 'content-type': 'application/json' } }, (res) => {
      let data = '';
      res.on('data', (c) => (data += c));
      res.on('end', () => resolve(JSON.parse(data)));
    });
    req.on('error', reject);
    req.end(body === undefined ? undefined : JSON.stringify(body));
  });
}

function logCount(file) {
  return existsSync(file) ? readFileSync(file, 'utf8').split('\n').filter(Boolean).length : 0;
}

async function until(what, fn, timeoutMs = 20_000) {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    if (await fn()) return;
    if (Date.now() > deadline) throw new Error(`timed out: ${what}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

try {
  await until('nats-server', async () => {
    try {
      const nc = await connectFleet({ credentials: files.admin, servers: [`nats://127.0.0.1:${port}`], timeoutMs: 500 });
      await ensureFleetStorage(nc);
      await nc.close();
      return true;
    } catch {
      return false;
    }
  });
  for (const [h, machine] of [[desk, 'desk'], [laptop, 'laptop']]) {
    const creds = path.join(h.home, `${machine}.creds.json`);
    writeFileSync(creds, JSON.stringify(files.credentials.find((c) => c.machine === machine)), { mode: 0o600 });
    h.env.TELEPTY_MACHINE_ID = machine;
    h.env.TELEPTY_NATS_CREDS = creds;
    h.cli(['daemon', 'start']);
  }
  await until('desk sees laptop', async () => {
    const st = await post(desk, '/api/fleet');
    return st.state === 'connected' && st.machines.some((m) => m.machine === 'laptop' && m.reachable);
  });

  // 1. inject → submitted: local on laptop vs from desk through the hub, interleaved.
  const log = path.join(laptop.home, 'agent.submissions');
  laptop.cli(['spawn', '--id', 'agent', '--env', `FIXTURE_LOG=${log}`, '--', process.execPath, FIXTURE]);
  await until('fixture ready', () => laptop.cli(['read', 'agent']).includes('ready'));
  const agents = { local: new http.Agent({ keepAlive: true }), remote: new http.Agent({ keepAlive: true }) };
  const samples = { local: [], remote: [] };
  let n = 0;
  for (let i = 0; i < PROMPTS; i++) {
    for (const kind of ['local', 'remote']) {
      const t0 = performance.now();
      const answer = kind === 'local'
        ? post(laptop, '/api/sessions/agent/inject', { prompt: `local ${i}`, wait: true }, agents.local)
        : post(desk, '/api/sessions/agent@laptop/inject', { prompt: `remote ${i}`, wait: true }, agents.remote);
      n += 1;
      const target = n;
      await until('submission', () => logCount(log) >= target, 10_000);
      samples[kind].push(performance.now() - t0);
      const r = await answer;
      if (r.status !== 'submitted') throw new Error(`${kind} inject answered ${JSON.stringify(r)}`);
    }
  }
  const local = summarize(samples.local);
  const remote = summarize(samples.remote);
  rows.push({
    name: 'inject → submitted, local (laptop → laptop)',
    value: `p50 ${fmt(local.p50)} ms, p99 ${fmt(local.p99)} ms (${PROMPTS} prompts, Claude-like fixture)`,
    p50_ms: local.p50,
  });
  rows.push({
    name: 'inject → submitted, desk → hub → laptop',
    value: `p50 ${fmt(remote.p50)} ms, p99 ${fmt(remote.p99)} ms; the fleet adds ${fmt(remote.p50 - local.p50)} ms p50`,
    target: '',
    p50_ms: remote.p50,
    added_p50_ms: remote.p50 - local.p50,
  });

  // 1b. The hop alone: one session object asked of laptop's daemon, directly and from desk through the hub.
  const hop = { local: [], remote: [] };
  for (let i = 0; i < 200; i++) {
    for (const kind of ['local', 'remote']) {
      const t0 = performance.now();
      const s = kind === 'local' ? await post(laptop, '/api/sessions/agent', undefined, agents.local) : await post(desk, '/api/sessions/agent@laptop', undefined, agents.remote);
      hop[kind].push(performance.now() - t0);
      if (s.id !== 'agent') throw new Error(`get answered ${JSON.stringify(s)}`);
    }
  }
  const hl = summarize(hop.local);
  const hr = summarize(hop.remote);
  rows.push({
    name: 'one request (GET a session), direct vs through the hub',
    value: `direct p50 ${fmt(hl.p50)} ms, desk → hub → laptop p50 ${fmt(hr.p50)} ms: the hop adds ${fmt(hr.p50 - hl.p50)} ms`,
    target: 'fleet adds < 1 ms p50',
    added_p50_ms: hr.p50 - hl.p50,
  });

  // 2. list --all's read with 20 simulated machines of 20 sessions.
  for (const m of sims) {
    const c = files.credentials.find((x) => x.machine === m);
    const nc = await connectFleet({ credentials: c, servers: [`nats://127.0.0.1:${port}`] });
    conns.push(nc);
    const dir = new FleetDirectory(await new Kvm(nc).open(FLEET_DIRECTORY_BUCKET), m, { now: Date.now, log: { debug() {}, info() {}, warn() {}, error() {} } });
    await dir.start();
    for (let s = 0; s < SIM_SESSIONS; s++) {
      await dir.putSession(`agent-${s}`, { id: `agent-${s}`, type: 'spawned', command: 'claude', args: [], cwd: '/work', status: 'connected', idleSeconds: 3, active_clients: 0, pid: 1000 + s });
    }
  }
  const listAll = [];
  for (let i = 0; i < 30; i++) {
    const t0 = performance.now();
    const st = await post(desk, '/api/fleet?rtt=0');
    listAll.push(performance.now() - t0);
    const total = st.machines.reduce((k, m) => k + m.sessions.length, 0);
    if (total < SIM_MACHINES * SIM_SESSIONS) throw new Error(`list --all saw ${total} sessions`);
  }
  const la = summarize(listAll);
  rows.push({ name: `list --all read, ${SIM_MACHINES} machines × ${SIM_SESSIONS} sessions`, value: `p50 ${fmt(la.p50)} ms, p99 ${fmt(la.p99)} ms`, target: '< 100 ms', p50_ms: la.p50 });

  // 3. Directory convergence: laptop's spawn answered → the row is in the bucket desk reads.
  const deskNc = await connectFleet({ credentials: files.credentials.find((x) => x.machine === 'desk'), servers: [`nats://127.0.0.1:${port}`] });
  conns.push(deskNc);
  const kv = await new Kvm(deskNc).open(FLEET_DIRECTORY_BUCKET);
  const converge = [];
  for (let i = 0; i < 10; i++) {
    const id = `conv-${i}`;
    const sp = await post(laptop, '/api/sessions/spawn', { session_id: id, command: 'sleep', args: ['60'], cwd: laptop.home });
    if (sp.session_id !== id) throw new Error(`spawn answered ${JSON.stringify(sp)}`);
    const t0 = performance.now();
    await until('row', async () => (await kv.get(sessionKey('laptop', id))) !== null, 5_000);
    converge.push(performance.now() - t0);
  }
  const cv = summarize(converge);
  rows.push({ name: 'directory convergence after a spawn (answer → row visible)', value: `p50 ${fmt(cv.p50)} ms, p99 ${fmt(cv.p99)} ms`, target: 'p50 < 10 ms', p50_ms: cv.p50 });
} finally {
  for (const c of conns) await c.close().catch(() => undefined);
  laptop.cleanup();
  desk.cleanup();
  nats.kill('SIGTERM');
}
printRows('Fleet (NATS, loopback)', rows);
record('fleet', rows);
