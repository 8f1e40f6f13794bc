import type { DaemonClient } from '../client/daemon-client.js';
import type { McpServer } from '@modelcontextprotocol/server';
import * as z from 'zod';
import { listFleetSessions, type FleetSession } from '../client/fleet-list.js';
import { injectOne } from '../client/inject.js';
import { exitedNote, killSession, listSessions, renameSession, spawnSession } from '../client/sessions.js';
import { TeleptyError, isTeleptyError } from '../protocol/errors.js';
import { assertSessionRef } from '../protocol/ids.js';
import { DEFAULT_INJECT_TIMEOUT_MS, type InjectRequestBody } from '../protocol/inject.js';
import { injectOp } from '../protocol/ops/inject.js';
import { readScreenOp, renameSessionOp, spawnSessionOp } from '../protocol/ops/sessions.js';
import type { RenameRequest, ScreenQuery, ScreenSnapshot, SessionObject, SpawnRequestBody } from '../protocol/session.js';
import { fieldsOf } from './fields.js';
import { checkRequest, type ToolContext } from './context.js';
import { capLines, capsOf, type Caps } from './limits.js';
import { guarded, jsonResult, textResult } from './results.js';
import { deltaOf, type ScreenDelta } from './screen-cursor.js';
import { endingOf, readHistory, type Ended } from './screen.js';

/** How often wait_for reads the screen: a local read costs ~1 ms; 4 a second notices text quickly and loads nothing. */
export const WAIT_POLL_MS = 250;
/** wait_for's default bound, and its largest: an MCP client's own request timeout is often 60 s. */
export const WAIT_DEFAULT_MS = 30_000;
export const WAIT_MAX_MS = 300_000;
/** How many of the last lines a timed-out wait_for shows (what the session was doing instead). */
const WAIT_TAIL_LINES = 8;

const sessionRef = z.string().describe('session id, or id@machine for a session of another machine of the fleet');
const capsInput = {
  max_lines: z.number().int().positive().optional().describe('return at most this many lines (the server caps it anyway)'),
  max_chars: z.number().int().positive().optional().describe('return at most this many characters (the server caps it anyway)'),
};

/** A session as an agent needs it (the full object is in `telepty list --json`). */
function row(s: SessionObject & { machine?: string; address?: string }): Record<string, unknown> {
  return {
    id: s.address ?? s.id,
    status: s.status,
    command: [s.command, ...s.args].join(' '),
    cwd: s.cwd,
    idle_seconds: s.idleSeconds,
    ...(s.machine !== undefined ? { machine: s.machine } : {}),
    ...(s.exit_code !== null && s.exit_code !== undefined ? { exit_code: s.exit_code } : {}),
  };
}

/** The head line of a screen answer: what it is (an exited session's last screen says so), and the cursor to pass next time. */
function screenHead(snapshot: ScreenSnapshot, id: string, cursor: string, delta: ScreenDelta | null, shown: number): string {
  const what = delta === null ? `${shown} lines` : delta.kind === 'new' ? `${shown} new lines` : delta.kind === 'changed' ? `${shown} lines new or redrawn` : `${shown} lines (the screen shares nothing with the cursor: all of it)`;
  const session = snapshot.exited ? exitedNote(snapshot.session_id, snapshot.exit_code) : `session ${id}`;
  return `[${session} · ${snapshot.cols}x${snapshot.rows} · ${what} · cursor ${cursor}: pass it back to get only what is new]`;
}

function lastLines(lines: string[], caps: Caps): string[] {
  return lines.slice(-Math.min(caps.maxLines, lines.length));
}

/** Every machine's sessions; an agent asking for them is told it cannot have them, not handed this machine's alone. */
async function everyMachine(c: DaemonClient): Promise<FleetSession[]> {
  const listing = await listFleetSessions(c);
  if (listing.missing) throw new TeleptyError('HOST_OFFLINE', `${listing.missing.message}; list_sessions without all lists this machine's`);
  return listing.rows;
}

