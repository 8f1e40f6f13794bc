import type { HookEventName, HookReport } from '../protocol/agent-state.js';
import { isHookEvent } from '../protocol/agent-state.js';
import type { ProgramName } from './programs.js';

/**
 * The hooks telepty adds to the AI CLIs it starts or wraps (issue 19), and what their reports mean. telepty never
 * edits a user's own settings: Claude Code gets a settings file through `--settings` (layered over the user's own,
 * whose hooks still run), Gemini CLI a system settings file through GEMINI_CLI_SYSTEM_SETTINGS_PATH, Codex its
 * `notify` program through `-c`. Each hook runs `<command> <program> <event>` with the report on stdin (Codex: as
 * the last argument), and TELEPTY_SESSION_ID in its environment names the session.
 */

interface HookCommand {
  type: 'command';
  command: string;
  /** A hook that cannot reach telepty gives up instead of holding the agent's turn (Claude Code: s; Gemini CLI: ms). */
  timeout: number;
}

/** Claude Code's `type: "http"` hook: it POSTs the hook's JSON to the URL itself, no process started. */
interface HookHttp {
  type: 'http';
  url: string;
  /** Seconds, as for a command hook. */
  timeout: number;
}

interface HookGroup {
  matcher?: string;
  hooks: (HookCommand | HookHttp)[];
}

export interface HookSettings {
  hooks: Record<string, HookGroup[]>;
}

/** A report is one small local request; a hook slower than this is not allowed to hold up the agent. */
const HOOK_TIMEOUT_S = 5;

/** Claude Code's events telepty listens to, and the Notification types that say blocked or idle. */
const CLAUDE_EVENTS: HookEventName[] = ['SessionStart', 'UserPromptSubmit', 'PreToolUse', 'PostToolUse', 'Stop', 'StopFailure', 'Notification', 'SessionEnd'];

/** Gemini CLI's names for the same moments. */
const GEMINI_EVENTS: Record<string, HookEventName> = {
  SessionStart: 'SessionStart',
  BeforeAgent: 'UserPromptSubmit',
  BeforeTool: 'PreToolUse',
  AfterTool: 'PostToolUse',
  AfterAgent: 'Stop',
  Notification: 'Notification',
  SessionEnd: 'SessionEnd',
};

/** Gemini CLI's notification types mapped onto Claude Code's. */
const GEMINI_NOTIFICATIONS: Record<string, string> = { ToolPermission: 'permission_prompt' };

