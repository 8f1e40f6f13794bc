import type { Command } from 'commander';
import { sessionIdFromEnv } from '../util/config.js';
import { connect, type DaemonClient } from '../client/daemon-client.js';
import { injectMany, injectOne, type InjectBody } from '../client/inject.js';
import { TeleptyError } from '../protocol/errors.js';
import { assertSessionRef } from '../protocol/ids.js';
import { DEFAULT_INJECT_TIMEOUT_MS, MAX_INJECT_TIMEOUT_MS, isInjectId, type InjectResponse, type MulticastResult } from '../protocol/inject.js';
import { EXIT, exitCodeOf } from '../ui/exit.js';
import { sayingOnInterrupt } from '../ui/interrupt.js';
import { printJson, printLine } from '../ui/print.js';
import { newRequestId } from '../util/request-id.js';
import { readPrompt, timeoutMs } from './prompt-input.js';
import { parseSeconds } from './options.js';
import { registerSpec, parseWithSpec, type CommandSpec } from './spec.js';
import { examples } from './command-module.js';
import { isIdPattern, resolveTargets, type Targets } from '../client/targets.js';
import { tagsOf } from './tag-options.js';

interface InjectOptions {
  file?: string;
  enter: boolean;
  from?: string;
  replyTo?: string;
  thread?: string;
  replyExpected?: boolean;
  wait: boolean;
  timeout?: string;
  all?: boolean;
  /** --tag values: every session carrying one of them (issue 21); the words are then all prompt. */
  tag?: string[];
  json?: boolean;
  injectId?: string;
  force?: boolean;
  whenIdle?: boolean;
}

function seconds(value: string): number {
  return parseSeconds(value, '--timeout', MAX_INJECT_TIMEOUT_MS / 1000) / 1000;
}

function checkInjectId(value: string): string {
  if (isInjectId(value)) return value;
  throw new TeleptyError('INVALID_FIELD', `--inject-id takes 1-200 letters, digits, ".", "_", ":" or "-", starting with a letter or digit; got ${JSON.stringify(String(value).slice(0, 40))}`);
}

/** The inject id of `--inject-id`, checked, or a new one: made by the command, so Ctrl-C while it waits can name it. */
export function injectIdOf(given: string | undefined): string {
  return given !== undefined ? checkInjectId(given) : newRequestId();
}

export function describeResult(r: InjectResponse): string {
  const what = { queued: 'queued', written: 'typed (not submitted: --no-enter)', entered: 'typed and Enter pressed, submission not seen', submitted: r.confirmed_by === 'hook' ? 'submitted (confirmed by its hook)' : 'submitted' }[r.status];
  return `${r.session_id}: ${what}${r.status === 'entered' && r.seen ? ` (${r.seen})` : ''} [inject ${r.inject_id.slice(0, 8)}]`;
}

/** Exit status of an answer that is no error: `entered` (the submission not seen) is not success. */
export function resultExit(r: InjectResponse): number {
  return r.status === 'entered' ? EXIT.ENTERED : EXIT.OK;
}

/**
 * Exit status of a multi-target inject: the worst (highest) of its failures, each mapped as a single target's
 * error would be; `entered` (8) only when nothing failed. A pending timeout (7) thus outranks the rest: retrying
 * the lot would type that one twice.
 */
export function multicastExit(r: MulticastResult): number {
  const worst = r.results.failed.reduce<number>((w, f) => Math.max(w, exitCodeOf(f.code, f.job)), EXIT.OK);
  return worst === EXIT.OK && r.results.successful.some((s) => s.status === 'entered') ? EXIT.ENTERED : worst;
}

export const spec: CommandSpec = {
  name: 'inject',
  description: 'type a prompt into sessions and submit it; waits until it is submitted (exit 0) or says why not',
  args: ['[targets]', '[text...]'],
  options: [
    { long: 'file', value: '<path>', description: 'read the prompt from a file (long and multi-line prompts; - for stdin)' },
    { long: 'no-enter', description: 'type the text without pressing Enter' },
    { long: 'from', value: '<id>', description: 'who sends it (default: $TELEPTY_SESSION_ID); recorded for `telepty reply`' },
    { long: 'reply-to', value: '<id>', description: 'where replies should go (default: --from)' },
    { long: 'thread', value: '<id>', description: 'conversation thread id, carried in the bus events' },
    { long: 'reply-expected', description: 'mark that the sender expects a reply (carried in the bus events)' },
    { long: 'wait', description: 'wait until the prompt is submitted and exit 0 only then' },
    { long: 'no-wait', description: 'return once the prompt is queued instead of when it is submitted' },
    { long: 'timeout', value: '<seconds>', description: `how long to wait for submission (default ${DEFAULT_INJECT_TIMEOUT_MS / 1000})` },
    { long: 'all', description: 'every session that has not exited (a disconnected one is reported as failed)' },
    { long: 'tag', value: '<tag>', description: 'every session carrying this tag (repeatable, or a comma list; instead of ids)', multiple: true },
    { long: 'inject-id', value: '<id>', description: 'this inject\'s id (made up when absent): a repeat with the same id is never typed twice' },
    { long: 'force', description: 'type even when someone has a half-typed line in the session (it joins their text), or a dialog waits (state blocked)' },
    { long: 'when-idle', description: 'hold the prompt until the agent is idle (never typed mid-turn); withdrawn (exit 5) if not within --timeout' },
    { long: 'json', description: 'print the daemon answer as JSON' },
  ],
  helpAfter:
    examples([
      'telepty inject dev-001 "review the auth module"',
      'telepty inject dev-001,dev-002 "run the tests"',
      'telepty inject dev-001 --file prompt.md',
      'git diff | telepty inject reviewer            # the prompt from stdin (also: - as the text)',
      'telepty inject --all --no-wait "status report, please"',
      'telepty inject --tag reviewers "look at PR 12"',
      "telepty inject 'dev-*' \"rebase on main\"      # every session whose id matches (* and ?)",
    ]) +
    '\nThe prompt is typed as a bracketed paste when the program supports it, Enter is sent alone once the\n' +
    'program has taken the text, and one prompt at a time goes to each session. Nothing is added to it.\n' +
    'Exit status: 0 submitted (or queued with --no-wait, or typed with --no-enter); 2 bad input; 3 unknown session;\n' +
    '4 session disconnected or exited; 5 nothing typed and nothing will be (timeout with the job withdrawn, or\n' +
    'session busy: someone typing or a half-typed line, or blocked: a dialog waits): safe to retry; 7 timeout with the job pending: it may\n' +
    'still be typed, its outcome comes on the bus, retry only with the same --inject-id; 8 entered: Enter was\n' +
    'pressed but the submission was not seen (the answer says what was); 1 other failures.\n',
};

