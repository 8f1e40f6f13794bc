import type { HostInjectResult, LastScreenAnswer } from '../protocol/host-link.js';
import { TeleptyError } from '../protocol/errors.js';
import { boundedSince, type SinceScreen } from '../protocol/ops/state.js';
import type { CursorState, InjectOutcome } from '../terminal/inject-queue.js';
import { isoTime } from '../util/iso-time.js';

/**
 * What a session host follows up after its inject jobs (issue 19):
 * - where the screen was when each prompt was submitted (its cursor row and the rows above it), for `read --since`:
 *   the last INJECT_MARKS_KEPT submitted prompts of the session;
 * - the prompts the program's UserPromptSubmit hook reported, so a job whose very text the hook reported is
 *   `submitted` with `confirmed_by: "hook"` (also one the screen only saw `entered`).
 */

/** Submitted prompts whose screen position is kept (ids beyond are answered NOT_FOUND by `read --since`). */
export const INJECT_MARKS_KEPT = 100;
/**
 * With hooks reporting, a job's result waits this long for the UserPromptSubmit report of its text: Claude Code posts
 * it (http hook) within a few ms of taking the line, a `telepty hook` process within ~120-280 ms on a busy machine.
 * A report that never comes (a long paste Claude Code reports in another form: 3 of 9 prompts in test:agents) leaves
 * the screen's verdict; at 1 s those answers came 1 s late.
 */
export const HOOK_CONFIRM_WAIT_MS = 300;
/** Hook prompts kept for a job whose screen proof comes after them (they arrive in either order). */
const HOOK_PROMPTS_KEPT = 16;
/** A hook's prompt older than this is not the report of a job finishing now. */
const HOOK_PROMPT_TTL_MS = 30_000;
/** The oldest rows above the cursor at submission, matched to find where they moved when the scrollback dropped rows. */
const ANCHOR_MATCH_ROWS = 2;

interface Mark {
  /** The cursor's row (an index into the whole buffer, scrollback included). */
  y: number;
  /** The rows above it, top first (screen.ts's cursor state: up to 20). */
  above: string[];
  submittedAt: string;
}

export interface FollowDeps {
  cursor(): Promise<CursorState>;
  /** Every row of the buffer, scrollback included, top first (trailing blank rows dropped). */
  lines(): Promise<string[]>;
  /** The program's hooks report to this host (only then is a hook report waited for). */
  hooksReporting(): boolean;
  now(): number;
  warn(message: string): void;
}

/**
 * Claude Code 2.1.332 reports (and sends) a paste it showed as "[Pasted text #N]" wrapped as `\n\n<pasted_content
 * id="x">\nTEXT\n</pasted_content id="x">\n` (test:agents): the wrapping is its own, not part of the prompt. Unmatched,
 * such a prompt's answer waited HOOK_CONFIRM_WAIT_MS for a report that had come (3 of 9 sequential prompts).
 */
const PASTE_WRAP = /\n{0,2}<pasted_content id="([^"]*)">\n([\s\S]*?)\n<\/pasted_content id="\1">\n?/g;

/** A prompt as the program reports it and as it was typed: line endings, paste wrapping and the edges' blanks do not count. */
function sameText(a: string, b: string): boolean {
  const norm = (s: string): string => s.replace(/\r\n?/g, '\n').replace(PASTE_WRAP, '$2').trim();
  return norm(a) === norm(b);
}

export type FinishedOutcome = InjectOutcome & { confirmed_by?: HostInjectResult['confirmed_by'] };

export class InjectFollowUp {
  /** Texts of the jobs queued and not finished. */
  private readonly texts = new Map<string, string>();
  private readonly marks = new Map<string, Mark>();
  private prompts: { text: string; at: number }[] = [];
  private readonly waiting = new Set<{ text: string; resolve(at: number): void }>();

  constructor(private readonly deps: FollowDeps) {}

  /** A job was queued (a repeat of a known id is not). */
  expect(injectId: string, text: string): void {
    this.texts.set(injectId, text);
  }

  /** The program's UserPromptSubmit hook reported this prompt. */
  hookPrompt(text: string): void {
    const at = this.deps.now();
    for (const w of this.waiting) {
      if (sameText(w.text, text)) {
        this.waiting.delete(w);
        w.resolve(at);
        return;
      }
    }
    this.prompts = [...this.prompts.filter((p) => at - p.at < HOOK_PROMPT_TTL_MS), { text, at }].slice(-HOOK_PROMPTS_KEPT);
  }

  /** When the hook reported `text` at or after `since` (not taken: finish() still finds it), else null. */
  reportedSince(text: string, since: number): number | null {
    const seen = this.prompts.find((p) => p.at >= since && sameText(p.text, text));
    return seen ? seen.at : null;
  }