function quoteArg(s: string): string {
  return /^[\w@%+=:,./-]+$/.test(s) ? s : `'${s.replace(/'/g, `'\\''`)}'`;
}

function group(command: string, program: ProgramName, event: string): HookGroup[] {
  const timeout = program === 'gemini' ? HOOK_TIMEOUT_S * 1000 : HOOK_TIMEOUT_S;
  return [{ hooks: [{ type: 'command', command: `${command} ${program} ${quoteArg(event)}`, timeout }] }];
}

/** The settings file content for Claude Code's `--settings`. `command` is the hook program (`telepty hook`), quoted. */
export function claudeHookSettings(command: string): HookSettings {
  const hooks: Record<string, HookGroup[]> = {};
  for (const e of CLAUDE_EVENTS) hooks[e] = group(command, 'claude', e);
  return { hooks };
}

/**
 * Claude Code's settings with `type: "http"` hooks (Claude Code 2.1 and later): each event's JSON is posted straight to
 * the daemon (`POST /api/sessions/:id/hooks?program=claude&event=E&instance=I`; a loopback caller needs no token), so
 * a report costs a local request instead of starting Node for `telepty hook` (~60 ms of CPU, issue 19's < 50 ms).
 */
export function claudeHttpHookSettings(daemonUrl: string, sessionId: string, instance: string | undefined): HookSettings {
  const hooks: Record<string, HookGroup[]> = {};
  for (const e of CLAUDE_EVENTS) {
    const q = new URLSearchParams({ program: 'claude', event: e, ...(instance ? { instance } : {}) });
    hooks[e] = [{ hooks: [{ type: 'http', url: `${daemonUrl}/api/sessions/${encodeURIComponent(sessionId)}/hooks?${q.toString()}`, timeout: HOOK_TIMEOUT_S }] }];
  }
  return { hooks };
}

/**
 * Gemini CLI's hooks (its settings' `hooks`, enabled by default in 0.61). Not added to sessions yet: Gemini CLI 0.61
 * ran them from the user's and the project's settings only (checked: none ran from GEMINI_CLI_SYSTEM_SETTINGS_PATH
 * or GEMINI_CLI_SYSTEM_DEFAULTS_PATH), and telepty edits neither; and only in a trusted folder.
 */
export function geminiHookSettings(command: string): HookSettings {
  const hooks: Record<string, HookGroup[]> = {};
  for (const e of Object.keys(GEMINI_EVENTS)) hooks[e] = group(command, 'gemini', e);
  return { hooks };
}

/**
 * Whether the user set Codex's `notify` (in `$CODEX_HOME/config.toml`, default `~/.codex`) or passed `-c notify=…`:
 * Codex runs one notify program, so telepty's would replace theirs; theirs is kept (the screen rules decide).
 */
async function codexHasOwnNotify(launch: HookedLaunch): Promise<boolean> {
  if (launch.args.some((a) => /^notify\s*=/.test(a))) return true;
  const home = launch.env.CODEX_HOME ?? (launch.env.HOME ? `${launch.env.HOME}/.codex` : undefined);
  if (!home) return false;
  const { promises: fs } = await import('node:fs');
  const text = await fs.readFile(`${home}/config.toml`, 'utf8').catch((err: NodeJS.ErrnoException) => {
    if (err.code === 'ENOENT' || err.code === 'ENOTDIR') return '';
    throw err;
  });
  // Top-level keys come before the first [table].
  const top = text.split(/^\s*\[/m)[0] ?? '';
  return /^\s*notify\s*=/m.test(top);
}

/**
 * Codex's `-c notify=[…]` value: argv of the program Codex runs with the JSON report as its last argument (on each
 * `agent-turn-complete`; Codex 0.171 honours it from the command line without a trust prompt). It reports only a
 * turn's end: the tracker takes it as idle, and the screen still shows working.
 */
export function codexNotifyArgs(argv: readonly string[]): string[] {
  return ['-c', `notify=${JSON.stringify([...argv, 'codex', 'notify'])}`];
}

function str(o: Record<string, unknown>, key: string): string | undefined {
  const v = o[key];
  return typeof v === 'string' ? v : undefined;
}

/**
 * A program's hook report (the JSON it gave the hook, and the event named on the hook's command line) as telepty's
 * HookReport, or null when it says nothing telepty uses.
 */
export function hookReportOf(program: ProgramName, event: string, input: unknown): HookReport | null {
  const o = typeof input === 'object' && input !== null && !Array.isArray(input) ? (input as Record<string, unknown>) : {};
  if (program === 'codex') {
    // Codex's notify: {"type":"agent-turn-complete","last-assistant-message":…,"input-messages":[…]}
    return str(o, 'type') === 'agent-turn-complete' ? { event: 'Stop', message: str(o, 'last-assistant-message') } : null;
  }
  const name: string | undefined = program === 'gemini' ? GEMINI_EVENTS[event] : event;
  if (!isHookEvent(name)) return null;
  const report: HookReport = { event: name };
  const prompt = str(o, 'prompt');
  if (name === 'UserPromptSubmit' && prompt !== undefined) report.prompt = prompt;
  if (name === 'Notification') {
    const type = str(o, 'notification_type');
    report.notification_type = type !== undefined && program === 'gemini' ? (GEMINI_NOTIFICATIONS[type] ?? type) : type;
    report.message = str(o, 'message');
  }
  if (name === 'StopFailure') report.message = str(o, 'error') ?? str(o, 'message');
  return report;
}

/** `TELEPTY_HOOKS=0` in a session's environment (or `spawn --no-hooks`): telepty adds no hooks to its program. */
export const HOOKS_ENV = 'TELEPTY_HOOKS';

export interface HookedLaunch {
  args: readonly string[];
  env: Readonly<Record<string, string | undefined>>;
  /** Where the settings file is written (the daemon's data, never the user's settings). */
  dir: string;
  sessionId: string;
  /** The argv that runs telepty (`node …/bin/telepty.js`): the hook runs it with `hook <program> <event>`. */
  telepty: readonly string[];
  /**
   * The session's host instance, given to the hook (`--instance`): the daemon finds the session by it after a
   * rename. A spawned session's processes carry it as TELEPTY_SESSION_INSTANCE anyway.
   */
  instance?: string;
  /**
   * Where this machine's programs reach the daemon over HTTP (`http://127.0.0.1:3848`): Claude Code's hooks then post
   * there themselves (claudeHttpHookSettings). Absent: they run `telepty hook`.
   */
  daemonUrl?: string | undefined;
}

/**
 * The arguments that add telepty's hooks to a program: for Claude Code, `--settings <file>` with the hooks (layered
 * over the user's own settings, whose hooks still run). None for other programs, when turned off, or when the user
 * gave `--settings` already.
 */
export async function agentHookArgs(launch: HookedLaunch, program: ProgramName): Promise<string[]> {
  if (launch.env[HOOKS_ENV] === '0') return [];
  const hook = [...launch.telepty, 'hook', ...(launch.instance ? ['--instance', launch.instance] : [])];
  if (program === 'codex') return (await codexHasOwnNotify(launch)) ? [] : codexNotifyArgs(hook);
  if (program !== 'claude' || launch.args.includes('--settings')) return [];
  const [{ promises: fs }, path, { ensureDir }] = await Promise.all([import('node:fs'), import('node:path'), import('../util/files.js')]);
  await ensureDir(launch.dir);
  const file = path.join(launch.dir, `${launch.sessionId}.claude-settings.json`);
  const settings = launch.daemonUrl ? claudeHttpHookSettings(launch.daemonUrl, launch.sessionId, launch.instance) : claudeHookSettings(hook.map(quoteArg).join(' '));
  await fs.writeFile(file, `${JSON.stringify(settings, null, 2)}\n`, { mode: 0o600 });
  return ['--settings', file];
}
