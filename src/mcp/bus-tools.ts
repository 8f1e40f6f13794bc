import type { CallToolResult, McpServer } from '@modelcontextprotocol/server';
import * as z from 'zod';
import { openDaemonSocket } from '../client/ws.js';
import { BUS_PATH, GAP_KIND, isBusEvent, ndjsonLines, parseSubscribeQuery, type BusEvent } from '../protocol/bus.js';
import { parseJsonFrame } from '../protocol/json.js';
import { publishOp, type PublishRequestBody } from '../protocol/ops/bus.js';
import { TeleptyError } from '../protocol/errors.js';
import { checkRequest, type ToolContext } from './context.js';
import { fieldsOf } from './fields.js';
import { capText, capsOf, type Caps } from './limits.js';
import { guarded, jsonResult, textResult } from './results.js';

/** tail_events' defaults and bounds: a few events, a short wait (an agent calls again with `since`). */
export const TAIL_DEFAULT_COUNT = 20;
export const TAIL_MAX_COUNT = 200;
export const TAIL_DEFAULT_MS = 2_000;
/** The longest tail_events waits: below an MCP client's usual 60 s request timeout. */
export const TAIL_MAX_MS = 50_000;

export function registerPublishTool(server: McpServer, ctx: ToolContext): void {
  server.registerTool(
    'publish_event',
    {
      description: 'Use to tell other agents or tools something over the telepty event bus (e.g. a task is done); returns the event\'s seq and message_id and how many subscribers it was sent to.',
      inputSchema: z.object(
        fieldsOf<PublishRequestBody>()({
          kind: z.string().describe('the event kind, e.g. task.done'),
          target: z.string().optional().describe('whom it is for (a session id), if anyone'),
          source: z.string().optional().describe('who sends it (e.g. your session id)'),
          payload: z.record(z.string(), z.unknown()).optional().describe('the event\'s data, a JSON object'),
        }),
      ),
    },
    (args) =>
      guarded(async () => {
        const body: PublishRequestBody = {
          kind: args.kind,
          ...(args.target !== undefined ? { target: args.target } : {}),
          ...(args.source !== undefined ? { source: args.source } : {}),
          ...(args.payload !== undefined ? { payload: args.payload } : {}),
        };
        // The operation hands the event on as it came; the bus completes and checks it (INVALID_EVENT comes back).
        checkRequest(publishOp, { body });
        const ack = await (await ctx.client()).call(publishOp, { body });
        return jsonResult(ack, capsOf({}));
      }),
  );
}

export function registerTailTool(server: McpServer, ctx: ToolContext): void {
  server.registerTool(
    'tail_events',
    {
      description: 'Use to read what happened on the event bus (injects, submissions, session exits, events other agents published): returns up to count events (waiting at most timeout_ms for them) and next_since; pass next_since back as since to resume without missing or repeating one.',
      inputSchema: z.object({
        // Not empty: the bus takes an empty filter as none, so every event would come as if it were the one asked for.
        kinds: z.array(z.string().min(1)).optional().describe('only these kinds (a trailing * matches a prefix)'),
        target: z.string().min(1).optional().describe('only events for this target'),
        source: z.string().min(1).optional().describe('only events from this source'),
        since: z.number().int().optional().describe('replay the events after this seq first (from next_since of the last call)'),
        count: z.number().int().optional().describe(`at most this many events (default ${TAIL_DEFAULT_COUNT}, at most ${TAIL_MAX_COUNT})`),
        timeout_ms: z.number().int().optional().describe(`wait at most this long for them (default ${TAIL_DEFAULT_MS}, at most ${TAIL_MAX_MS})`),
        max_lines: z.number().int().positive().optional(),
        max_chars: z.number().int().positive().optional(),
      }),
      annotations: { readOnlyHint: true },
    },
    (args, extra) =>
      guarded(async () => {
        const count = args.count ?? TAIL_DEFAULT_COUNT;
        const timeoutMs = args.timeout_ms ?? TAIL_DEFAULT_MS;
        if (!Number.isInteger(count) || count < 1 || count > TAIL_MAX_COUNT) throw new TeleptyError('INVALID_FIELD', `"count" must be an integer 1-${TAIL_MAX_COUNT}`, { field: 'count' });
        if (!Number.isInteger(timeoutMs) || timeoutMs < 0 || timeoutMs > TAIL_MAX_MS) throw new TeleptyError('INVALID_FIELD', `"timeout_ms" must be an integer 0-${TAIL_MAX_MS}`, { field: 'timeout_ms' });
        const q = new URLSearchParams({ batch: '1' });
        for (const k of args.kinds ?? []) q.append('kind', k);
        if (args.target !== undefined) q.set('target', args.target);
        if (args.source !== undefined) q.set('source', args.source);
        if (args.since !== undefined) q.set('since', String(args.since));
        parseSubscribeQuery(q); // the bus's own check of the filters: INVALID_EVENT here, not a refused socket
        const { ws, onMessage } = await openDaemonSocket(await ctx.client(), `${BUS_PATH}?${q.toString()}`);
        const events: BusEvent[] = [];
        const gaps: string[] = [];
        let nextSince = args.since ?? null;
        await new Promise<void>((resolve) => {
          const finish = (): void => {
            clearTimeout(timer);
            extra.mcpReq.signal.removeEventListener('abort', finish);
            ws.close(1000, 'done');
            resolve();
          };
          const timer = setTimeout(finish, timeoutMs);
          extra.mcpReq.signal.addEventListener('abort', finish);
          ws.on('close', finish);
          onMessage((data) => {
            for (const line of ndjsonLines(data.toString('utf8'))) {
              if (events.length >= count) break;
              const ev = parseJsonFrame(line);
              if (!isBusEvent(ev)) continue; // not an event (an ack, another program's frame): nothing to resume from
              nextSince = ev.seq;
              if (ev.kind === GAP_KIND) gaps.push(String(ev.detail));
              else events.push(ev);
            }
            if (events.length >= count) finish();
          });
        });
        return eventsResult(events, nextSince, gaps, capsOf(args));
      }),
  );
}

/**
 * A head line ({next_since, returned, cut}) and one JSON line per event. Events that do not fit the caps are left
 * out from the end and next_since names the last one returned, so resuming from it loses nothing.
 */
export function eventsResult(events: BusEvent[], since: number | null, gaps: string[], caps: Caps): CallToolResult {
  const lines = events.map((ev) => JSON.stringify(ev));
  let kept = lines.length;
  let size = lines.reduce((n, l) => n + l.length + 1, 0);
  const room = { chars: caps.maxChars - 200, lines: caps.maxLines - 1 };
  while (kept > 1 && (size > room.chars || kept > room.lines)) {
    kept--;
    size -= (lines[kept] as string).length + 1;
  }
  const last = kept < events.length ? (events[kept - 1] as BusEvent).seq : since;
  const head = JSON.stringify({ next_since: last, returned: kept, ...(kept < events.length ? { left_out: events.length - kept, note: 'more events than the limits allow: call again with since = next_since' } : {}), ...(gaps.length > 0 ? { gaps } : {}) });
  // One event larger than the whole limit is still cut (with its note), never dropped silently.
  return textResult(capText([head, ...lines.slice(0, kept)].join('\n'), caps, 'head'));
}
