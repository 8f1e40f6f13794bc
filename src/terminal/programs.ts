import path from 'node:path';
import { launchedCommand } from '../protocol/ids.js';

/**
 * What the inject queue must know about the program in a session to type a prompt and prove it was submitted:
 * the one place for per-program knowledge (issue 25). Each value says what it was measured on; a value that was
 * not measured on the real program says so.
 */
export interface ProgramProfile {
  /** Which entry of PROGRAMS this is. */
  name: ProgramName;
  /**
   * After a bracketed paste has shown in the box, wait this long before the Enter: an Enter the program reads too
   * soon after a paste is taken as part of the paste (a newline), not as a submit.
   */
  pasteEnterMs: number;
  /**
   * Without bracketed paste the text arrives as a burst of keys; an Enter this soon after the burst's last echo is
   * taken as a newline. Wins over the queue's burstGuardMs when larger.
   */
  burstEnterMs: number;
  /**
   * The program takes an Enter that comes too soon after a paste as a newline (Gemini): when that shows (the text
   * above a new empty row of the box), a Backspace takes the newline out and the Enter goes again this long after
   * the text shows once more, one entry per retry; after the last, `entered`. Empty: an Enter is never retried.
   */
  enterRetryMs: readonly number[];
  /** What the program shows instead of a large paste's text. */
  placeholder: RegExp | null;
  /**
   * The program always echoes what it is given: Enter is never written before the text (or its placeholder) shows,
   * up to the queue's hard bound. False: a program that shows nothing within noEchoMs reads silently (echo off).
   */
  echoes: boolean;
  /**
   * Rows directly above the cursor row that belong to the input box: the text that left the box must be gone
   * from them too (a newline inside the box leaves the text on the row above). 0 for a line editor, whose
   * submitted line stays on the row above as history.
   */
  boxRowsAbove: number;
  /**
   * Enter always ends the line (a shell's line editor, a canonical-mode reader): the cursor leaving the row of the
   * text, or the text leaving the cursor row, is the submission.
   */
  lineEditor: boolean;
  /**
   * The next prompt is typed no sooner than this after the last Enter (and once the input row is empty and still):
   * a program still finishing a submit (the box reset) would wipe or absorb a paste typed into it.
   */
  quietAfterSubmitMs: number;
  /**
   * When the program's own hook (Claude Code's UserPromptSubmit) proved the submit: the next prompt is typed no
   * sooner than this after that report (and once the input row is empty and still), instead of quietAfterSubmitMs
   * after the Enter. null: quietAfterSubmitMs always.
   */
  quietAfterHookMs: number | null;
  /**
   * After a hook-proven submit whose box reset shows (the text gone from the box), the input row must hold still this
   * long before the next prompt; null: ROW_STILL_AFTER_SUBMIT_MS, as after a submit the screen proved.
   */
  rowStillAfterHookMs: number | null;
  /**
   * After a submit the screen proved, the input row must hold still this long before the next prompt; null:
   * ROW_STILL_AFTER_SUBMIT_MS (30 ms).
   */
  rowStillAfterSubmitMs: number | null;
  /**
   * The text counts as taken once its end (or placeholder) shows and the row has held still this long; null: the
   * queue's settleMs (15 ms).
   */
  echoSettleMs: number | null;
  /**
   * The program's busy mark (a turn is running), looked for on the cursor row, the few rows above it and the rows
   * below it (a footer): a prompt typed while it shows is lost or merged, so the next one waits until it is gone.
   * null: none known.
   */
  busy: RegExp | null;
  /**
   * The program takes a prompt submitted while its busy mark shows and queues it as a message of its own for after the
   * turn: the next prompt waits for the turn to have started (busyAppearMs), not for it to end.
   */
  queuesWhileBusy: boolean;
  /**
   * What the program shows while it holds prompts it queued during a turn, when it sends all it holds as ONE message at
   * the turn's end (Gemini CLI): a prompt is typed only while this does not show, so it never holds two. Seen after an
   * Enter (and not before it), with the text gone from the box, it is the program's own proof that it took the prompt.
   * null: none.
   */
  queuedMark: RegExp | null;
  /**
   * How the conversation above the box starts a row showing a submitted prompt, followed by the prompt's first
   * characters (Gemini CLI: "> "): once the text left the box, such a row that was not there before the Enter is the
   * program's proof of the submit, without waiting for the text to stay gone (a newline in the box never draws one).
   * null: none known.
   */
  historyRow: RegExp | null;
  /**
   * What the program's input box shows on its input row only while the box is empty (its placeholder hint, drawn for
   * an empty input and never for one holding text): while it shows, the box has not taken the text that was typed,
   * however long the screen holds still (the queue's STILL_NO_TEXT_MS fallback does not apply). Not a proof of a submit
   * (see Gemini CLI below). null: none known.
   */
  emptyBoxHint: RegExp | null;
  /**
   * The program draws every screen as a synchronized-output frame (DEC mode 2026: CSI ? 2026 h ... l): a screen read
   * while no frame is open, after a frame ended since the Enter, is one the program meant to show, never a redraw
   * caught midway, so the text gone from its box there proves the submit at once (no SUBMIT_PROOF_STILL_MS).
   */
  framedScreen: boolean;
  /**
   * The cursor row of the program's input box: a prompt is typed only while the cursor is on such a row (a program
   * switching views shows no box for seconds, and what is typed then is lost). null: any row.
   */
  inputRow: RegExp | null;
  /**
   * After a proven submit, the next prompt waits up to this long from that Enter for the busy mark to show (the
   * turn to start) before the mark's absence counts as idle: a program may take seconds to start its turn, and a
   * prompt typed before that is lost. 0: no wait.
   */
  busyAppearMs: number;
  /** Watch at least this long for the proof of a submit before `entered` (the queue's submitWatchMs when larger). */
  submitWatchMs: number;
}

