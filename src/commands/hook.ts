import type { Command } from 'commander';
import { connect } from '../client/daemon-client.js';
import { hookReportOp } from '../protocol/ops/state.js';
import { sessionIdFromEnv } from '../util/config.js';

/**
 * A hook waits on this: the agent's turn is held while it runs, so the report gives up after this long (the
 * screen rules stand in for a report that never came).
 */
const HOOK_REPORT_TIMEOUT_MS = 2_000;
/** A hook's JSON is small (a prompt at most); more than this is not read. */
const HOOK_INPUT_MAX_BYTES = 2 * 1024 * 1024;

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

/**
 * Run by an AI CLI's hook in a telepty session: maps the hook's report and sends it to the daemon (then the
 * session's host). Prints nothing on stdout (Claude Code adds a hook's output to the prompt) and exits 0 even when
 * it fails, so the agent is never held up; a failure is one line on stderr.
 */
async function report(programName: string, event: string, payload: string | undefined): Promise<void> {
  const id = sessionIdFromEnv();
  if (!id) throw new Error('TELEPTY_SESSION_ID is not set: not in a telepty session');
  const input = payload !== undefined ? (JSON.parse(payload) as unknown) : await readInput();
  const client = await connect({ autostart: false });
  if (!client) throw new Error('no telepty daemon runs');
  await client.call(hookReportOp, { params: { id }, body: { program: programName, event, input }, timeoutMs: HOOK_REPORT_TIMEOUT_MS });
}

export function register(program: Command): void {
  program
    .command('hook')
    .description("report an AI CLI's hook event to telepty (run by the hooks telepty adds to the sessions it starts; prints nothing, always exits 0)")
    .argument('<program>', 'claude | gemini | codex')
    .argument('<event>', "the hook's event (UserPromptSubmit, Stop, Notification…; Codex: notify)")
    .argument('[payload]', "the report as JSON (Codex's notify passes it as an argument; others on stdin)")
    .action(async (programName: string, event: string, payload: string | undefined) => {
      try {
        await report(programName, event, payload);
      } catch (err) {
        process.stderr.write(`telepty hook: ${err instanceof Error ? err.message : String(err)}\n`);
      }
      process.exitCode = 0;
    });
}
