import type { Command } from 'commander';
import { examples } from './command-module.js';

/** `telepty fleet …`: set up and run a fleet of machines over NATS (issue 18). Each subcommand loads its own module. */
export function register(program: Command): void {
  const fleet = program
    .command('fleet')
    .description('sessions of several machines in one address space, over a NATS hub')
    .addHelpText(
      'after',
      examples([
        'telepty fleet init --machines desk,laptop --url nats://desk.example:4222   # on the hub: config + credentials',
        'telepty fleet hub                                                        # on the hub: run nats-server with it',
      ]),
    );
  fleet
    .command('init')
    .description('write a nats-server configuration for the hub and one credentials file per machine')
    .requiredOption('--machines <ids>', 'the machines of the fleet, comma-separated (their TELEPTY_MACHINE_ID or hostname)')
    .option('--url <urls>', 'the URL machines dial to reach the hub, comma-separated (default nats://<this host>:4222)')
    .option('--listen <host:port>', 'where the hub listens', '0.0.0.0:4222')
    .option('--out <dir>', 'the folder to write into (default: the fleet folder in telepty\'s config folder)')
    .option('--force', 'replace existing files (machines holding the old credentials are locked out)')
    .option('--json', 'print what was written as JSON')
    .addHelpText('after', examples(['telepty fleet init --machines desk,laptop,cloud1', 'telepty fleet init --machines desk,laptop --url tls://hub.example:4222 --out ./fleet']))
    .action(async (opts: { machines: string; url?: string; listen: string; out?: string; force?: boolean; json?: boolean }) => {
      const { runFleetInit } = await import('./fleet-init.js');
      await runFleetInit(opts);
    });
  fleet
    .command('status')
    .description('what this daemon is connected to, the machines it sees and the round trip to each')
    .option('--json', 'print it as JSON')
    .addHelpText(
      'after',
      examples(['telepty fleet status', 'telepty fleet status --json | jq \'.machines[] | select(.reachable | not) | .machine\'', 'telepty fleet status >/dev/null || echo "not connected to the fleet"']) +
        '\nExit status: 0 connected to the hub, or in no fleet (local only); 4 a fleet is configured but this daemon is not connected to its hub now (not usable, connecting or reconnecting: the text says which).\n',
    )
    .action(async (opts: { json?: boolean }) => {
      const { runFleetStatus } = await import('./fleet-status.js');
      process.exitCode = await runFleetStatus(opts);
    });
  fleet
    .command('hub')
    .description('run nats-server with the configuration fleet init wrote, and create the fleet\'s event stream and directory')
    .option('--dir <dir>', 'the folder fleet init wrote (default: the fleet folder in telepty\'s config folder)')
    .addHelpText('after', examples(['telepty fleet hub', 'telepty fleet hub --dir ./fleet']) + '\nRuns in the foreground (Ctrl-C stops it); run it under systemd, launchd or tmux to keep it.\n')
    .action(async (opts: { dir?: string }) => {
      const { runFleetHub } = await import('./fleet-hub.js');
      process.exitCode = await runFleetHub(opts);
    });
}