export type ProgramName = 'claude' | 'codex' | 'gemini' | 'opencode' | 'shell' | 'other';
/** The AI CLIs: their input box is a line editor wherever they draw it, the alternate screen too (OpenCode). */
export const AGENT_PROGRAMS: ReadonlySet<ProgramName> = new Set(['claude', 'codex', 'gemini', 'opencode']);

/**
 * The input row must hold still this long after a submit before the next paste, for OpenCode, whose box reset was not
 * measured on its own (its trouble was elsewhere: the merge during the submit, covered by waiting for the box to be
 * empty): a margin over the single redraw its submit makes.
 */
const QUIET_AFTER_SUBMIT_MS = 50;

/**
 * Gemini CLI 0.61: the waits before each Enter sent again after one was taken as a newline (and undone; the text back
 * on its row and still settleMs). Its 40 ms window is a timer set when it handled the paste, which clears a state that a
 * re-render hands to its key handler; a newline means the Enter came before that. The retry's Enter goes after the
 * newline showed, held 30 ms, and the Backspace's own redraw showed: the loop turn that handled the Backspace ran the
 * timer first (due 40 ms after the paste, >= 80 ms before) and drew its state with the Backspace's, so the first retry
 * needs no wait of its own beyond a margin for that render's effects (15 ms; it was 100, which cost every retried job
 * 85 ms: 22 of 34 jobs retried in a paused run, Dec 5, fifth session); then the 300 ms that passed 34 of 34 on a loaded
 * machine before this retry existed.
 */
const ENTER_RETRY_MS: readonly number[] = [15, 300, 300, 300];

