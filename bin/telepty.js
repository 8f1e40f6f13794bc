#!/usr/bin/env node
// telepty launcher. `--version` answers without loading anything else; hot commands (inject) take a fast path
// that skips commander when their arguments are ordinary (bundled into one file by scripts/bundle-fast.mjs);
// everything else loads dist/cli.js.
import { readFileSync } from 'node:fs';

const args = process.argv.slice(2);

async function load(file) {
  try {
    return await import(file);
  } catch (err) {
    if (err && err.code === 'ERR_MODULE_NOT_FOUND' && String(err.message).includes('/dist/')) {
      process.stderr.write('telepty: not built yet: run `npm run build` in the telepty folder\n');
      process.exit(1);
    }
    throw err;
  }
}

if (args.length === 1 && (args[0] === '--version' || args[0] === '-V')) {
  const pkg = JSON.parse(readFileSync(new URL('../package.json', import.meta.url), 'utf8'));
  process.stdout.write(`${pkg.version}\n`);
} else {
  if (args[0] === 'inject') {
    const fast = await load('../dist/bundle/inject.js');
    const code = await fast.fastMain(args);
    if (code !== null) process.exit(code);
  }
  const cli = await load('../dist/cli.js');
  process.exit(await cli.main(args));
}
