import type { Command } from 'commander';
import { connect } from '../client/daemon-client.js';
import { processEnv } from '../util/config.js';
import { examples } from './command-module.js';

export function register(program: Command): void {
  program
    .command('mcp')
    .description('serve the sessions to an AI agent as MCP tools over stdio (list, read, inject, wait, events)')
    .option('--read-only', 'offer only the reading tools: list_sessions, read_screen, wait_for, tail_events')
    .option('--allow <tools>', 'also offer spawn_session and/or kill_session: spawn,kill (or TELEPTY_MCP_ALLOW)')
    .addHelpText(
      'after',
      examples(['claude mcp add telepty -- telepty mcp', 'codex mcp add telepty -- telepty mcp', 'claude mcp add telepty-ro -- telepty mcp --read-only', 'TELEPTY_MCP_ALLOW=spawn,kill telepty mcp']) +
        '\nstdout carries the protocol; messages go to stderr. The daemon is started on the first tool call.\n',
    )
    .action(async (opts: { readOnly?: boolean; allow?: string }) => {
      // The MCP SDK is loaded only here: no other command pays for it.
      const { parseAllow } = await import('../mcp/access.js');
      const allow = parseAllow(opts.allow, processEnv().TELEPTY_MCP_ALLOW);
      const { serveMcp } = await import('../mcp/server.js');
      await serveMcp({ readOnly: Boolean(opts.readOnly), allow }, () => connect());
    });
}
