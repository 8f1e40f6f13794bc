// The fleet over NATS (issue 18), measured in one run on one machine through a real nats-server on loopback:
// - inject → submitted on another machine (desk's daemon → hub → laptop's daemon) next to the same inject made on
//   laptop itself, interleaved (target: the fleet adds < 1 ms p50);
// - `list --all`'s read of the directory with 20 simulated machines of 20 sessions each (target < 100 ms);
// - directory convergence: laptop's spawn answered → its row visible to desk (target p50 < 10 ms);
// - bus events per second from one machine to another (published on desk, counted by a subscriber on laptop);
// - `ssh localhost tmux send-keys` (the usual alternative) next to a fleet inject into the same kind of session, when
//   an sshd can be started (a temporary one on a free loopback port, with a temporary host key and authorized key);
//   skipped with the reason otherwise.
import { execFile, execFileSync, spawn } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import http from 'node:http';
import { createRequire } from 'node:module';
import os from 'node:os';
import path from 'node:path';
import { ROOT, benchHome, fmt, freePort, has, printRows, record, summarize } from './lib.mjs';

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

const require = createRequire(import.meta.url);
const WebSocket = require('ws');
const PROMPTS = 40;
/** Events in the cross-machine rate row, and how long it may take at most (the row says when it did not finish). */
const BUS_EVENTS = 20_000;
const BUS_DEADLINE_MS = 60_000;
const BUS_FRAME_EVENTS = 500;
/** ssh + tmux samples (each is a whole ssh connection: tens of ms). */
const SSH_SAMPLES = 20;
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

function portOf(h) {
  return JSON.parse(readFileSync(path.join(h.home, 'daemon.json'), 'utf8')).port;
}

function openWs(url) {
  const ws = new WebSocket(url, { perMessageDeflate: false });
  return new Promise((resolve, reject) => {
    ws.once('open', () => resolve(ws));
    ws.once('error', reject);
  });
}

/** Events published on desk's bus, counted as they reach a subscriber of laptop's. */
async function busAcross() {
  const sub = await openWs(`ws://127.0.0.1:${portOf(laptop)}/api/bus?batch=1&kind=fleet.rate`);
  let n = 0;
  sub.on('message', (d) => {
    for (let i = d.indexOf(10); i >= 0; i = d.indexOf(10, i + 1)) n++;
  });
  const pub = await openWs(`ws://127.0.0.1:${portOf(desk)}/api/bus?subscribe=0`);
  const event = (i) => `{"kind":"fleet.rate","source":"bench","target":"dev-001","payload":{"i":${i},"prompt":"review the auth module and report"}}`;
  const t0 = performance.now();
  for (let i = 0; i < BUS_EVENTS; i += BUS_FRAME_EVENTS) {
    const lines = [];
    for (let k = i; k < Math.min(BUS_EVENTS, i + BUS_FRAME_EVENTS); k++) lines.push(event(k));
    pub.send(lines.join('\n'));
    if (pub.bufferedAmount > 4 * 1024 * 1024) await new Promise((r) => setTimeout(r, 1));
  }
  const deadline = Date.now() + BUS_DEADLINE_MS;
  while (n < BUS_EVENTS && Date.now() < deadline) await new Promise((r) => setTimeout(r, 2));
  const seconds = (performance.now() - t0) / 1000;
  sub.close();
  pub.close();
  return { perSecond: n / seconds, received: n };
}

/**
 * A temporary sshd on a free loopback port (its own host key, one authorized key, this user), or the reason it
 * cannot be had here.
 */
