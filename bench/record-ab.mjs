// Recording cost, A/B of two builds in one run (issue 22): `node bench/record-ab.mjs A_ROOT B_ROOT` where each root is
// a telepty checkout with a built dist/ (e.g. /work/main and this worktree). Each round runs, in a rotating order,
// the 40 MB flood through `cat` not recorded and recorded with each build (one daemon per build, each in its own temp
// home). A recorded run's cost is its time over the mean of the round's two plain runs; each build's cost is the
// median over the rounds. Clock and host CPU as in record.bench.mjs (Enter → session_exit; CPU until the host is
// gone, so writing after the exit counts).
import { execFileSync, spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { makeFloodFile, median, medianInterval, pct, recorded, runFlood } from './record-flood.mjs';

const FILE = path.join(os.tmpdir(), `telepty-bench-record-ab-${process.pid}.txt`);
const ROUNDS = Number(process.env.RECORD_BENCH_ROUNDS ?? 8);

const roots = process.argv.slice(2);
if (roots.length !== 2) {
  console.error('usage: node bench/record-ab.mjs A_ROOT B_ROOT');
  process.exit(2);
}

function home(root) {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'telepty-bench-ab-'));
  const env = { ...process.env, TELEPTY_HOME: dir, TELEPTY_PORT: '0', NO_COLOR: '1' };
  const bin = path.join(root, 'bin', 'telepty.js');
  const cli = (args) => execFileSync(process.execPath, [bin, ...args], { env, encoding: 'utf8' });
  return {
    root,
    dir,
    cli,
    cleanup() {
      spawnSync(process.execPath, [bin, 'kill', '--all'], { env, stdio: 'ignore' });
      spawnSync(process.execPath, [bin, 'daemon', 'stop'], { env, stdio: 'ignore' });
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

const run = (h, id, castFile) => runFlood(h.cli, h.port, id, FILE, castFile);

const delivered = makeFloodFile(FILE);
const homes = roots.map(home);
try {
  for (const h of homes) {
    h.cli(['daemon', 'start']);
    h.port = JSON.parse(readFileSync(path.join(h.dir, 'daemon.json'), 'utf8')).port;
  }
  const kinds = [
    ['plain', 0],
    ['rec', 0],
    ['plain', 1],
    ['rec', 1],
  ];
  const res = [0, 1].map(() => ({ cost: [], cpuCost: [], secs: [], cpuRec: [], cpuPlain: [], kept: [] }));
  for (let r = 0; r < ROUNDS; r++) {
    const t = {};
    /** Host CPU ms within each flood (Enter → session_exit). */
    const c = {};
    const order = kinds.map((_, i) => kinds[(i + r) % kinds.length]);
    for (const [kind, v] of order) {
      const h = homes[v];
      const id = `${kind}-${r}`;
      const cast = kind === 'rec' ? path.join(h.dir, `${id}.cast`) : null;
      const out = await run(h, id, cast);
      t[`${kind}${v}`] = out.seconds;
      c[`${kind}${v}`] = out.inFloodMs ?? NaN;
      if (kind === 'rec') {
        res[v].secs.push(out.seconds);
        if (out.cpuMs !== null) res[v].cpuRec.push(out.cpuMs);
        const k = await recorded(cast);
        res[v].kept.push(k);
        rmSync(cast, { force: true });
      } else if (out.cpuMs !== null) res[v].cpuPlain.push(out.cpuMs);
    }
    const base = (t.plain0 + t.plain1) / 2;
    const cpuBase = (c.plain0 + c.plain1) / 2;
    for (const v of [0, 1]) {
      res[v].cost.push(t[`rec${v}`] / base - 1);
      res[v].cpuCost.push(c[`rec${v}`] / cpuBase - 1);
    }
    process.stderr.write(`  round ${r + 1}/${ROUNDS}: plain ${t.plain0.toFixed(2)} / ${t.plain1.toFixed(2)} s, A rec ${t.rec0.toFixed(2)} s (${pct(res[0].cost[r])}), B rec ${t.rec1.toFixed(2)} s (${pct(res[1].cost[r])})\n`);
  }
  for (const v of [0, 1]) {
    const x = res[v];
    const c = [...x.cost].sort((a, b) => a - b);
    const [low, high] = medianInterval(c);
    const cpu = x.cpuCost.filter((r) => !Number.isNaN(r));
    const [cpuLow, cpuHigh] = medianInterval(cpu);
    const least = x.kept.reduce((a, b) => (b.bytes < a.bytes ? b : a));
    console.log(
      `${v === 0 ? 'A' : 'B'} ${roots[v]}: cost ${pct(median(c))} (${pct(c[0])} … ${pct(c[c.length - 1])}; 90 % interval of the median ${pct(low)} … ${pct(high)}); host CPU within the flood ${pct(median(cpu))} (${pct(cpuLow)} … ${pct(cpuHigh)}); host CPU ms/MB plain ${(median(x.cpuPlain) / 40).toFixed(1)} → recorded ${(median(x.cpuRec) / 40).toFixed(1)}; least kept ${least.bytes >= delivered ? 'every byte' : `${least.bytes} of ${delivered}`} (${least.gaps} gaps)`,
    );
  }
} finally {
  for (const h of homes) h.cleanup();
  rmSync(FILE, { force: true });
}
