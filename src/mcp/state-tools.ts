import type { McpServer } from '@modelcontextprotocol/server';
import * as z from 'zod';
import { AGENT_STATES } from '../protocol/agent-state.js';
import { assertSessionRef } from '../protocol/ids.js';
import { sendKeysOp, sessionStateOp, waitStateOp } from '../protocol/ops/state.js';
import { exitedInstead, waitForState } from '../client/state.js';
import { TeleptyError } from '../protocol/errors.js';
import { WAIT_DEFAULT_MS, WAIT_MAX_MS } from './session-tools.js';
import { checkRequest, type ToolContext } from './context.js';
import { capsOf } from './limits.js';
import { guarded, jsonResult } from './results.js';

/** get_state and wait_for_state: the agent's state (issue 19), read-only; send_keys: keys by name (writes). */

const sessionRef = z.string().describe('session id, or id@machine for a session of another machine of the fleet');

export function registerStateReadTools(server: McpServer, ctx: ToolContext): void {
  server.registerTool(
    'get_state',
    {
      description:
        "Use to know whether a session's agent is idle (ready for a prompt), working (a turn in progress), blocked (a dialog waits for an answer: its question is in detail) or exited; returns the state, since when, and the evidence that decided it.",
      inputSchema: z.object({ id: sessionRef }),
      annotations: { readOnlyHint: true },
    },
    (args) =>
      guarded(async () => {
        const c = await ctx.client();
        return jsonResult(await c.call(sessionStateOp, { params: { id: assertSessionRef(args.id) } }), capsOf({}));
      }),
  );

  server.registerTool(
    'wait_for_state',
    {
      description:
        "Use after inject instead of polling: waits on the server until the session's agent reaches a state (idle: its turn is done; blocked: it asks something; any-change) or the bound passes; returns the state reached and reached: false on timeout. A session that exits ends the wait with a SESSION_EXITED error (unless until is exited or any-change).",
      inputSchema: z.object({
        id: sessionRef,
        until: z.enum([...AGENT_STATES, 'any-change']).describe('the state to wait for'),
        timeout_ms: z.number().int().positive().max(WAIT_MAX_MS).optional().describe(`give up after this long (default ${WAIT_DEFAULT_MS})`),
      }),
      annotations: { readOnlyHint: true },
    },
    (args) =>
      guarded(async () => {
        const c = await ctx.client();
        const id = assertSessionRef(args.id);
        checkRequest(waitStateOp, { body: { until: args.until } });
        const answer = await waitForState(c, id, args.until, Date.now() + (args.timeout_ms ?? WAIT_DEFAULT_MS));
        // As `telepty wait` (exit 4): an exit is not the state asked for.
        if (exitedInstead(answer, args.until)) throw new TeleptyError('SESSION_EXITED', `session ${answer.session_id} exited before it was ${args.until}`, { ...answer, reached: false });
        return jsonResult(answer, capsOf({}));
      }),
  );
}

export function registerSendKeysTool(server: McpServer, ctx: ToolContext): void {
  server.registerTool(
    'send_keys',
    {
      description:
        'Use to answer a dialog or interrupt an agent: sends keys by name (Enter, Escape, C-c, Up, Down, Tab, BTab, F1…; any other word is typed as text) to the session, never submitting a prompt; returns the keys written.',
      inputSchema: z.object({
        id: sessionRef,
        keys: z.array(z.string()).min(1).describe('key names in order, e.g. ["Down", "Enter"] or ["C-c"]'),
      }),
    },
    (args) =>
      guarded(async () => {
        const c = await ctx.client();
        const body = { keys: args.keys };
        checkRequest(sendKeysOp, { body });
        return jsonResult(await c.call(sendKeysOp, { params: { id: assertSessionRef(args.id) }, body }), capsOf({}));
      }),
  );
}