  /** A job ended: its screen position is marked, and (hooks reporting) its hook report waited for, bounded. */
  async finish(injectId: string, outcome: InjectOutcome): Promise<FinishedOutcome> {
    const text = this.texts.get(injectId);
    this.texts.delete(injectId);
    if (outcome.status !== 'submitted' && outcome.status !== 'entered') return outcome;
    await this.mark(injectId, outcome.submitted_at ?? outcome.written_at);
    if (text !== undefined && text !== '' && this.deps.hooksReporting()) {
      const at = await this.hookSaw(text);
      if (at !== null) {
        const ready = outcome.ready_at !== undefined ? { ready_at: outcome.ready_at } : {};
        return { status: 'submitted', written_at: outcome.written_at, submitted_at: outcome.submitted_at ?? isoTime(at), ...ready, confirmed_by: 'hook' };
      }
    }
    return outcome.status === 'submitted' ? { ...outcome, confirmed_by: 'screen' } : outcome;
  }

  /** When the hook reported `text` (already, or within HOOK_CONFIRM_WAIT_MS), else null. */
  private hookSaw(text: string): Promise<number | null> {
    const now = this.deps.now();
    const i = this.prompts.findIndex((p) => now - p.at < HOOK_PROMPT_TTL_MS && sameText(p.text, text));
    if (i >= 0) {
      const [seen] = this.prompts.splice(i, 1);
      return Promise.resolve(seen ? seen.at : null);
    }
    return new Promise((resolve) => {
      const w = {
        text,
        resolve: (at: number) => {
          clearTimeout(timer);
          resolve(at);
        },
      };
      const timer = setTimeout(() => {
        this.waiting.delete(w);
        resolve(null);
      }, HOOK_CONFIRM_WAIT_MS);
      this.waiting.add(w);
    });
  }

  private async mark(injectId: string, at: string): Promise<void> {
    try {
      const c = await this.deps.cursor();
      this.marks.delete(injectId);
      this.marks.set(injectId, { y: c.y, above: [...(c.above ?? [])], submittedAt: at });
      while (this.marks.size > INJECT_MARKS_KEPT) {
        const oldest = this.marks.keys().next();
        if (oldest.done) break;
        this.marks.delete(oldest.value);
      }
    } catch (err) {
      this.deps.warn(`inject ${injectId}: its screen position is not known (${err instanceof Error ? err.message : String(err)})`);
    }
  }

  /** What the session showed from the submission of `injectId` on, bounded (`read --since`). */
  async since(injectId: string): Promise<SinceScreen> {
    const m = this.marks.get(injectId);
    if (!m) {
      throw new TeleptyError('NOT_FOUND', `this session does not remember a submitted inject ${injectId} (it keeps the last ${INJECT_MARKS_KEPT} submitted prompts)`, { inject_id: injectId });
    }
    const lines = await this.deps.lines();
    const start = startOf(lines, m);
    const rows = start === null ? lines : lines.slice(start);
    return { inject_id: injectId, submitted_at: m.submittedAt, ...boundedSince(rows), lost: start === null };
  }

  /**
   * Where each remembered inject's answer starts among the rows a last screen keeps, `all` (every row) from index
   * `keptFrom` on: the daemon answers `read --since` of the exited session from them.
   */
  answerStarts(all: readonly string[], keptFrom: number): LastScreenAnswer[] {
    return [...this.marks].map(([injectId, m]) => {
      const start = startOf(all, m);
      return { inject_id: injectId, submitted_at: m.submittedAt, start: start === null ? null : start - keptFrom };
    });
  }
}

function rowsMatch(lines: readonly string[], at: number, rows: readonly string[]): boolean {
  if (at < 0) return false;
  for (let i = 0; i < rows.length; i++) if (lines[at + i] !== rows[i]) return false;
  return true;
}

/**
 * The first row the program wrote or changed after the submission: the cursor's row, or a row above it that is no
 * longer what it was (an input box's border the answer took over), going up until one is unchanged. The rows above
 * the mark are expected where they were (their oldest still match there); when the scrollback dropped its oldest
 * rows, everything moved up: they are looked for higher up. Null when they are gone (or redrawn beyond recognition).
 */
function startOf(lines: readonly string[], m: Mark): number | null {
  const top = m.y - m.above.length;
  const blank = (r: string): boolean => r.trim() === '';
  let here = 0;
  while (here < m.above.length && lines[top + here] === m.above[here]) here++;
  let base = top;
  if (!m.above.slice(0, here).some((r) => !blank(r)) && !m.above.every(blank)) {
    const anchor = m.above.slice(0, ANCHOR_MATCH_ROWS);
    base = -1;
    for (let at = Math.min(top, lines.length) - 1; at >= 0; at--) {
      if (rowsMatch(lines, at, anchor)) {
        base = at;
        break;
      }
    }
    if (base < 0) return null;
  }
  let start = base + m.above.length;
  for (let i = m.above.length - 1; i >= 0; i--) {
    if (lines[base + i] === m.above[i]) break;
    start = base + i;
  }
  return Math.min(start, lines.length);
}

