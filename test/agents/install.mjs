// Installs each real CLI from the npm registry into a cache folder of its own (<cache>/<pkg>@<version>, the
// package's `/` as `+`), once: a folder whose binary answers is used as is. Progress goes to stderr; a CLI that
// cannot be installed is returned as skipped with the reason, and the others go on.
import { spawn } from 'node:child_process';
import { existsSync, mkdirSync, writeFileSync, appendFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';

/** Where the CLIs are installed: TELEPTY_AGENTS_CACHE, or ~/.cache/telepty-agents. */
export function cacheDir() {
  return process.env.TELEPTY_AGENTS_CACHE || path.join(process.env.XDG_CACHE_HOME || path.join(os.homedir(), '.cache'), 'telepty-agents');
}

/** An npm install of one package may take minutes on a slow line; past this it is given up (skipped). */
const INSTALL_TIMEOUT_MS = 10 * 60_000;
/** A CLI that does not print its version within this is taken as broken (skipped). */
const VERSION_TIMEOUT_MS = 60_000;

function run(cmd, args, { cwd, log, timeoutMs, onLine }) {
  return new Promise((resolve) => {
    const child = spawn(cmd, args, { cwd, stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    const take = (d) => {
      const s = d.toString();
      out += s;
      if (log) appendFileSync(log, s);
      for (const line of s.split('\n').filter((l) => l.trim())) onLine?.(line);
    };
    child.stdout.on('data', take);
    child.stderr.on('data', take);
    const timer = setTimeout(() => child.kill('SIGTERM'), timeoutMs);
    child.on('error', (err) => {
      clearTimeout(timer);
      resolve({ code: -1, out: `${out}${String(err)}` });
    });
    child.on('close', (code, signal) => {
      clearTimeout(timer);
      resolve({ code: code ?? -1, out: signal ? `${out}\n(stopped by ${signal} after ${timeoutMs} ms)` : out });
    });
  });
}

/** The binary answers `--version` with the pinned version. */
async function answers(bin, version) {
  if (!existsSync(bin)) return false;
  const r = await run(bin, ['--version'], { timeoutMs: VERSION_TIMEOUT_MS });
  return r.code === 0 && r.out.includes(version);
}

/**
 * Install `pkg@version` (unless already there) and return {bin} or {skipped: reason}. `progress(text)` is told
 * what happens (npm's own progress lines included).
 */
export async function ensureInstalled(pkg, binName, version, progress) {
  const dir = path.join(cacheDir(), `${pkg.replace('/', '+')}@${version}`);
  const bin = path.join(dir, 'node_modules', '.bin', binName);
  if (await answers(bin, version)) {
    progress(`${pkg}@${version}: cached in ${dir}`);
    return { bin, dir };
  }
  mkdirSync(dir, { recursive: true });
  writeFileSync(path.join(dir, 'package.json'), '{"private": true}\n');
  const log = path.join(dir, 'install.log');
  writeFileSync(log, '');
  progress(`${pkg}@${version}: installing into ${dir} (npm, log: ${log})`);
  const t0 = Date.now();
  const tick = setInterval(() => progress(`${pkg}@${version}: still installing (${Math.round((Date.now() - t0) / 1000)} s)`), 15_000);
  const r = await run('npm', ['install', '--no-audit', '--no-fund', '--loglevel=http', `${pkg}@${version}`], {
    cwd: dir,
    log,
    timeoutMs: INSTALL_TIMEOUT_MS,
    onLine: (line) => {
      if (/npm http fetch GET 200/.test(line)) progress(`${pkg}@${version}: ${line.replace(/^npm http fetch GET 200 /, 'fetched ')}`);
    },
  });
  clearInterval(tick);
  if (r.code !== 0) return { skipped: `npm install failed (exit ${r.code}): ${r.out.trim().split('\n').slice(-3).join(' / ')}` };
  if (!(await answers(bin, version))) return { skipped: `installed, but ${bin} --version does not answer ${version}` };
  progress(`${pkg}@${version}: installed in ${Math.round((Date.now() - t0) / 1000)} s`);
  return { bin, dir };
}
