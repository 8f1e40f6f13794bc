#!/usr/bin/env node
// telepty launcher: `--version` answers without loading anything else; every other command loads dist/cli.js.
import { readFileSync } from 'node:fs';

const args = process.argv.slice(2);
if (args.length === 1 && (args[0] === '--version' || args[0] === '-V')) {
  const pkg = JSON.parse(readFileSync(new URL('../package.json', import.meta.url), 'utf8'));
  process.stdout.write(`${pkg.version}\n`);
} else {
  let cli;
  try {
    cli = await import('../dist/cli.js');
  } catch (err) {
    if (err && err.code === 'ERR_MODULE_NOT_FOUND' && String(err.message).includes('dist/cli.js')) {
      process.stderr.write('telepty: not built yet: run `npm run build` in the telepty folder\n');
      process.exit(1);
    }
    throw err;
  }
  process.exit(await cli.main(args));
}
