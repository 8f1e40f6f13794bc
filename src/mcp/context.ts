import type { DaemonClient } from '../client/daemon-client.js';
import type { Operation } from '../protocol/ops/contract.js';
import { ScreenCursors } from './screen-cursor.js';

/** What every tool shares for the server's life: the daemon (found, or started, on first use) and the cursors. */
export interface ToolContext {
  client(): Promise<DaemonClient>;
  cursors: ScreenCursors;
}

/** The daemon is looked for on the first tool call, not at start (a host starts MCP servers eagerly). */
export function toolContext(connect: () => Promise<DaemonClient>): ToolContext {
  let found: Promise<DaemonClient> | null = null;
  return {
    client(): Promise<DaemonClient> {
      found ??= connect().catch((err: unknown) => {
        found = null; // the next call tries again (the daemon may be startable then)
        throw err;
      });
      return found;
    },
    cursors: new ScreenCursors(),
  };
}

/**
 * Check a request as the daemon will, with the operation's own parser (src/protocol/ops): bad input is refused
 * here with telepty's code (INVALID_FIELD, INVALID_SESSION_ID, PAYLOAD_TOO_LARGE ...) before anything is sent.
 * Returns what the daemon would make of it.
 */
export function checkRequest<P extends string, B, Q, R, A>(op: Operation<P, B, Q, R, A>, req: { body?: B; query?: Q }): R {
  const query = req.query !== undefined && op.query ? op.query(req.query) : new URLSearchParams();
  return op.parse({ body: req.body, query, headers: {} });
}
