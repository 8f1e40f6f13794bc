import { spawn } from 'node:child_process';
import type { Command } from 'commander';
import { connect } from '../client/daemon-client.js';
import { uiLoginLinkOp } from '../protocol/ops/ui.js';
import { processEnv } from '../util/config.js';
import { printJson, printLine } from '../ui/print.js';
import { examples } from './command-module.js';

/** A desktop to open a browser on: a graphical session (or macOS) and a person at a terminal. Never in tests or CI. */
export function canOpenBrowser(env: NodeJS.ProcessEnv, isTty: boolean, platform: NodeJS.Platform = process.platform): boolean {
  if (!isTty) return false;
  if (platform === 'darwin') return true;
  return Boolean(env.DISPLAY || env.WAYLAND_DISPLAY);
}

/** Hand the link to the desktop's opener; a failure only costs the convenience (the link is printed anyway). */
function openBrowser(url: string, platform: NodeJS.Platform = process.platform): void {
  const child = spawn(platform === 'darwin' ? 'open' : 'xdg-open', [url], { detached: true, stdio: 'ignore' });
  child.on('error', (err) => process.stderr.write(`telepty: could not open a browser (${err.message}); open the link above yourself\n`));
  child.unref();
}

export function register(program: Command): void {
  program
    .command('ui')
    .description('open the live web dashboard: prints a one-time login link served by the daemon (and opens it on a desktop)')
    .option('--json', 'print {url, expires_at} as JSON')
    .option('--no-open', 'only print the link, never start a browser')
    .addHelpText(
      'after',
      examples(['telepty ui', 'telepty ui --no-open', 'telepty ui --json | jq -r .url']) +
        '\nThe link works once and for a minute, from this machine only: the page trades it for an HttpOnly,\n' +
        'SameSite=Strict cookie and drops it from the address bar. Run `telepty ui` again for a new one.\n',
    )
    .action(async (opts: { json?: boolean; open: boolean }) => {
      const client = await connect();
      const link = await client.call(uiLoginLinkOp);
      if (opts.json) printJson(link);
      else printLine(link.url);
      if (opts.open && !opts.json && canOpenBrowser(processEnv(), Boolean(process.stdout.isTTY))) openBrowser(link.url);
    });
}