export function registerSessionReadTools(server: McpServer, ctx: ToolContext): void {
  server.registerTool(
    'list_sessions',
    {
      description: 'Use first to see which terminal sessions exist: returns each session\'s id, status (connected, disconnected, exited), command, cwd and idle seconds; with all: true, every machine of the fleet (ids as id@machine).',
      inputSchema: z.object({
        all: z.boolean().optional().describe('every machine of the fleet, not only this one'),
        ...capsInput,
      }),
      annotations: { readOnlyHint: true },
    },
    (args) =>
      guarded(async () => {
        const c = await ctx.client();
        const rows = args.all ? (await everyMachine(c)).map(row) : (await listSessions(c)).map(row);
        return jsonResult(rows, capsOf(args));
      }),
  );

  server.registerTool(
    'read_screen',
    {
      description: "Use to see what a session shows: returns its rendered screen as text (what a person would see, not raw bytes) and a cursor; pass the cursor back to get only the lines new or changed since, so repeated reads cost little. A session whose program exited shows its last screen (the head line says it exited, and its code).",
      inputSchema: z.object({
        id: sessionRef,
        cursor: z.string().optional().describe('from the last read_screen, inject or wait_for of this session: only what is new since'),
        ...fieldsOf<ScreenQuery>()({
          lines: z.number().int().optional().describe('only the last N lines'),
          scrollback: z.boolean().optional().describe('include the scrollback above the visible screen'),
        }),
        ...capsInput,
      }),
      annotations: { readOnlyHint: true },
    },
    (args) =>
      guarded(async () => {
        const id = assertSessionRef(args.id);
        const q = checkRequest(readScreenOp, { query: { ...(args.lines !== undefined ? { lines: args.lines } : {}), scrollback: Boolean(args.scrollback), ansi: false } });
        const before = args.cursor !== undefined ? ctx.cursors.lines(args.cursor, id) : null;
        const h = await readHistory(await ctx.client(), id, true);
        const cursor = ctx.cursors.save(id, h.lines);
        const delta = before === null ? null : deltaOf(before, h.lines);
        let lines = delta ? delta.lines : q.scrollback ? h.lines : h.lines.slice(h.lines.length - h.visible);
        if (q.lines !== undefined) lines = lines.slice(-q.lines);
        const caps = capsOf(args);
        const capped = capLines(lines, caps, 'tail', 1); // one line of the limit is the head line
        const head = screenHead(h.snapshot, id, cursor, delta, lines.length);
        return textResult({ text: capped.text === '' ? head : `${head}\n${capped.text}`, note: capped.note });
      }),
  );

  server.registerTool(
    'wait_for',
    {
      description: 'Use instead of polling read_screen: waits (server-side, bounded by timeout_ms) until a line of a session\'s screen matches pattern, or until the session exits; returns the outcome (matched, exited, gone, timeout), the matching line and a cursor.',
      inputSchema: z.object({
        id: sessionRef,
        pattern: z.string().optional().describe('text to wait for (a substring; a regular expression with regex: true)'),
        regex: z.boolean().optional().describe('pattern is a JavaScript regular expression'),
        until_exit: z.boolean().optional().describe('wait for the session to exit (with pattern: whichever comes first)'),
        cursor: z.string().optional().describe('only text that appears after this cursor (from read_screen or inject) counts; without one, the visible screen counts too'),
        timeout_ms: z.number().int().optional().describe(`give up after this long (default ${WAIT_DEFAULT_MS}, at most ${WAIT_MAX_MS})`),
        ...capsInput,
      }),
      annotations: { readOnlyHint: true },
    },
    (args, extra) =>
      guarded(async () => {
        const id = assertSessionRef(args.id);
        if (args.pattern === undefined && !args.until_exit) throw new TeleptyError('INVALID_FIELD', 'give a pattern, until_exit: true, or both', { field: 'pattern' });
        const timeoutMs = args.timeout_ms ?? WAIT_DEFAULT_MS;
        if (!Number.isInteger(timeoutMs) || timeoutMs < 1 || timeoutMs > WAIT_MAX_MS) throw new TeleptyError('INVALID_FIELD', `"timeout_ms" must be an integer 1-${WAIT_MAX_MS}`, { field: 'timeout_ms' });
        const matches = matcherOf(args.pattern, Boolean(args.regex));
        const caps = capsOf(args);
        const c = await ctx.client();
        const started = Date.now();
        let base = args.cursor !== undefined ? ctx.cursors.lines(args.cursor, id) : null;
        let last: string[] = [];
        for (;;) {
          let ended: Ended | null = null;
          try {
            const h = await readHistory(c, id);
            // Without a cursor, the scrollback above the visible screen is history: only the screen and what follows count.
            base ??= h.lines.slice(0, h.lines.length - h.visible);
            last = h.lines;
            const fresh = deltaOf(base, h.lines).lines;
            const hit = matches ? fresh.find(matches) : undefined;
            if (hit !== undefined) {
              return jsonResult({ outcome: 'matched', line: hit, waited_ms: Date.now() - started, cursor: ctx.cursors.save(id, h.lines) }, caps);
            }
          } catch (err) {
            ended = await endingOf(c, id, err);
            // A session whose host is away is not over: its host comes back (a daemon restart), or the daemon marks it
            // exited once the host is found dead (a sweep 50 ms after its link closes). The wait goes on until one of them, or its bound.
            if (!ended && !(isTeleptyError(err) && err.code === 'SESSION_DISCONNECTED')) throw err;
          }
          if (ended) return jsonResult({ ...ended, waited_ms: Date.now() - started }, caps);
          const left = started + timeoutMs - Date.now();
          if (left <= 0 || extra.mcpReq.signal.aborted) {
            return jsonResult({ outcome: 'timeout', waited_ms: Date.now() - started, cursor: ctx.cursors.save(id, last), last_lines: lastLines(last, { ...caps, maxLines: Math.min(caps.maxLines, WAIT_TAIL_LINES) }) }, caps);
          }
          await pause(Math.min(WAIT_POLL_MS, left), extra.mcpReq.signal);
        }
      }),
  );
}