async function startSshd() {
  const sshd = ['/usr/sbin/sshd', '/usr/local/sbin/sshd'].find((p) => existsSync(p));
  if (!sshd) return { skip: 'no sshd installed (apt-get install openssh-server)' };
  if (!has('tmux')) return { skip: 'tmux is not installed' };
  const dir = mkdtempSync(path.join(os.tmpdir(), 'telepty-sshd-'));
  const sshPort = await freePort();
  try {
    execFileSync('ssh-keygen', ['-q', '-t', 'ed25519', '-N', '', '-f', path.join(dir, 'host_key')]);
    execFileSync('ssh-keygen', ['-q', '-t', 'ed25519', '-N', '', '-f', path.join(dir, 'user_key')]);
    writeFileSync(path.join(dir, 'authorized_keys'), readFileSync(path.join(dir, 'user_key.pub')), { mode: 0o600 });
    writeFileSync(
      path.join(dir, 'sshd_config'),
      [
        `Port ${sshPort}`,
        'ListenAddress 127.0.0.1',
        `HostKey ${path.join(dir, 'host_key')}`,
        `AuthorizedKeysFile ${path.join(dir, 'authorized_keys')}`,
        `PidFile ${path.join(dir, 'sshd.pid')}`,
        'StrictModes no',
        'UsePAM no',
        'PasswordAuthentication no',
        'PermitRootLogin prohibit-password',
        'AllowUsers ' + os.userInfo().username,
      ].join('\n') + '\n',
    );
    mkdirSync('/run/sshd', { recursive: true, mode: 0o755 });
  } catch (err) {
    rmSync(dir, { recursive: true, force: true });
    return { skip: `could not prepare an sshd: ${String(err.message).split('\n')[0]}` };
  }
  const proc = spawn(sshd, ['-D', '-e', '-f', path.join(dir, 'sshd_config')], { stdio: ['ignore', 'ignore', 'pipe'] });
  let err = '';
  proc.stderr.on('data', (d) => (err += d));
  const stop = () => {
    if (proc.exitCode === null) proc.kill('SIGTERM');
    rmSync(dir, { recursive: true, force: true });
  };
  const args = ['-p', String(sshPort), '-i', path.join(dir, 'user_key'), '-o', 'BatchMode=yes', '-o', 'StrictHostKeyChecking=no', '-o', 'UserKnownHostsFile=/dev/null', '-o', 'LogLevel=ERROR', `${os.userInfo().username}@127.0.0.1`];
  try {
    await until('sshd answers', () => new Promise((resolve) => execFile('ssh', [...args, 'true'], (e) => resolve(!e))), 10_000);
  } catch {
    stop();
    return { skip: `the sshd did not accept a login: ${err.trim().split('\n').slice(-1)[0] ?? 'no message'}` };
  }
  return { args, stop };
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

  // 1c. Events per second from one machine to another, through the hub.
  const bus = await busAcross();
  rows.push({
    name: 'bus events across machines (published on desk, received on laptop)',
    value: bus.received === BUS_EVENTS ? `${Math.round(bus.perSecond)} events/s (${BUS_EVENTS} events, NDJSON frames of ${BUS_FRAME_EVENTS})` : `only ${bus.received} of ${BUS_EVENTS} within ${BUS_DEADLINE_MS / 1000} s (${Math.round(bus.perSecond)}/s)`,
    events_per_s: bus.perSecond,
  });

  // 1d. The usual alternative: `ssh host tmux send-keys` into a line reader, next to a fleet inject into one.
  const ssh = await startSshd();
  if ('skip' in ssh) {
    rows.push({ name: 'ssh localhost tmux send-keys → submitted', value: `skipped: ${ssh.skip}` });
  } else {
    const sock = `telepty-bench-${process.pid}`;
    const tmuxLog = path.join(laptop.home, 'tmux.submissions');
    const fleetLog = path.join(laptop.home, 'reader.submissions');
    const READER = path.join(ROOT, 'test', 'fixtures', 'line-reader.mjs');
    try {
      execFileSync('tmux', ['-L', sock, 'new-session', '-d', '-s', 'agent', '-x', '120', '-y', '30', `FIXTURE_LOG=${tmuxLog} ${process.execPath} ${READER}`]);
      laptop.cli(['spawn', '--id', 'reader', '--env', `FIXTURE_LOG=${fleetLog}`, '--', process.execPath, READER]);
      await until('reader ready', () => laptop.cli(['read', 'reader']).includes('ready'));
      await until('tmux reader ready', () => execFileSync('tmux', ['-L', sock, 'capture-pane', '-p', '-t', 'agent']).toString().includes('ready'));
      const t = { ssh: [], fleet: [] };
      for (let i = 0; i < SSH_SAMPLES; i++) {
        let t0 = performance.now();
        await new Promise((resolve, reject) => execFile('ssh', [...ssh.args, 'tmux', '-L', sock, 'send-keys', '-t', 'agent', '-l', `'via ssh ${i}'`, '\\;', 'send-keys', '-t', 'agent', 'Enter'], (e) => (e ? reject(e) : resolve())));
        await until('tmux submission', () => logCount(tmuxLog) >= i + 1, 10_000);
        t.ssh.push(performance.now() - t0);
        t0 = performance.now();
        const r = await post(desk, '/api/sessions/reader@laptop/inject', { prompt: `via fleet ${i}`, wait: true }, agents.remote);
        await until('fleet submission', () => logCount(fleetLog) >= i + 1, 10_000);
        t.fleet.push(performance.now() - t0);
        if (r.status !== 'submitted') throw new Error(`fleet inject answered ${JSON.stringify(r)}`);
      }
      const a = summarize(t.ssh);
      const b = summarize(t.fleet);
      rows.push({ name: 'ssh localhost tmux send-keys → submitted (line reader)', value: `p50 ${fmt(a.p50)} ms, p99 ${fmt(a.p99)} ms (${SSH_SAMPLES} samples, a new ssh connection each, as a script does)`, p50_ms: a.p50 });
      rows.push({ name: 'fleet inject desk → hub → laptop → submitted (line reader)', value: `p50 ${fmt(b.p50)} ms, p99 ${fmt(b.p99)} ms: ${fmt(a.p50 / b.p50)}x faster than ssh + tmux`, p50_ms: b.p50 });
    } finally {
      execFile('tmux', ['-L', sock, 'kill-server'], () => undefined);
      ssh.stop();
    }
  }

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
