#!/usr/bin/env node
// telepty launcher (CommonJS: see bin/package.json). `--version` answers without loading anything else; hot
// commands (inject, hook, spawn) take a fast path that skips commander when their arguments are ordinary (bundled into one
// CommonJS file by scripts/bundle-fast.mjs, loaded with require: no ES module loader on that path); everything
// else loads dist/cli.js (ES modules).
'use strict';
const { readFileSync } = require('node:fs');
const path = require('node:path');

const args = process.argv.slice(2);
const notBuilt = () => {
  process.stderr.write('telepty: not built yet: run `npm run build` in the telepty folder\n');
  process.exit(1);
};
const isMissingDist = (err, code) => err && err.code === code && String(err.message).includes(`${path.sep}dist${path.sep}`);

function requireFast(file) {
  try {
    return require(file);
  } catch (err) {
    if (isMissingDist(err, 'MODULE_NOT_FOUND')) notBuilt();
    throw err;
  }
}

async function importCli() {
  try {
    return await import('../dist/cli.js');
  } catch (err) {
    if (isMissingDist(err, 'ERR_MODULE_NOT_FOUND')) notBuilt();
    throw err;
  }
}

/** The hot commands' fast paths: each bundle's entry answers an exit code, or null for the full CLI to take over. */
const FAST_PATHS = new Map([
  ['inject', { bundle: '../dist/bundle/inject.cjs', main: 'fastMain' }],
  ['spawn', { bundle: '../dist/bundle/spawn.cjs', main: 'spawnMain' }],
  ['hook', { bundle: '../dist/bundle/hook.cjs', main: 'hookMain' }],
]);

/**
 * Exit once stdout and stderr have handed everything to the system: a pipe's reader may be slower than us, and
 * process.exit does not wait for queued writes (`telepty read ID --scrollback | cat` stopped at 64 KiB).
 */
function exitWhenFlushed(code) {
  let pending = 2;
  const done = () => {
    pending -= 1;
    if (pending === 0) process.exit(code);
  };
  process.stdout.write('', done);
  process.stderr.write('', done);
}

async function main() {
  if (args.length === 1 && (args[0] === '--version' || args[0] === '-V')) {
    const pkg = JSON.parse(readFileSync(path.join(__dirname, '..', 'package.json'), 'utf8'));
    process.stdout.write(`${pkg.version}\n`);
    return;
  }
  const fast = FAST_PATHS.get(args[0]);
  if (fast) {
    const code = await requireFast(fast.bundle)[fast.main](args);
    if (code !== null) return exitWhenFlushed(code);
  }
  const cli = await importCli();
  exitWhenFlushed(await cli.main(args));
}

main().catch((err) => {
  process.stderr.write(`telepty: ${err && err.stack ? err.stack : String(err)}\n`);
  exitWhenFlushed(1);
});