export const PROGRAMS: Record<ProgramName, ProgramProfile> = {
  // Claude Code 2.1.197 (issue 25): no Enter-after-paste window seen (Enter 15 ms after the echo submitted in 400/400
  // runs on a quiet machine); it resets its input box after a submit, asynchronously: a paste typed during the
  // reset was lost, and waiting until the input row was empty and still for 150 ms scored 80/80 with the program
  // paused 150 ms every 500 ms: 150 ms after the Enter, with the row empty, covers that window. Large pastes show as "[Pasted text #N +M lines]". Box: a bordered box, its top
  // border right above the input row. Claude Code 2.1.332 (npm run test:agents, telepty's http UserPromptSubmit hook):
  // the hook reports 10-90 ms after the Enter, and typing the next prompt as soon as it reported and the input row was
  // empty and still for 30 ms lost nothing: 0 failures of 34 in 2 runs (queued p50 177 -> 129-140 ms) and 0 of 34 with
  // Claude paused 150 ms every 500 ms: quietAfterHookMs 0. The queue also waits for the box
  // to show the reset (the text gone from it), as a hook may report before the box is cleared (the Claude-Code-like
  // fixture does: without that wait it merged prompts in all 4 of its submission tests); with it, 0 of 102 failed
  // (3 runs, one paused) and queued p50 113-121 ms (152 paused); with its <pasted_content> reports matched too
  // (inject-follow.ts), two full test:agents runs: sequential 132-179, queued 105-146 ms, 0 failures. Without a hook
  // report the 150 ms stand. Dec 5, second session (test:agents with a per-job phase trace, queued, p50): the box showed
  // the reset 15-17 ms after the hook, then the row had to hold still 30 ms; its echo of the paste 30-57 ms, the settle
  // 17 ms, Enter -> hook 20-32 ms. With no still interval once the reset shows (rowStillAfterHookMs 0: the box's state
  // is reset when the screen shows it empty; the Claude-Code-like fixture, whose reset comes after its hook, passes)
  // and the Enter as soon as the echo shows (echoSettleMs 0, pasteEnterMs 0): 0 failures of 34 in each of 2 runs and
  // of 2 runs paused 150 ms every 500 ms; queued p50 144 -> 86-124 ms (84-109 paused). What is left is Claude's own: the
  // reset after the hook, its echo, its Enter -> hook (together ~70-100 ms).
  // Dec 5, fourth session: rowStillAfterHookMs 8 (two polls): a redraw split over two PTY reads shows the box empty
  // for a moment; taken for the reset, the next paste went before the real one and was wiped, and its watch saw the
  // text go (a false `submitted`): 1 of 60 queued in 2 of 3 runs of the Claude-Code-like fixture bench (and on the
  // build before), 0 of 300 in 5 runs with the 8 ms (fixture p50 106 -> 115 ms). Unit test: "caught mid-redraw".
  claude: {
    name: 'claude',
    pasteEnterMs: 0,
    burstEnterMs: 0,
    enterRetryMs: [],
    placeholder: /\[Pasted text #\d+[^\]]*\]/,
    echoes: true,
    boxRowsAbove: 1,
    lineEditor: false,
    quietAfterSubmitMs: 150,
    quietAfterHookMs: 0,
    rowStillAfterHookMs: 8,
    rowStillAfterSubmitMs: null,
    echoSettleMs: 0,
    busy: null,
    queuesWhileBusy: false,
    queuedMark: null,
    historyRow: null,
    emptyBoxHint: null,
    framedScreen: false,
    busyAppearMs: 0,
    inputRow: null,
    submitWatchMs: 0,
  },
  // Codex CLI 0.171 (LESSONS.md, issue 25): no bracketed paste in its composer; an Enter within ~120 ms of a burst
  // of keys is a newline (measured), so 150 ms. Everything passed in issue 25's runs with these values. Codex 0.171.0
  // (test:agents, Dec 5, second session) takes a bracketed paste: it shows in 6-10 ms, and the Enter as soon as it
  // shows (echoSettleMs 0, pasteEnterMs 0, was 15 + 15) had 0 failures of 34 in each of 2 runs and of 2 runs paused 150
  // ms every 500 ms. Without the 50 ms after the Enter too (quietAfterSubmitMs 0) queued p50 was 46-47 ms (0 failures, 1
  // run and 1 paused); kept at 50 (the margin for a box reset no run measured on its own): queued p50 94 -> 60-62 ms
  // (59-64 paused).
  // Dec 5, fourth session: Codex 0.171.0 draws every screen as a synchronized-output frame (CSI ? 2026 h ... l; a
  // recording of test:agents: all of its drawing inside frames, 26 of 95 frames split across two PTY reads), so the
  // frame that shows its box empty after the Enter is the submit (framedScreen), proven when seen instead of after the
  // text stayed gone 30 ms; its composer empties in that same frame, so no quiet interval after the Enter
  // (quietAfterSubmitMs 0, was 50; the input row still holds still 30 ms before the next paste): sequential p50 58 -> 47-54
  // ms, queued 64 -> 43-46 (bench/agents-real.md), 0 failures, also paused.
  codex: {
    name: 'codex',
    pasteEnterMs: 0,
    burstEnterMs: 150,
    enterRetryMs: [],
    placeholder: /\[Pasted Content \d+ chars\]/,
    echoes: true,
    boxRowsAbove: 1,
    lineEditor: false,
    quietAfterSubmitMs: 0,
    quietAfterHookMs: null,
    rowStillAfterHookMs: null,
    rowStillAfterSubmitMs: null,
    echoSettleMs: 0,
    busy: null,
    queuesWhileBusy: false,
    queuedMark: null,
    historyRow: null,
    emptyBoxHint: null,
    framedScreen: true,
    busyAppearMs: 0,
    inputRow: null,
    submitWatchMs: 0,
  },
  // Gemini CLI 0.61 (issue 25): an Enter within ~40 ms of a bracketed paste is a newline (its InputPrompt marks a
  // paste "unsafe" and clears the mark with a 40 ms timer, then a React re-render; by hand through tmux: after 10-20 ms
  // a newline, after >= 50 ms a submit). The re-render lags on a busy machine, most of all for the first paste of a
  // fresh process: with the real CLI (npm run test:agents, 34 prompts, load average 4-7) 60 ms after the paste showed
  // left 31 of 34 in the box or lost, 300 ms passed 34 of 34; 150 ms still failed at a load average of 15. Counted
  // from when the paste shows. No screen shows when the mark is cleared (that re-render draws nothing new), and its
  // kitty-keyboard-protocol trust does not help either: Gemini 0.61 reads that state once, when its InputPrompt first
  // renders, before it enables the protocol (a patched copy logged kitty=false on every render after a host answered
  // `CSI ? u`). But the newline shows (the text above a new empty row): so the first Enter goes 50 ms after the paste
  // showed (node-pty by hand, quiet machine: 30 ms a newline, 40-60 ms submitted 7 of 7), and a newline is undone with a
  // Backspace and the Enter sent again (enterRetryMs). test:agents: 0 failures of 34 at load 6.8 (sequential p50 387 ->
  // 170 ms, queued 383 -> 157), and 0 of 34 with Gemini paused 150 ms every 500 ms (6 Enters retried, each once).
  // A paste over 500 characters shows as "[Pasted Text: ...]". Box: bordered, top border above the row.
  // While a turn runs it shows "⠋ Thinking... (esc to cancel, 0s)" 4 rows above the input row; prompts typed then are
  // queued and two queued ones went to the model as one merged message (test:agents, load average 4: b1+b2): busy.
  // The prompts it queued show between the spinner and the box, pushing the spinner further up (up to 20 rows seen).
  // Dec 5, second session (test:agents, queued, p50): its echo 7-15 ms, this wait 34 ms after it, Enter -> proof 8-15 ms
  // (then the text gone 30 ms), and the next prompt waits for the input row to hold still 30 ms, which its answer being
  // drawn above keeps moving (the box's row moved 3-16 ms into that wait in most jobs). pasteEnterMs 40 took 2 Enters of
  // 34 as newlines (each undone and retried; 0 failures) against 0-1 at 50 and saved ~9 ms: kept at 50.
  // Dec 5, third session (test:agents with a per-job phase trace): the next prompt waited 30-50 ms for the input row to
  // hold still 30 ms after a submit (and 50 ms after its Enter), while Gemini drew its answer above the box. Gemini
  // 0.61 empties its box in the same key handler that takes the prompt (handleSubmit: no later reset to wipe a paste),
  // and a prompt submitted during its turn goes into its message queue, shown above the box as "Queued (press ↑ to
  // edit):", which it sends when the turn ends, all it holds joined into ONE message (useMessageQueue): so the next
  // prompt is typed as soon as the previous one is proven, with no still interval (rowStillAfterSubmitMs 0,
  // quietAfterSubmitMs 0), also during a turn (queuesWhileBusy), but never while its queue shows (queuedMark; that
  // showing after the Enter is its own proof of the submit). test:agents: 0 failures, queued p50 128-147 -> 111 ms,
  // at once 136 -> 114 (the wait before the paste ~40 -> ~0 ms; Gemini's echo of a paste typed while it finishes its
  // turn 10-40 ms). A submitted prompt shows in its conversation as "> " and its text (UserMessage; " > " with a
  // background colour), which a newline in the box never draws: that row, new since the Enter, with the text gone from
  // the box, proves the submit without the 30 ms the text must otherwise stay gone (historyRow).
  // Dec 5, fifth session: on a machine at load 7-10 (other test suites beside test:agents), Gemini showed a paste only
  // 410-555 ms after it was written, and a change elsewhere on the screen that then held still 400 ms was taken for
  // its echo (the queue's STILL_NO_TEXT_MS) with the box still showing its empty hint (" >   Type your message or
  // @path/to/file"): the Enter went before the text, with no mark of it to watch, its submit was "proven" by the box's
  // change, and the next paste merged into it (one run: c2 and c3 sent as one message; another: three such pairs).
  // Gemini 0.61 draws that hint only for an empty buffer (`buffer.text.length === 0 ? placeholder`), so while it shows
  // the text is not taken (emptyBoxHint; for every program that echoes, the queue also takes a cursor row that reads
  // as before the paste for no echo). The same hint shown after the Enter is NOT its proof: tried (6-16 ms after the Enter against 17-44
  // for the conversation row), and a paused run at load 8 drew the box empty with the hint 9 ms after an Enter whose
  // prompt then never reached the model (the box at the end showed it, above an empty row); see bench/agents-real.md.
  // The first Enter sent again after a newline waits 15 ms, not 100 (ENTER_RETRY_MS).
  gemini: {
    name: 'gemini',
    pasteEnterMs: 50,
    burstEnterMs: 0,
    enterRetryMs: ENTER_RETRY_MS,
    placeholder: /\[Pasted Text[^\]]*\]/,
    echoes: true,
    boxRowsAbove: 1,
    lineEditor: false,
    quietAfterSubmitMs: 0,
    quietAfterHookMs: null,
    rowStillAfterHookMs: null,
    rowStillAfterSubmitMs: 0,
    echoSettleMs: null,
    busy: /\(esc to cancel, \d+s\)/,
    queuesWhileBusy: true,
    queuedMark: /Queued \(press ↑ to edit\):/,
    historyRow: /^ ?> /,
    emptyBoxHint: /^ ?>   Type your (message|shell command)\b/,
    framedScreen: false,
    busyAppearMs: 0,
    inputRow: null,
    submitWatchMs: 0,
  },
  // OpenCode 1.18 (issue 25): a paste that arrived while the previous submit was being handled was merged into it
  // (in every run of 20 back to back): hence the quiet row after a submit. OpenCode 1.18.33 (npm run test:agents,
  // load average 4): while a turn runs its footer, below the box, shows "■■⬝⬝⬝⬝⬝⬝  esc interrupt", and a prompt typed
  // then was lost or merged with the next (2nd and 3rd prompts); after its first submit it switches from its home
  // view to the session view, showing no input box at all for up to 5 s (prompts typed then were lost), and its box
  // emptied 3.1 s after that first Enter: hence the busy mark, the box's row (its "┃" border) and a 10 s watch. Its
  // first turn showed the busy mark only 9.3 s after the Enter (the view switch, then an idle-looking box for 4 s,
  // where the 2nd prompt was taken off the box and lost): the next prompt waits up to 15 s for the mark to show.
  // No Enter-after-paste window was seen: with the Enter as soon as the paste showed and held still 15 ms (settleMs,
  // pasteEnterMs 0), test:agents had 0 failures of 34, and 0 of 34 with OpenCode paused 150 ms every 500 ms; 15 ms (within
  // settleMs, so it costs nothing) keeps a margin. Where its time goes (test:agents, queued, p50): waiting for its turn
  // to end (the busy mark) 143-456 ms, depending on the load; the echo 23-51 ms; settle 16; Enter -> proof 54-112 ms
  // (its own handling, then the text gone 30 ms): its turn, not telepty's waits, keeps it over 100 ms, and a prompt typed
  // during the turn is lost. Large pastes show as "[Pasted ~N lines]" (not measured). Dec 5, second session: the Enter
  // as soon as the paste shows (echoSettleMs 0 too, was 15): 0 failures of 34 in each of 2 runs and of 2 runs paused;
  // telepty's part (the box ready -> submitted: echo ~21, Enter -> proof 23-40 ms) 56-65 ms, but its turn (the busy mark
  // 92-283 ms after the previous submit's proof) keeps queued p50 at 217-322 ms. Dec 5, third session: OpenCode 1.18.33
  // queues a prompt submitted during its turn (its TUI marks such a user message " QUEUED " and sends it after the turn
  // as a message of its own). Typed without waiting for the busy mark to go (test:agents), 20 queued and 5 at once
  // each reached the model once (0 failures, also paused 150 ms every 500 ms); what was lost was the first prompt after
  // the very first submit, typed during the switch from the home view to the session view: so the next prompt still
  // waits for the turn to have started (the busy mark seen after the Enter, busyAppearMs), not for it to end
  // (queuesWhileBusy): queued p50 186 -> 74-174 ms (123 paused, was 363-371).
  // Dec 5, fourth session: OpenCode 1.18.33 draws every screen as a synchronized-output frame (a recording: all of its
  // drawing inside frames, some split across PTY reads), but a whole frame showing its box empty is NOT its proof
  // (framedScreen false): with it (and no quiet interval after the Enter), a paused run answered a 6-line prompt
  // `submitted` that OpenCode then sent merged with the next one (the merged build's paused test:agents, 14:47 UTC), and
  // an earlier session saw OpenCode show a 640-character paste gone for 20 ms and then back. So its text stays gone
  // 30 ms, and the 50 ms after the Enter stay. Dec 6: the merges seen at 60 queued (and once in the sequential run, a
  // 4,884-character paste merged with the next prompt) were Enters sent before OpenCode had handled the paste: the
  // prompt's last words were read on a conversation row where the cursor sat midway through a frame, so the Enter was
  // lost and the box then showed the paste as "[Pasted ~25 lines]". The queue now reads no screen midway through a
  // frame, and a placeholder left in the box is no proof (inject-queue.ts shownState, watchSubmit). That also explains
  // the "paste gone and then back" and the merged frame-proven prompt above, so a whole frame is its proof again
  // (framedScreen): OpenCode only, 60 one after the other + 60 queued + 5 at once, 0 failures normal and paused,
  // queued p50 96 / 89 ms (99 without). Dec 6, seventh session (a per-job phase trace, 60 + 60): of its 101 ms from
  // ready to submitted, 29 were the input row's still interval after the previous proof (its answer drawn above the
  // box keeps moving it), 22 its echo, 46 its Enter -> proof. A whole frame showing the box empty is OpenCode's own
  // finished screen, not a redraw caught midway, and the next prompt still waits for its turn to show (busyAppearMs)
  // and 50 ms after the Enter: no still interval (rowStillAfterSubmitMs 0): 60 + 60 + 5, 0 failures normal and paused,
  // p50 sequential / queued 86 / 87 ms (paused 81 / 84), against 106 / 100.
  opencode: {
    name: 'opencode',
    pasteEnterMs: 0,
    burstEnterMs: 0,
    enterRetryMs: [],
    placeholder: /\[Pasted[^\]]*\]/,
    echoes: true,
    boxRowsAbove: 1,
    lineEditor: false,
    quietAfterSubmitMs: QUIET_AFTER_SUBMIT_MS,
    quietAfterHookMs: null,
    rowStillAfterHookMs: null,
    rowStillAfterSubmitMs: 0,
    echoSettleMs: 0,
    busy: /\besc interrupt\b/,
    queuesWhileBusy: true,
    queuedMark: null,
    historyRow: null,
    emptyBoxHint: null,
    framedScreen: true,
    busyAppearMs: 15_000,
    inputRow: /^\s*[┃│]/,
    submitWatchMs: 10_000,
  },
  // bash/zsh/fish with readline or its like: Enter after a bracketed paste ends the line (readline >= 8.1 keeps
  // the paste as one edit); the submitted line stays on the screen as history, so only the cursor row counts.
  shell: {
    name: 'shell',
    pasteEnterMs: 15,
    burstEnterMs: 0,
    enterRetryMs: [],
    placeholder: null,
    echoes: true,
    boxRowsAbove: 0,
    lineEditor: true,
    quietAfterSubmitMs: 50,
    quietAfterHookMs: null,
    rowStillAfterHookMs: null,
    rowStillAfterSubmitMs: null,
    echoSettleMs: null,
    busy: null,
    queuesWhileBusy: false,
    queuedMark: null,
    historyRow: null,
    emptyBoxHint: null,
    framedScreen: false,
    busyAppearMs: 0,
    inputRow: null,
    submitWatchMs: 0,
  },
  // Anything else: it may read silently (echo off), so a program that shows nothing is taken to read silently, as
  // before; its text must still leave the cursor row and the row above it to count as submitted.
  other: {
    name: 'other',
    pasteEnterMs: 15,
    burstEnterMs: 0,
    enterRetryMs: [],
    placeholder: /\[Paste[d]? [^\]]*\]/,
    echoes: false,
    boxRowsAbove: 1,
    lineEditor: false,
    quietAfterSubmitMs: 50,
    quietAfterHookMs: null,
    rowStillAfterHookMs: null,
    rowStillAfterSubmitMs: null,
    echoSettleMs: null,
    busy: null,
    queuesWhileBusy: false,
    queuedMark: null,
    historyRow: null,
    emptyBoxHint: null,
    framedScreen: false,
    busyAppearMs: 0,
    inputRow: null,
    submitWatchMs: 0,
  },
};

