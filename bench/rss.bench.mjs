// Memory: daemon RSS and per-host RSS with 1, 10 and 50 idle sessions, next to a tmux server with the same
// number of idle windows, measured in one run. Then one idle host against the floor of any Node process (a bare
// `node -e "setInterval(()=>{},1000)"`, one started with a host's environment, and one that also holds the parts a host
// cannot go without: node-pty, a headless xterm, a listening socket), and a host before and after 40 MB
// of output went through it. Every process started here is ended by the pid it has.
import { execFile, execFileSync, spawn, spawnSync } from 'node:child_process';
import { readdirSync, readFileSync, rmSync } from 'node:fs';
import { createRequire } from 'node:module';
import os from 'node:os';
import path from 'node:path';
import { BIN, ROOT, benchHome, has, printRows, record, writeLogFile } from './lib.mjs';

/** The variables a host goes without (the daemon drops them from its environment: src/daemon/sessions/spawner.ts). */
const { HOST_ENV_DROPPED, hostEnv, hostMalloc } = await import(path.join(ROOT, 'dist', 'daemon', 'sessions', 'spawner.js'));
const { DEFAULT_COLS, DEFAULT_ROWS } = await import(path.join(ROOT, 'dist', 'protocol', 'session.js'));
const fromRoot = createRequire(path.join(ROOT, 'package.json'));

/**
 * The parts floor: a bare node started as a host is (its environment, its malloc) that holds only what a session host
 * cannot go without: node-pty loaded, a headless xterm of the default size with Unicode 11 widths, and a loopback
 * listening socket (`net`; the host's link and viewers add http and ws on top). The idle host over this is telepty's
 * own code and state. xterm's file from node_modules is held as a two-byte source here (~0.2 MB more than the host's
 * bundled one-byte copy), so this floor reads a little high.
 */
const PARTS_FLOOR_CODE = [
  `require(${JSON.stringify(fromRoot.resolve('node-pty'))});`,
  `const t = new (require(${JSON.stringify(fromRoot.resolve('@xterm/headless'))}).Terminal)({ cols: ${DEFAULT_COLS}, rows: ${DEFAULT_ROWS}, allowProposedApi: true });`,
  `t.loadAddon(new (require(${JSON.stringify(fromRoot.resolve('@xterm/addon-unicode11'))}).Unicode11Addon)()); t.unicode.activeVersion = '11';`,
  `require('node:net').createServer().listen(0, '127.0.0.1');`,
  'setInterval(() => {}, 1000);',
].join(' ');

/**
 * How long hosts are left idle before they are measured: a host is a long-lived process, and what it allocated
 * loading itself is given back within this (its quiet-time collection runs 6 s after its start,
 * src/host/quiet-cleanup.ts, and V8's memory reducer at 8 s). The bare Node floor is measured at the same moment.
 */
const IDLE_SETTLE_MS = 9_000;
/** Idle session counts measured; BENCH_RSS_COUNTS=1 (a comma list) measures fewer while iterating. */
const COUNTS = (process.env.BENCH_RSS_COUNTS ?? "1,10,50").split(",").map(Number);

/** RSS counts the node binary's shared code pages in every process; PSS shares them out (the real cost). */
function memKb(pid) {
  const text = readFileSync(`/proc/${pid}/smaps_rollup`, 'utf8');
  const field = (name) => Number(new RegExp(`^${name}:\\s+(\\d+) kB`, 'm').exec(text)?.[1] ?? NaN);
  return { rss: field('Rss'), pss: field('Pss'), anon: field('Anonymous') };
}
const sum = (xs) => xs.reduce((a, b) => a + b, 0);

/** The daemon's own children that are no session's host (the spare host started ahead of the next spawn). */
function otherChildren(daemonPid, hostPids) {
  const out = [];
  for (const name of readdirSync('/proc')) {
    if (!/^\d+$/.test(name) || hostPids.has(Number(name))) continue;
    let stat;
    try {
      stat = readFileSync(`/proc/${name}/stat`, 'utf8');
    } catch {
      continue; // ended while listed
    }
    // Fields after the command's closing parenthesis: state, ppid, ...
    const ppid = Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]);
    if (ppid === daemonPid) out.push(Number(name));
  }
  return out;
}
const mb = (kb) => (kb / 1024).toFixed(1);

/** `telepty spawn` this many at a time: 50 one after the other took most of this bench's time bound. */
const SPAWN_CONCURRENCY = 4;