export function registerSessionWriteTools(server: McpServer, ctx: ToolContext): void {
  server.registerTool(
    'inject',
    {
      description: 'Use to give a session (an AI CLI, a shell) a prompt: types text and submits it (no_enter: type only); returns the outcome (submitted: the program took it; entered: Enter was written but the submission was not seen; written; queued) and a cursor for wait_for/read_screen to see only the reply.',
      inputSchema: z.object({
        id: sessionRef,
        text: z.string().describe('the prompt (newlines allowed; control characters are refused); empty: press Enter alone'),
        ...fieldsOf<InjectRequestBody>()({
          no_enter: z.boolean().optional().describe('type the text without submitting it'),
          wait: z.boolean().optional().describe('answer once the prompt was typed and submitted (default true); false: once queued'),
          timeout_ms: z.number().int().optional().describe(`bound on the wait (default ${DEFAULT_INJECT_TIMEOUT_MS})`),
          inject_id: z.string().optional().describe('your id for this prompt: a repeat with the same id is never typed twice'),
          from: z.string().optional().describe('who sends it (e.g. your own session id), for replies'),
          force: z.boolean().optional().describe("type even over a person's half-typed line, or into a session whose agent waits on a dialog (state blocked: refused with SESSION_BLOCKED otherwise)"),
        }),
        when_idle: z
          .boolean()
          .optional()
          .describe("hold the prompt in the daemon until the session's agent is idle (within timeout_ms), so it is never typed mid-turn; TIMEOUT with job withdrawn (nothing typed) when it does not become idle"),
      }),
    },
    (args) =>
      guarded(async () => {
        const id = assertSessionRef(args.id);
        const body: InjectRequestBody & { wait: boolean; timeout_ms: number } = {
          prompt: args.text,
          wait: args.wait ?? true,
          timeout_ms: args.timeout_ms ?? DEFAULT_INJECT_TIMEOUT_MS,
          ...(args.no_enter !== undefined ? { no_enter: args.no_enter } : {}),
          ...(args.inject_id !== undefined ? { inject_id: args.inject_id } : {}),
          ...(args.from !== undefined ? { from: args.from } : {}),
          ...(args.force !== undefined ? { force: args.force } : {}),
          ...(args.when_idle ? { when: 'idle' as const } : {}),
        };
        checkRequest(injectOp, { body });
        const c = await ctx.client();
        // The screen before the prompt: wait_for from this cursor sees only what follows. Only a help: a screen
        // that cannot be read (another machine that does not allow `screen`) leaves the prompt to go anyway.
        const before = await readHistory(c, id).then(
          (h) => ({ cursor: ctx.cursors.save(id, h.lines) }),
          (err: unknown) => {
            if (!isTeleptyError(err)) throw err;
            return { cursor: null, cursor_unavailable: `${err.code}: ${err.message}` };
          },
        );
        const outcome = await injectOne(c, id, body);
        return jsonResult({ ...outcome, ...before }, capsOf({}));
      }),
  );

  server.registerTool(
    'rename_session',
    {
      description: 'Use to give a session a new, meaningful id; returns the old and the new id.',
      inputSchema: z.object({ id: sessionRef, ...fieldsOf<RenameRequest>()({ new_id: z.string().describe('the new id (letters, digits, ".", "_", "-")') }) }),
    },
    (args) =>
      guarded(async () => {
        const { new_id } = checkRequest(renameSessionOp, { body: { new_id: args.new_id } });
        return jsonResult(await renameSession(await ctx.client(), assertSessionRef(args.id), new_id), capsOf({}));
      }),
  );
}

