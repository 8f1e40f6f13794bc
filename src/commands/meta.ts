import type { Command } from 'commander';
import { connect } from '../client/daemon-client.js';
import { formatDuration, printFields, printJson } from '../ui/print.js';
import { examples } from './command-module.js';

export function register(program: Command): void {
  program
    .command('meta')
    .description("show the daemon's version, pid, address, machine id, uptime and capabilities (starts the daemon if needed)")
    .option('--json', 'print the daemon meta object as JSON')
    .addHelpText('after', examples(['telepty meta', 'telepty meta --json | jq .capabilities']))
    .action(async (opts: { json?: boolean }) => {
      const client = await connect();
      // The daemon's own account of itself, its identity proven (a daemon started by this call answered it too).
      const { meta } = await client.handle();
      if (opts.json) {
        printJson(meta);
        return;
      }
      printFields([
        ['version', meta.version],
        ['pid', meta.pid],
        ['address', `${meta.host}:${meta.port}`],
        ['machine_id', meta.machine_id],
        ['started', meta.started_at],
        ['uptime', formatDuration(meta.uptime_seconds)],
        ['capabilities', meta.capabilities.join(', ')],
      ]);
    });
}
