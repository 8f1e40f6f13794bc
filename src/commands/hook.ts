import type { Command } from 'commander';
import { recordedDaemon } from '../client/state.js';
import { hookReportOp } from '../protocol/ops/state.js';
import { processEnv, sessionIdFromEnv } from '../util/config.js';

/**
 * A hook waits on this: the agent's turn is held while it runs, so the report gives up after this long (the
 * screen rules stand in for a report that never came).
 */
const HOOK_REPORT_TIMEOUT_MS = 2_000;
/** A hook's JSON is small (a prompt at most); more than this is not read. */
const HOOK_INPUT_MAX_BYTES = 2 * 1024 * 1024;
/** The marker every process of a spawned session carries (daemon/sessions/orphans.ts): its host instance. */
const SESSION_INSTANCE_ENV = 'TELEPTY_SESSION_INSTANCE';

/** The hook's JSON on stdin (none from a terminal), bounded in size and time. */
async function readInput(): Promise<unknown> {
  if (process.stdin.isTTY) return {};
  const chunks: Buffer[] = [];
  let size = 0;
  await new Promise<void>((resolve) => {
    const timer = setTimeout(resolve, HOOK_REPORT_TIMEOUT_MS);
    process.stdin.on('data', (c: Buffer) => {
      size += c.length;
      if (size <= HOOK_INPUT_MAX_BYTES) chunks.push(c);
    });
    process.stdin.on('end', () => {
      clearTimeout(timer);
      resolve();
    });
    process.stdin.on('error', () => {
      clearTimeout(timer);
      resolve();
    });
  });
  process.stdin.destroy();
  const text = Buffer.concat(chunks).toString('utf8').trim();
  return text ? (JSON.parse(text) as unknown) : {};
}

export interface HookArgs {
  program: string;
  event: string;
  payload: string | undefined;
  /** The session's host instance (`--instance`, or the spawned session's marker): it survives a rename. */
  instance: string | undefined;
}

/**
 * Maps the hook's report and sends it to the daemon (then the session's host). The session is named by
 * TELEPTY_SESSION_ID and by its host instance, which a rename does not change: the daemon finds a renamed session
 * by it.
 */
async function report(a: HookArgs): Promise<void> {
  const id = sessionIdFromEnv();
  if (!id) throw new Error('TELEPTY_SESSION_ID is not set: not in a telepty session');
  const input = a.payload !== undefined ? (JSON.parse(a.payload) as unknown) : await readInput();
  const client = await recordedDaemon();
  if (!client) throw new Error('no telepty daemon runs');
  const instance = a.instance ?? processEnv()[SESSION_INSTANCE_ENV];
  const body = { program: a.program, event: a.event, input, ...(instance ? { instance } : {}) };
  await client.call(hookReportOp, { params: { id }, body, timeoutMs: HOOK_REPORT_TIMEOUT_MS });
}

/** Prints nothing on stdout (Claude Code adds a hook's output to the prompt) and never fails the agent: exit 0. */
export async function runHook(a: HookArgs): Promise<number> {
  try {
    await report(a);
  } catch (err) {
    process.stderr.write(`telepty hook: ${err instanceof Error ? err.message : String(err)}\n`);
  }
  return 0;
}

/** `hook [--instance X] <program> <event> [payload]` without commander (the launcher's fast path); null: not that. */
export function parseHookArgs(argv: readonly string[]): HookArgs | null {
  let rest = argv.slice(1);
  let instance: string | undefined;
  if (rest[0] === '--instance' && rest.length >= 2) {
    instance = rest[1];
    rest = rest.slice(2);
  }
  if (rest.length < 2 || rest.length > 3 || rest.some((w) => w.startsWith('-'))) return null;
  const [program, event, payload] = rest as [string, string, string | undefined];
  return { program, event, payload, instance };
}

export function register(program: Command): void {
  program
    .command('hook')
    .description("report an AI CLI's hook event to telepty (run by the hooks telepty adds to the sessions it starts; prints nothing, always exits 0)")
    .argument('<program>', 'claude | gemini | codex')
    .argument('<event>', "the hook's event (UserPromptSubmit, Stop, Notification…; Codex: notify)")
    .argument('[payload]', "the report as JSON (Codex's notify passes it as an argument; others on stdin)")
    .option('--instance <id>', "the session's host instance (telepty adds it): found again after a rename")
    .action(async (programName: string, event: string, payload: string | undefined, opts: { instance?: string }) => {
      process.exitCode = await runHook({ program: programName, event, payload, instance: opts.instance });
    });
}