export function registerSpawnTool(server: McpServer, ctx: ToolContext): void {
  server.registerTool(
    'spawn_session',
    {
      description: 'Use to start a program (an AI CLI, a shell) in a new background session on this machine; returns its session id, pid and cwd.',
      inputSchema: z.object({
        id: z.string().optional().describe('the session id (default: derived from the folder and the command)'),
        ...fieldsOf<SpawnRequestBody>()({
          command: z.string().describe('the program to run'),
          args: z.array(z.string()).optional().describe('its arguments'),
          cwd: z.string().optional().describe("its working folder (default: this server's)"),
          env: z.record(z.string(), z.string()).optional().describe('variables added to its environment'),
          cols: z.number().int().optional().describe('terminal width (default 80)'),
          rows: z.number().int().optional().describe('terminal height (default 24)'),
        }),
      }),
      annotations: { destructiveHint: false },
    },
    (args) =>
      guarded(async () => {
        const body: SpawnRequestBody & { args: string[]; cwd: string; env: Record<string, string> } = {
          command: args.command,
          args: args.args ?? [],
          cwd: args.cwd ?? process.cwd(),
          env: args.env ?? {},
          ...(args.id !== undefined ? { session_id: args.id } : {}),
          ...(args.cols !== undefined ? { cols: args.cols } : {}),
          ...(args.rows !== undefined ? { rows: args.rows } : {}),
        };
        checkRequest(spawnSessionOp, { body });
        const r = await spawnSession(await ctx.client(), body);
        return jsonResult({ session_id: r.session_id, command: r.command, cwd: r.cwd, pid: r.pid }, capsOf({}));
      }),
  );
}

export function registerKillTool(server: McpServer, ctx: ToolContext): void {
  server.registerTool(
    'kill_session',
    {
      description: "Use to end a session and its whole process group; returns once it has ended (status killed, with the program's exit code).",
      inputSchema: z.object({ id: sessionRef }),
      annotations: { destructiveHint: true },
    },
    (args) => guarded(async () => jsonResult(await killSession(await ctx.client(), assertSessionRef(args.id)), capsOf({}))),
  );
}

/** The test of one line against wait_for's pattern (null: no pattern, only the exit counts). */
function matcherOf(pattern: string | undefined, regex: boolean): ((line: string) => boolean) | null {
  if (pattern === undefined) return null;
  if (pattern.length === 0) throw new TeleptyError('INVALID_FIELD', '"pattern" is empty', { field: 'pattern' });
  if (!regex) return (line) => line.includes(pattern);
  let re: RegExp;
  try {
    re = new RegExp(pattern);
  } catch (err) {
    throw new TeleptyError('INVALID_FIELD', `"pattern" is not a regular expression: ${(err as Error).message}`, { field: 'pattern' });
  }
  return (line) => re.test(line);
}

/** Sleep `ms`, or less when the client cancels the call (the loop then answers with what it has). */
function pause(ms: number, signal: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    const done = (): void => {
      clearTimeout(timer);
      signal.removeEventListener('abort', done);
      resolve();
    };
    const timer = setTimeout(done, ms);
    signal.addEventListener('abort', done);
  });
}
