import { STATE_DETAIL_MAX_CHARS } from '../protocol/agent-state.js';
import type { ProgramName } from './programs.js';

/**
 * Screen rules for agent state (issue 19), the weakest evidence: used when a program gives no hook and no
 * terminal signal. One entry per program, versioned: when a CLI changes its screen, its rules change here with
 * the version they were written against. `telepty state ID --explain` names the rule that decided.
 *
 * Known false positives each rule guards against:
 * - prose that looks like a dialog (an answer quoting "Do you want to proceed?"): a dialog needs its question AND
 *   its selectable options (`❯ 1. Yes`) right below it, near the bottom of the screen;
 * - a status bar read as idle: idle needs the program's input prompt, never a footer alone;
 * - redraw flicker read as idle: the tracker (state-tracker.ts) holds a screen's `idle` until it stays so.
 */

export const STATE_MANIFEST_VERSION = 1;

export type ScreenState = 'idle' | 'working' | 'blocked';

export interface ScreenRule {
  id: string;
  state: ScreenState;
  /** Only the bottom `within` non-empty rows are searched (a program's live area; older rows are history). */
  within: number;
  match: RegExp;
  /** A blocked rule's options: this must match on one of the `rows` rows right below the question. */
  options?: { match: RegExp; rows: number };
}

export interface ProgramManifest {
  program: ProgramName;
  /** The program's version the rules were written against. */
  writtenFor: string;
  /** False while the rules model the program from its published screens, not yet checked on the real one. */
  measured: boolean;
  rules: ScreenRule[];
}

/** A live area: dialogs, the spinner and the input box of these CLIs fit in their bottom 20 rows. */
const LIVE_ROWS = 20;
/** A dialog's first option is at most this many rows below its question (a command preview may sit between). */
const OPTION_ROWS = 10;

/** The selected first option of a list dialog: `❯ 1. Yes`, `› 1. Yes, proceed`, `● 1. Allow once`. */
const FIRST_OPTION = /^[\s│┃|]*[❯›>●▶]\s*1\.\s+\S/;

const CLAUDE: ProgramManifest = {
  program: 'claude',
  writtenFor: 'Claude Code 2.x',
  measured: false,
  rules: [
    {
      id: 'claude.dialog',
      state: 'blocked',
      within: LIVE_ROWS,
      match: /(Do you want to [^?]{1,80}\?|Do you trust the files in this folder\?|Would you like to [^?]{1,80}\?)/,
      options: { match: FIRST_OPTION, rows: OPTION_ROWS },
    },
    { id: 'claude.spinner', state: 'working', within: 8, match: /\b[Ee]sc to interrupt\b/ },
    { id: 'claude.prompt', state: 'idle', within: 8, match: /^\s*[│┃]\s*>\s/ },
    { id: 'claude.prompt-bare', state: 'idle', within: 8, match: /^\s*❯\s/ },
  ],
};

const CODEX: ProgramManifest = {
  program: 'codex',
  writtenFor: 'Codex CLI 0.5x',
  measured: false,
  rules: [
    {
      id: 'codex.approval',
      state: 'blocked',
      within: LIVE_ROWS,
      match: /(Would you like to (run the following command|make the following edits)\?|Allow command\?)/,
      options: { match: FIRST_OPTION, rows: OPTION_ROWS },
    },
    { id: 'codex.working', state: 'working', within: 8, match: /\(\d+s\s*•\s*[Ee]sc to interrupt\)|\b[Ee]sc to interrupt\b/ },
    { id: 'codex.composer', state: 'idle', within: 8, match: /⏎ send|\bfor shortcuts\b/ },
  ],
};

const GEMINI: ProgramManifest = {
  program: 'gemini',
  writtenFor: 'Gemini CLI 0.x',
  measured: false,
  rules: [
    {
      id: 'gemini.confirm',
      state: 'blocked',
      within: LIVE_ROWS,
      match: /(Apply this change\?|Allow execution[^?]{0,80}\?|Do you want to proceed\?)/,
      options: { match: FIRST_OPTION, rows: OPTION_ROWS },
    },
    { id: 'gemini.working', state: 'working', within: 8, match: /\([Ee]sc to cancel, \d+s\)/ },
    { id: 'gemini.input', state: 'idle', within: 8, match: /Type your message or @path\/to\/file/ },
  ],
};

const OPENCODE: ProgramManifest = {
  program: 'opencode',
  writtenFor: 'OpenCode 0.x',
  measured: false,
  rules: [
    {
      id: 'opencode.permission',
      state: 'blocked',
      within: LIVE_ROWS,
      match: /(Permission required|Allow (?:once|always)\b)/,
    },
    { id: 'opencode.working', state: 'working', within: 8, match: /\b[Ee]sc (?:to )?interrupt\b/ },
  ],
};

const SHELL: ProgramManifest = {
  program: 'shell',
  writtenFor: 'bash, zsh, fish, sh',
  measured: true,
  rules: [],
};

const OTHER: ProgramManifest = { program: 'other', writtenFor: 'any', measured: true, rules: [] };

export const STATE_MANIFEST: Record<ProgramName, ProgramManifest> = {
  claude: CLAUDE,
  codex: CODEX,
  gemini: GEMINI,
  opencode: OPENCODE,
  shell: SHELL,
  other: OTHER,
};

/** Which state a screen shows, by which rule, and for `blocked` the question. */
export interface ScreenJudgment {
  state: ScreenState;
  rule: string;
  detail: string | null;
}

/** Blocked outranks working outranks idle: a dialog can sit above a stale spinner line, never the reverse. */
const RANK: Record<ScreenState, number> = { blocked: 3, working: 2, idle: 1 };

/** Box-drawing and padding around a dialog's question, not part of it. */
function cleanDetail(row: string): string {
  const text = row.replace(/^[\s│┃|╭╮╰╯─]+|[\s│┃|╭╮╰╯─]+$/g, '').replace(/\s+/g, ' ');
  return text.length > STATE_DETAIL_MAX_CHARS ? `${text.slice(0, STATE_DETAIL_MAX_CHARS - 1)}…` : text;
}

/**
 * The state a program's screen shows, by its manifest, or null when no rule matches (no evidence). `rows` are the
 * screen's rows top to bottom as text (trailing spaces trimmed or not).
 */
export function judgeScreen(program: ProgramName, rows: readonly string[]): ScreenJudgment | null {
  const live: string[] = [];
  for (let i = rows.length - 1; i >= 0 && live.length < LIVE_ROWS; i--) {
    const row = rows[i] as string;
    if (row.trim().length > 0) live.unshift(row);
  }
  let best: ScreenJudgment | null = null;
  for (const rule of STATE_MANIFEST[program].rules) {
    if (best && RANK[best.state] >= RANK[rule.state]) continue;
    const from = Math.max(0, live.length - rule.within);
    for (let i = from; i < live.length; i++) {
      const row = live[i] as string;
      const m = rule.match.exec(row);
      if (!m) continue;
      if (rule.options) {
        const below = live.slice(i + 1, i + 1 + rule.options.rows);
        const opts = rule.options.match;
        if (!below.some((r) => opts.test(r))) continue;
      }
      best = { state: rule.state, rule: rule.id, detail: rule.state === 'blocked' ? cleanDetail(row) : null };
      break;
    }
  }
  return best;
}
