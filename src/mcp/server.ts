import { McpServer } from '@modelcontextprotocol/server';
import { serveStdio } from '@modelcontextprotocol/server/stdio';
import type { DaemonClient } from '../client/daemon-client.js';
import { packageVersion } from '../util/version.js';
import type { Access } from './access.js';
import { registerPublishTool, registerTailTool } from './bus-tools.js';
import { toolContext, type ToolContext } from './context.js';
import { registerSendKeysTool, registerStateReadTools } from './state-tools.js';
import { registerKillTool, registerSessionReadTools, registerSessionWriteTools, registerSpawnTool } from './session-tools.js';

const INSTRUCTIONS =
  'telepty makes terminal sessions (AI coding CLIs, shells) addressable. list_sessions to find one; inject to give it a prompt; ' +
  'wait_for_state (until idle) or wait_for (with the cursor inject returns) to wait for its answer instead of polling; get_state to see ' +
  'whether it is idle, working or blocked on a dialog (send_keys answers one); read_screen with a cursor to read only what is new; ' +
  'tail_events for the event bus. Every answer is capped; a cut says so. Errors start with telepty\'s code (e.g. SESSION_NOT_FOUND).';

/** One MCP server instance with the tools `access` allows (the same for each protocol era). */
export function buildServer(access: Access, ctx: ToolContext): McpServer {
  const server = new McpServer({ name: 'telepty', version: packageVersion() }, { capabilities: { tools: {} }, instructions: INSTRUCTIONS });
  registerSessionReadTools(server, ctx);
  registerStateReadTools(server, ctx);
  registerTailTool(server, ctx);
  if (!access.readOnly) {
    registerSessionWriteTools(server, ctx);
    registerSendKeysTool(server, ctx);
    registerPublishTool(server, ctx);
    if (access.allow.has('spawn')) registerSpawnTool(server, ctx);
    if (access.allow.has('kill')) registerKillTool(server, ctx);
  }
  return server;
}

/**
 * Serve MCP on this process's stdin/stdout until the client closes stdin (or a signal): both protocol eras, one
 * instance for the connection. stdout is the protocol channel: nothing else may be written there.
 */
export async function serveMcp(access: Access, connect: () => Promise<DaemonClient>): Promise<void> {
  const ctx = toolContext(connect);
  const ended = new Promise<void>((resolve) => {
    process.stdin.once('end', resolve);
    process.stdin.once('close', resolve);
    process.once('SIGINT', resolve);
    process.once('SIGTERM', resolve);
  });
  const handle = serveStdio(() => buildServer(access, ctx), { onerror: (err) => process.stderr.write(`telepty mcp: ${err.message}\n`) });
  await ended;
  await handle.close();
}