/** n idle sessions, spawned through the CLI a few at a time. */
async function spawnIdle(h, n) {
  let next = 0;
  const worker = async () => {
    while (next < n) {
      const i = next++;
      await new Promise((resolve, reject) =>
        execFile(process.execPath, [BIN, 'spawn', '--id', `idle-${i}`, '--', 'sh', '-c', 'exec sleep 600'], { env: h.env }, (err) => (err ? reject(err) : resolve())),
      );
    }
  };
  await Promise.all(Array.from({ length: SPAWN_CONCURRENCY }, worker));
}

async function measureTelepty(n) {
  const h = benchHome();
  try {
    h.cli(['daemon', 'start']);
    await spawnIdle(h, n);
    // Let every host settle (first screen parse, link established, its start's garbage collected) before reading.
    spawnSync('sleep', [String(IDLE_SETTLE_MS / 1000)]);
    const daemonPid = JSON.parse(readFileSync(`${h.home}/daemon.json`, 'utf8')).pid;
    const sessions = JSON.parse(h.cli(['list', '--json']));
    const hosts = sessions.map((s) => memKb(s.host_pid));
    // Counted in "all of telepty" too: a spare host waits for the next spawn (src/daemon/sessions/spare-host.ts).
    const others = otherChildren(daemonPid, new Set(sessions.map((s) => s.host_pid))).map(memKb);
    return { daemon: memKb(daemonPid), hostRss: sum(hosts.map((m) => m.rss)) / n, hostPss: sum(hosts.map((m) => m.pss)) / n, hostPssTotal: sum(hosts.map((m) => m.pss)), othersPss: sum(others.map((m) => m.pss)), others: others.length };
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

/** Targets (issue 24): an idle host within 1.5x bare Node, back within 2 MB of idle after a flood, 50 sessions. */
const IDLE_VS_NODE_MAX = 1.5;
const IDLE_ABS_MAX_KB = 12 * 1024;
const FLOOD_SLACK_KB = 2 * 1024;
const FIFTY_TOTAL_MAX_KB = 650 * 1024;
/** After the flood's last byte, how long the host gets to settle (its quiet-time cleanup runs 6 s after it). */
const AFTER_FLOOD_SETTLE_MS = 8_000;
const FLOOD_BYTES = 40 * 1000 * 1000;
const FLOOD_COLS = 120;
const FLOOD_ROWS = 40;
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

/** The 40 MB flood (lib.mjs writeLogFile), in a file of its own. */
function floodFile() {
  const file = path.join(os.tmpdir(), `telepty-bench-rss-flood-${process.pid}.txt`);
  writeLogFile(file, FLOOD_BYTES);
  return file;
}

/** The command a process runs now (its argv[0] as /proc says), or null once it is gone. */
function commandOf(pid) {
  try {
    return readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0')[0];
  } catch {
    return null; // gone
  }
}

/** This environment without what a host goes without (HOST_ENV_DROPPED): the floor a host starts from. */
function hostLikeEnv() {
  const env = { ...process.env };
  for (const name of HOST_ENV_DROPPED) delete env[name];
  return env;
}

/**
 * One idle host next to a bare Node process, and a second host that 40 MB went through (the program then sleeps:
 * the session stays, idle again), all in one home. The flood starts 1 s after the hosts (both are measured then,
 * fresh); the floor, the idle host and the flooded host are measured at one moment once the flood is
 * AFTER_FLOOD_SETTLE_MS over and the idle host IDLE_SETTLE_MS old. Then a second floor, a bare Node started as hosts
 * are (hostLikeEnv), in the first one's place, read IDLE_SETTLE_MS later with the idle host again.
 */
async function measureFloorAndFlood() {
  const file = floodFile();
  const bare = spawn(process.execPath, ['-e', 'setInterval(() => {}, 1000)'], { stdio: 'ignore' });
  let bareHostEnv = null;
  let parts = null;
  const h = benchHome();
  try {
    h.cli(['daemon', 'start']);
    h.cli(['spawn', '--id', 'idle', '--', 'sh', '-c', 'exec sleep 600']);
    h.cli(['spawn', '--id', 'flood', '--cols', String(FLOOD_COLS), '--rows', String(FLOOD_ROWS), '--', 'sh', '-c', `read go; cat ${file}; exec sleep 600`]);
    const started = performance.now();
    await sleep(1000);
    const byId = Object.fromEntries(JSON.parse(h.cli(['list', '--json'])).map((s) => [s.id, s]));
    const fresh = memKb(byId.idle.host_pid);
    const before = memKb(byId.flood.host_pid);
    h.cli(['enter', 'flood']);
    const t0 = performance.now();
    // The flood is over once the program is `sleep` (cat has written its last byte and the shell exec'd).
    while (commandOf(byId.flood.pid) !== 'sleep') {
      if (performance.now() - t0 > 60_000) throw new Error('the flood did not end within 60 s');
      await sleep(50);
    }
    let peak = memKb(byId.flood.host_pid);
    const settled = Math.max(performance.now() + AFTER_FLOOD_SETTLE_MS, started + IDLE_SETTLE_MS);
    while (performance.now() < settled) {
      await sleep(250);
      const m = memKb(byId.flood.host_pid);
      if (m.pss > peak.pss) peak = m;
    }
    const floor = memKb(bare.pid);
    const idle = memKb(byId.idle.host_pid);
    const after = memKb(byId.flood.host_pid);
    // The second floor in place of the first (the same processes: a bare node more would share out everyone's pages
    // one way more), as old when it is read.
    bare.kill('SIGKILL');
    bareHostEnv = spawn(process.execPath, ['-e', 'setInterval(() => {}, 1000)'], { stdio: 'ignore', env: hostLikeEnv() });
    await sleep(IDLE_SETTLE_MS);
    const hostFloor = memKb(bareHostEnv.pid);
    const idleLater = memKb(byId.idle.host_pid);
    // The parts floor in its place in turn, read as old with the idle host a third time.
    bareHostEnv.kill('SIGKILL');
    parts = spawn(process.execPath, ['-e', PARTS_FLOOR_CODE], { stdio: 'ignore', env: hostEnv(process.env, await hostMalloc(process.env)) });
    await sleep(IDLE_SETTLE_MS);
    const partsFloor = memKb(parts.pid);
    return { floor, hostFloor, fresh, idle, idleLater, partsFloor, idleLast: memKb(byId.idle.host_pid), before, peak, after };
  } finally {
    bare.kill('SIGKILL');
    bareHostEnv?.kill('SIGKILL');
    parts?.kill('SIGKILL');
    h.cleanup();
    rmSync(file, { force: true });
  }
}

const rows = [];
for (const n of COUNTS) {
  const t = await measureTelepty(n);
  const x = has('tmux') ? measureTmux(n) : null;
  const total = t.daemon.pss + t.hostPssTotal + t.othersPss;
  const label = `${n} idle session${n > 1 ? 's' : ''}`;
  rows.push({ name: `${label}: daemon`, value: `RSS ${mb(t.daemon.rss)} MB, PSS ${mb(t.daemon.pss)} MB`, ratio: '', target: '', daemon_rss_kb: t.daemon.rss, daemon_pss_kb: t.daemon.pss });
  rows.push({ name: `${label}: each host`, value: `RSS ${mb(t.hostRss)} MB, PSS ${mb(t.hostPss)} MB`, ratio: '', target: '', host_rss_kb: t.hostRss, host_pss_kb: t.hostPss });
  rows.push({
    name: `${label}: all of telepty vs tmux server`,
    value: `PSS ${mb(total)} MB${t.others ? ` (with ${t.others} spare host${t.others > 1 ? 's' : ''}, ${mb(t.othersPss)} MB)` : ''} vs ${x ? `${mb(x.server.pss)} MB` : 'tmux not installed'}`,
    ratio: x ? `${(total / x.server.pss).toFixed(0)}x tmux` : '',
    target: n === 50 ? `≤ ${FIFTY_TOTAL_MAX_KB / 1024} MB` : '',
    total_pss_kb: total,
    tmux_pss_kb: x?.server.pss ?? null,
  });
}
const f = await measureFloorAndFlood();
rows.push({ name: 'floor: bare node -e "setInterval(()=>{},1000)"', value: `RSS ${mb(f.floor.rss)} MB, PSS ${mb(f.floor.pss)} MB`, ratio: '', target: '', node_rss_kb: f.floor.rss, node_pss_kb: f.floor.pss });
rows.push({
  name: `one idle host vs bare node (same run, ${IDLE_SETTLE_MS / 1000} s after their start)`,
  value: `RSS ${mb(f.idle.rss)} MB, PSS ${mb(f.idle.pss)} MB, anonymous ${mb(f.idle.anon)} MB vs bare node's ${mb(f.floor.anon)} MB`,
  ratio: `${(f.idle.pss / f.floor.pss).toFixed(2)}x bare node`,
  target: `≤ ${IDLE_ABS_MAX_KB / 1024} MB or ≤ ${IDLE_VS_NODE_MAX}x bare node`,
  host_rss_kb: f.idle.rss,
  host_pss_kb: f.idle.pss,
});
// Hosts start without HOST_ENV_DROPPED (NODE_EXTRA_CA_CERTS makes every Node process parse the certificate store at
// its start: +1.1 MB anonymous here), the bare node above with this environment: against a bare node started as a
// host is, the host's own part over Node's floor (the target row above keeps its definition).
const dropped = HOST_ENV_DROPPED.filter((name) => process.env[name] !== undefined);
rows.push({
  name: `floor: the same bare node with a host's environment (${dropped.length ? `without ${dropped.join(', ')}` : 'the same: none of the variables hosts go without is set here'})`,
  value: `RSS ${mb(f.hostFloor.rss)} MB, PSS ${mb(f.hostFloor.pss)} MB, anonymous ${mb(f.hostFloor.anon)} MB`,
  ratio: '',
  target: '',
  node_rss_kb: f.hostFloor.rss,
  node_pss_kb: f.hostFloor.pss,
  node_anon_kb: f.hostFloor.anon,
});
rows.push({
  name: `the same idle host vs that bare node (read together: the host ${(2 * IDLE_SETTLE_MS) / 1000} s old, the bare node ${IDLE_SETTLE_MS / 1000} s)`,
  value: `PSS ${mb(f.idleLater.pss)} vs ${mb(f.hostFloor.pss)} MB, anonymous ${mb(f.idleLater.anon)} vs ${mb(f.hostFloor.anon)} MB`,
  ratio: `${(f.idleLater.pss / f.hostFloor.pss).toFixed(2)}x bare node`,
  target: '',
  host_pss_kb: f.idleLater.pss,
  host_anon_kb: f.idleLater.anon,
});
rows.push({
  name: 'floor: the parts a host cannot go without (that bare node, with node-pty, a headless xterm and a listening socket)',
  value: `RSS ${mb(f.partsFloor.rss)} MB, PSS ${mb(f.partsFloor.pss)} MB, anonymous ${mb(f.partsFloor.anon)} MB (${(f.partsFloor.pss / f.hostFloor.pss).toFixed(2)}x the bare node with a host's environment)`,
  ratio: '',
  target: '',
  node_rss_kb: f.partsFloor.rss,
  node_pss_kb: f.partsFloor.pss,
  node_anon_kb: f.partsFloor.anon,
});
rows.push({
  name: `the same idle host vs those parts (read together: telepty's own code and state over them)`,
  value: `PSS ${mb(f.idleLast.pss)} vs ${mb(f.partsFloor.pss)} MB, anonymous ${mb(f.idleLast.anon)} vs ${mb(f.partsFloor.anon)} MB`,
  ratio: `${f.idleLast.pss - f.partsFloor.pss >= 0 ? '+' : ''}${mb(f.idleLast.pss - f.partsFloor.pss)} MB`,
  target: '',
  host_pss_kb: f.idleLast.pss,
  host_anon_kb: f.idleLast.anon,
});
rows.push({
  name: 'the same idle host 1 s after its start (holding what loading allocated)',
  value: `RSS ${mb(f.fresh.rss)} MB, PSS ${mb(f.fresh.pss)} MB`,
  ratio: `${(f.fresh.pss / f.floor.pss).toFixed(2)}x bare node`,
  target: '',
  host_rss_kb: f.fresh.rss,
  host_pss_kb: f.fresh.pss,
});
rows.push({
  name: `a host ${AFTER_FLOOD_SETTLE_MS / 1000} s after 40 MB of output (${FLOOD_COLS}x${FLOOD_ROWS}) vs the idle host (same moment)`,
  // Anonymous memory too: what the host itself holds, whatever the number of processes sharing the node binary's pages
  // (PSS counts a share of those, and a flooded host has touched more of them: TurboFan's own code, for one).
  value: `PSS ${mb(f.after.pss)} MB after, idle host ${mb(f.idle.pss)} MB (this host 1 s after its start ${mb(f.before.pss)} MB, peak seen ${mb(f.peak.pss)} MB); anonymous memory ${f.after.anon - f.idle.anon >= 0 ? '+' : ''}${mb(f.after.anon - f.idle.anon)} MB`,
  ratio: `${f.after.pss - f.idle.pss >= 0 ? '+' : ''}${mb(f.after.pss - f.idle.pss)} MB`,
  target: `≤ +${FLOOD_SLACK_KB / 1024} MB`,
  idle_pss_kb: f.idle.pss,
  before_pss_kb: f.before.pss,
  after_pss_kb: f.after.pss,
  idle_anon_kb: f.idle.anon,
  after_anon_kb: f.after.anon,
  peak_pss_kb: f.peak.pss,
});
printRows("Memory (RSS and PSS) with idle sessions", rows);
record('memory', rows);