const SHELLS = new Set(['bash', 'sh', 'zsh', 'fish', 'dash', 'ksh', 'mksh', 'tcsh', 'csh', 'nu', 'elvish', 'pwsh', 'xonsh']);
/** Interpreters whose first arguments name the real program (node cli.js, python3 -m agent); launchers: launchedCommand. */
const INTERPRETERS = new Set(['node', 'nodejs', 'bun', 'deno', 'python', 'python3', 'uv']);
const AGENTS: [RegExp, ProgramName][] = [
  [/^(@anthropic-ai\/)?claude/, 'claude'],
  [/^(@openai\/)?codex/, 'codex'],
  [/^(@google\/)?gemini/, 'gemini'],
  [/^opencode/, 'opencode'],
];

function base(word: string): string {
  // A scoped package name keeps its scope (npx @google/gemini-cli); a path loses its folders.
  return word.startsWith('@') ? word : path.basename(word).replace(/\.(m?js|cjs|ts|exe|cmd)$/, '');
}

function agentOf(word: string): ProgramProfile | null {
  const name = base(word);
  for (const [re, program] of AGENTS) if (re.test(name)) return PROGRAMS[program];
  return null;
}

/** Arguments of an interpreter looked at for the program it runs (`node wrapper.js agent.js` has it second). */
const LAUNCHER_ARGS_LOOKED_AT = 3;

/**
 * The profile for a session's command as the user gave it: an agent or a shell by its name, or for a launcher
 * (node, npx, env ...) by one of its first arguments. A shell is a shell only when it runs interactively (no -c).
 */
export function programFor(command: string, args: readonly string[]): ProgramProfile {
  // `env PS1='$ ' bash`, `nice -n 5 codex`, `npx @google/gemini-cli`: the program the launcher runs.
  const run = launchedCommand(command, args);
  const direct = agentOf(run.command);
  if (direct) return direct;
  const name = base(run.command);
  if (SHELLS.has(name)) return run.args.includes('-c') ? PROGRAMS.other : PROGRAMS.shell;
  if (!INTERPRETERS.has(name)) return PROGRAMS.other;
  const words = run.args.filter((a) => !a.startsWith('-') && !a.includes('=')).slice(0, LAUNCHER_ARGS_LOOKED_AT);
  for (const w of words) {
    const agent = agentOf(w);
    if (agent) return agent;
  }
  return PROGRAMS.other;
}

