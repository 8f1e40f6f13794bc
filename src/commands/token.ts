import type { Command } from 'commander';
import { connect } from '../client/daemon-client.js';
import { readTokenFile, rotateTokenFile } from '../client/local-daemon.js';
import { rotateTokenOp } from '../protocol/ops/daemon.js';
import { TeleptyError } from '../protocol/errors.js';
import { loadConfig } from '../util/config.js';
import { printJson, printLine } from '../ui/print.js';
import { examples } from './command-module.js';

export function register(program: Command): void {
  program
    .command('token')
    .description('print the API token peers on other machines must send (x-telepty-token), or --rotate it')
    .option('--rotate', 'replace the token now (the old one stops working at once)')
    .option('--json', 'print {token, file} as JSON')
    .addHelpText(
      'after',
      examples(['telepty token', 'telepty token --rotate', 'curl -H "x-telepty-token: $(telepty token)" http://host:3848/api/sessions']) +
        '\nLoopback needs no token. The token file is mode 0600; rotation is refused to callers on other machines.\n',
    )
    .action(async (opts: { rotate?: boolean; json?: boolean }) => {
      const config = await loadConfig();
      if (opts.rotate) {
        const client = await connect({ autostart: false });
        // Through the daemon when it runs (it takes the new token at once), else straight into the file.
        if (client) await client.call(rotateTokenOp);
        else await rotateTokenFile(config);
      } else {
        await connect(); // the daemon creates the token on its first start
      }
      const token = readTokenFile(config);
      if (!token) throw new TeleptyError('NOT_FOUND', `no token in ${config.paths.tokenFile}`);
      if (opts.json) printJson({ token, file: config.paths.tokenFile, rotated: Boolean(opts.rotate) });
      else printLine(token);
    });
}