/** The inject command itself: run by commander or by the fast path (both parse `spec`). */
export async function run(targets: string | undefined, words: string[], opts: InjectOptions): Promise<void> {
  const tags = tagsOf(opts.tag && opts.tag.length > 0 ? opts.tag : undefined);
  if (opts.all && tags.length > 0) throw new TeleptyError('INVALID_FIELD', 'give --tag or --all, not both');
  const group = opts.all || tags.length > 0;
  const textWords = group ? [targets, ...words].filter((w): w is string => w !== undefined) : words;
  if (!group && !targets) throw new TeleptyError('INVALID_FIELD', 'which session? give an id (a,b,c for several), a pattern (\'dev-*\'), --tag or --all');
  // Ids are checked before anything is read or sent; patterns (`dev-*`) are expanded once connected.
  if (!group) for (const part of (targets as string).split(',')) if (!isIdPattern(part.trim())) assertSessionRef(part.trim());
  const prompt = await readPrompt(textWords, opts.file);
  const from = opts.from ?? sessionIdFromEnv();
  const injectId = injectIdOf(opts.injectId);
  const body: InjectBody = {
    prompt,
    ...(from ? { from } : {}),
    ...(opts.replyTo ? { reply_to: opts.replyTo } : {}),
    ...(opts.thread ? { thread_id: opts.thread } : {}),
    ...(opts.replyExpected ? { reply_expected: true } : {}),
    ...(opts.enter ? {} : { no_enter: true }),
    wait: opts.wait,
    timeout_ms: timeoutMs(opts.timeout === undefined ? undefined : seconds(opts.timeout), DEFAULT_INJECT_TIMEOUT_MS),
    inject_id: injectId,
    ...(opts.force ? { force: true } : {}),
    ...(opts.whenIdle ? { when: 'idle' as const } : {}),
  };
  const client = await connect();
  const resolved = opts.all ? null : await resolveTargets(client, tags.length > 0 ? undefined : targets, tags);
  const ids = resolved ? resolved.ids : 'all';
  await sayingOnInterrupt(body.wait ? () => stoppedWaiting(injectId, resolved?.ids ?? []) : null, () => send(client, resolved, ids, body, opts.json === true));
}

/** What Ctrl-C during a waiting inject leaves behind: the prompt goes on without the caller. */
export function stoppedWaiting(injectId: string, ids: readonly string[]): string {
  const [only] = ids;
  const target = ids.length === 1 && only !== undefined ? ` --target ${only}` : '';
  return (
    `telepty: stopped waiting; the prompt may still be typed (inject ${injectId}). ` +
    `Its outcome comes on the bus (telepty tail --kind 'inject*'${target}); retry only with --inject-id ${injectId}`
  );
}

async function send(client: DaemonClient, resolved: Targets | null, ids: string[] | 'all', body: InjectBody, json: boolean): Promise<void> {
  if (resolved && !resolved.pattern && resolved.ids.length === 1) {
    const r = await injectOne(client, ids[0] as string, body);
    if (json) printJson(r);
    else printLine(describeResult(r));
    process.exitCode = resultExit(r);
    return;
  }
  const r = await injectMany(client, ids, body);
  if (json) printJson(r);
  else {
    for (const ok of r.results.successful) printLine(`${ok.id}: ${ok.status} [inject ${ok.inject_id.slice(0, 8)}]`);
    for (const f of r.results.failed) process.stderr.write(`telepty: ${f.id}: ${f.error} [${f.code}]\n`);
    if (ids === 'all' && r.results.successful.length + r.results.failed.length === 0) printLine('no sessions');
  }
  process.exitCode = multicastExit(r);
}

/** The fast path: the same command from the same spec, without loading commander. Null: use the full CLI. */
export function parseFast(argv: string[]): Parameters<typeof run> | null {
  const parsed = parseWithSpec(spec, argv);
  if (!parsed) return null;
  const [targets, ...words] = parsed.positionals;
  return [targets, words, parsed.opts as unknown as InjectOptions];
}

export function register(program: Command): void {
  registerSpec(program, spec, (targets, words, opts) => run(targets as string | undefined, words as string[], opts as InjectOptions));
}
