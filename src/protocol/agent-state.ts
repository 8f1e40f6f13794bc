import { TeleptyError } from './errors.js';
import { expectObject, optString, reqString } from './validate.js';

/**
 * What an agent in a session is doing (issue 19). `starting` until the program first shows it is ready; `idle`
 * ready for input; `working` a turn in progress; `blocked` a dialog waits for a person (permission, choice, trust);
 * `exited` the program ended; `unknown` no evidence either way (a plain program the manifest knows nothing of).
 */
export const AGENT_STATES = ['starting', 'idle', 'working', 'blocked', 'exited', 'unknown'] as const;
export type AgentState = (typeof AGENT_STATES)[number];

/** Why a wait for a state cannot end while the state is `unknown` (no rules, no hooks): said by `inject --when-idle` and `wait`. */
export function neverReaches(state: 'idle' | 'working' | 'blocked'): string {
  return `a program with no state rules, such as a shell, is never ${state}`;
}
export const NEVER_IDLE = neverReaches('idle');

/** Where a state came from, strongest first: the program's own hooks, terminal signals, the rendered screen. */
export const STATE_SOURCES = ['hook', 'terminal', 'screen'] as const;
export type StateSource = (typeof STATE_SOURCES)[number];

/** The `until` of `telepty wait`: a state, or any change at all. */
export type WaitUntil = AgentState | 'any-change';

export interface AgentStateInfo {
  state: AgentState;
  /** Epoch ms when this state began. */
  since: number;
  /** null only for `starting` and `unknown` before any evidence. */
  source: StateSource | null;
  /** For `blocked`, the question as shown (bounded); otherwise null. */
  detail: string | null;
  /** Which rule or signal decided: `telepty state ID --explain`. */
  reason: string;
}

/** A dialog's question is shown, not stored: this many characters keep a permission prompt's whole question. */
export const STATE_DETAIL_MAX_CHARS = 300;

export function isAgentState(v: unknown): v is AgentState {
  return typeof v === 'string' && (AGENT_STATES as readonly string[]).includes(v);
}

export function isStateSource(v: unknown): v is StateSource {
  return typeof v === 'string' && (STATE_SOURCES as readonly string[]).includes(v);
}

export function parseWaitUntil(v: unknown): WaitUntil {
  if (v === 'any-change' || isAgentState(v)) return v;
  throw new TeleptyError('INVALID_FIELD', `"until" must be one of ${[...AGENT_STATES, 'any-change'].join(', ')}`, { field: 'until' });
}

export function isAgentStateInfo(v: unknown): v is AgentStateInfo {
  if (typeof v !== 'object' || v === null) return false;
  const o = v as Record<string, unknown>;
  return (
    isAgentState(o.state) &&
    typeof o.since === 'number' &&
    (o.source === null || isStateSource(o.source)) &&
    (o.detail === null || typeof o.detail === 'string') &&
    typeof o.reason === 'string'
  );
}

/**
 * What a program's hook reports (Claude Code's hook names; other CLIs' notify programs are mapped onto them).
 * `prompt` is the submitted text for UserPromptSubmit; `notification_type` and `message` for Notification.
 */
export const HOOK_EVENTS = ['SessionStart', 'UserPromptSubmit', 'Stop', 'StopFailure', 'Notification', 'SessionEnd', 'PreToolUse', 'PostToolUse'] as const;
export type HookEventName = (typeof HOOK_EVENTS)[number];

export interface HookReport {
  event: HookEventName;
  prompt?: string | undefined;
  notification_type?: string | undefined;
  message?: string | undefined;
}

export function isHookEvent(v: unknown): v is HookEventName {
  return typeof v === 'string' && (HOOK_EVENTS as readonly string[]).includes(v);
}

/** A hook's prompt is compared with the injected text, never stored whole: a prompt larger than this is cut. */
const HOOK_PROMPT_MAX_CHARS = 1_000_000;

export function parseHookReport(body: unknown): HookReport {
  const o = expectObject(body, 'the hook report');
  const event = reqString(o, 'event', { max: 64 });
  if (!isHookEvent(event)) {
    throw new TeleptyError('INVALID_FIELD', `"event" must be one of ${HOOK_EVENTS.join(', ')}`, { field: 'event' });
  }
  return {
    event,
    prompt: optString(o, 'prompt', { max: HOOK_PROMPT_MAX_CHARS }),
    notification_type: optString(o, 'notification_type', { max: 64 }),
    message: optString(o, 'message', { max: 4_096 }),
  };
}
