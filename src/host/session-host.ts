import type { Socket } from 'node:net';
import { TeleptyError, isTeleptyError } from '../protocol/errors.js';
import {
  HOST_LINK_VERSION,
  LINK_CLOSE,
  LINK_FEATURES,
  type DaemonRequest,
  type DaemonToHost,
  type DaemonWelcome,
  type HostHello,
  type HostRequestMap,
  type HostRequestOp,
  type KeysReply,
  exitCodeOf,
} from '../protocol/host-link.js';
import type { HostSpec } from '../protocol/host-spec.js';
import type { AgentStateInfo } from '../protocol/agent-state.js';
import { VIEWER_CLOSE, type ViewerClientMessage } from '../protocol/viewer.js';
import type { ViewerHandoff } from '../protocol/viewer-handoff.js';
import { parseKeys } from '../protocol/keys.js';
import { AGENT_PROGRAMS, programFor } from '../terminal/programs.js';
import { AgentStateSink } from './agent-state-sink.js';
import type { ScreenModes } from '../terminal/screen.js';
import { isoTime } from '../util/iso-time.js';
import type { Logger } from '../util/log.js';
import { DirectViewers } from './direct-viewers.js';
import { DraftTracker } from './draft.js';
import { InjectFollowUp } from './inject-follow.js';
import { InjectJobs } from './inject-jobs.js';
import { takeLastScreen } from './last-screen.js';
import { SessionRecording, serveRecord } from './recorder-sink.js';
import type { HostLink, HostParts, HostPty, OutputSink, PtyExit, SessionScreen } from './parts.js';
import { readCanonical } from './termios.js';
import type { HostTimings } from './timings.js';
import { ViewerOutput } from './viewer-output.js';

export type { HostSpec } from '../protocol/host-spec.js';
export { DEFAULT_HOST_TIMINGS, type HostTimings } from './timings.js';

/**
 * Flow control between the PTY and the terminal model (as VS Code's pty host does): past HIGH unparsed bytes the
 * PTY is paused (the child blocks on its writes, nothing piles up in memory), and resumed below LOW.
 */
const PARSE_HIGH_WATER = 2 * 1024 * 1024;
const PARSE_LOW_WATER = 256 * 1024;
/** Why the PTY is not read: the terminal model is behind, a replay is being taken, wrap's own terminal is behind. */
type PauseReason = 'flow' | 'replay' | 'terminal';
/** Final frames (exit code) get this long to leave the socket. */
const EXIT_FLUSH_MS = 1_000;
/**
 * After the program exited, inject jobs get this long to end and report before the exit does: each fails at its next
 * look (a poll of a few ms, a typing pause of up to 400 ms), and a submit's follow-up waits up to 300 ms for a hook.
 */
const EXIT_INJECTS_MS = 1_000;

export interface HostDeps extends HostParts {
  log: Logger;
  timings: HostTimings;
  /** Called when the daemon ends the session (kill) so the caller can tell the user why. */
  onKilled?: (reason: string) => void;
  now?: () => number;
}

/**
 * The one owner of a session: it feeds the program's output to its sinks (the screen model first, then the
 * caller's sinks such as wrap's terminal, then the viewers), serves the daemon's requests over its link, and types
 * inject jobs into the PTY. Its parts are given (parts.ts; create.ts builds the real ones).
 */
export class SessionHost {
  private readonly pty: HostPty;
  private readonly screen: SessionScreen;
  private readonly link: HostLink;
  private readonly injects: InjectJobs;
  /** Where each submitted prompt's answer starts, and the hooks' proof of submission (issue 19). */
  private readonly follow: InjectFollowUp;
  private readonly draft = new DraftTracker();
  /** The screen is the alternate one (a full-screen program runs): the last switch seen. */
  private altScreen = false;
  /** The program is an AI CLI whose input box is a line editor, on the alternate screen too (OpenCode's). */
  private readonly editsLinesFullScreen: boolean;
  private readonly direct: DirectViewers;
  private readonly viewers: ViewerOutput;
  /** The session's asciicast recording, when one is under way (spec.record, or `telepty record ID`). */
  private readonly recording: SessionRecording;
  /** The agent's state from hooks, terminal signals and the screen (issue 19). */
  private readonly agentState: AgentStateSink;
  /** The optional link parts the daemon takes (its welcome's `features`). */
  private daemonFeatures = new Set<string>();
  /** Every chunk of output goes to each, in this order. */
  private readonly sinks: readonly OutputSink[];
  private readonly now: () => number;
  private lastInput = 0;
  /** When the program last wrote output (the inject queue waits for a submit's redraw to be over). */
  private lastOutput = 0;
  private readonly createdAt: string;
  private sessionId: string;
  private lastActivity: number;
  private activityTimer: NodeJS.Timeout | undefined;
  /** Output handed to the terminal model and not parsed yet (bytes). */
  private unparsed = 0;
  /** Why the PTY is paused: reading resumes only when no reason is left. */
  private readonly pauses = new Set<PauseReason>();
  private killing: Promise<void> | undefined;
  readonly exited: Promise<PtyExit>;

  constructor(
    private readonly spec: HostSpec,
    private readonly deps: HostDeps,
  ) {
    this.now = deps.now ?? Date.now;
    this.sessionId = spec.session_id;
    const program = programFor(spec.command, spec.args);
    this.editsLinesFullScreen = AGENT_PROGRAMS.has(program.name);
    this.createdAt = isoTime(this.now());
    this.lastActivity = this.now();
    // The child first (main.ts started it already): its start is what `spawn` waits for, and loading the terminal
    // model (below) takes a while. Its output is taken once everything here exists (the end of this).
    this.pty = deps.pty;
    this.screen = deps.screen(spec.cols, spec.rows, {
      modes: (m) => {
        // A full-screen program started or ended (less, vim, htop): what was typed before is in no line now.
        if (m.altScreen !== this.altScreen) this.draft.reset();
        this.altScreen = m.altScreen;
        this.link.send({ type: 'state', bracketed_paste: m.bracketedPaste, alt_screen: m.altScreen });
      },
      parsed: (bytes) => {
        this.unparsed -= bytes;
        if (this.unparsed < PARSE_LOW_WATER) this.resume('flow');
      },
    });
    this.link = deps.link({
      hello: () => this.hello(),
      onWelcome: (w) => this.onWelcome(w),
      onMessage: (m) => this.onDaemonMessage(m),
      onDown: (code, reason) => {
        this.viewers.linkDown();
        if (code === LINK_CLOSE.VERSION_MISMATCH) deps.log.error(`the daemon refused this host: ${reason}; retrying`);
        else if (code === LINK_CLOSE.ID_CONFLICT) deps.log.error(`the daemon refused id ${this.sessionId}: ${reason}; retrying`);
        else deps.log.info(`daemon link down (${code}${reason ? `: ${reason}` : ''}); reconnecting`);
      },
    });
    this.follow = new InjectFollowUp({
      cursor: () => this.screen.cursorState(),
      lines: async () => (await this.screen.snapshot({ scrollback: true, ansi: false })).lines,
      // Only hooks that have reported (Claude Code's SessionStart comes at its start) are waited for: hooks telepty
      // added may never run (a program that ignores --settings, a user's disableAllHooks), and each answer would then
      // wait HOOK_CONFIRM_WAIT_MS for nothing (the Claude-Code-like bench: sequential p50 193 -> 456 ms).
      hooksReporting: () => this.agentState.tracker.hooksReporting,
      now: this.now,
      warn: (m) => deps.log.warn(m),
    });
    this.injects = new InjectJobs(
      {
        write: (d) => this.pty.write(d),
        writeQueueEmpty: () => this.pty.writeQueueEmpty(),
        bracketedPaste: () => this.screen.modes().bracketedPaste,
        cursorState: () => this.screen.cursorState(),
        lastInputAt: () => this.lastInput,
        draftPending: () => this.draft.pending,
        draftByKeysOnly: () => this.draft.byKeysOnly,
        exited: () => this.pty.hasExited,
        canonicalInput: () => this.canonicalInput(),
        program: () => program,
        lastOutputAt: () => this.lastOutput,
        hookSubmitted: (text, since) => this.follow.reportedSince(text, since),
      },
      (m) => {
        // Working before the result is sent: a caller that waits for idle next never sees the idle before the turn.
        if (m.type === 'inject_result' && m.status === 'submitted') this.agentState.tracker.submitted();
        return this.link.send(m);
      },
      deps.timings,
      (held) => this.pty.write(held),
      this.now,
      (id, meta) => this.recording.injected(id, meta),
      (id, outcome) => this.follow.finish(id, outcome),
    );
    this.direct = new DirectViewers({
      replay: () => this.replayScreen(),
      onMessage: (m) => this.onViewerMessage(m),
      onCount: (n) => this.link.send({ type: 'state', direct_viewers: n }),
      log: deps.log,
      catchUpMs: deps.timings.viewerCatchUpMs,
    });
    this.viewers = new ViewerOutput(this.direct, this.link);
    const screenSink: OutputSink = {
      write: (data) => {
        this.unparsed += data.length;
        this.screen.write(data);
        if (this.unparsed > PARSE_HIGH_WATER) this.pause('flow');
      },
    };
    this.recording = this.makeRecording();
    this.agentState = new AgentStateSink({
      program: program.name,
      rows: async () => (await this.screen.snapshot({ scrollback: false, ansi: false })).lines,
      report: (info, explain) => this.reportAgentState(info, explain),
      log: deps.log,
    });
    // The caller's sinks (wrap's own terminal) and the viewers first: a keystroke's echo leaves before the work no one
    // waits on (the screen's queue, the agent-state scan, the recording), which then overlaps the viewer's next key
    // (bench/host-memory.md, "cold keys"). All of them take each chunk in the same turn, so what a replay or a screen
    // read sees is the same whatever the order.
    this.sinks = [...(deps.sinks ?? []), this.viewers, screenSink, this.agentState, this.recording];
    this.exited = this.pty.exited.then((exit) => this.finish(exit));
    // Output the child wrote before this (held by the PTY) comes first, now that everything above exists.
    this.pty.onData((data) => this.onOutput(data));
  }

  /** The recording sink; it starts at once when the spec asks (output read meanwhile is held for it). */
  private makeRecording(): SessionRecording {
    const rec = new SessionRecording(
      { command: this.spec.command, args: this.spec.args, title: () => this.sessionId, size: () => ({ cols: this.screen.cols, rows: this.screen.rows }) },
      this.deps.log,
      (info) => this.link.send({ type: 'state', recording: info }),
    );
    if (this.spec.record) rec.start(this.spec.record).catch((err: unknown) => this.deps.log.error('the session is not recorded', err));
    return rec;
  }

  /** A viewer the daemon handed over with its socket (only the daemon that spawned this host can). */
  acceptViewer(handoff: ViewerHandoff, socket: Socket): void {
    this.direct.accept(handoff, socket);
  }

  get id(): string {
    return this.sessionId;
  }

  get childPid(): number {
    return this.pty.pid;
  }

  get connected(): boolean {
    return this.link.up;
  }

  start(): void {
    this.link.start();
  }

  /** The child's terminal modes as its output left them (to restore the user's terminal on exit). */
  modes(): ScreenModes {
    return this.screen.modes();
  }

  /** Send a signal to the child's process group (wrap forwards SIGTERM/SIGHUP it receives). */
  signal(signal: NodeJS.Signals): void {
    this.pty.signal(signal);
  }

  /** Bytes for the child: typed locally (wrap) or sent by a viewer. Held while an inject job is writing. */
  input(data: string): void {
    // The bytes first, the bookkeeping after: none of it decides what is written (only an inject job holds keys).
    if (!this.injects.hold(data)) this.pty.write(data);
    this.lastInput = this.touch();
    if (!this.keysLeaveNoLine(this.altScreen)) this.draft.feed(data);
    this.recording.input(data);
  }

  resize(cols: number, rows: number): void {
    if (cols === this.screen.cols && rows === this.screen.rows) return;
    this.pty.resize(cols, rows);
    this.screen.resize(cols, rows);
    this.recording.resize(cols, rows);
    this.link.send({ type: 'state', cols, rows });
  }

  /** End the child's session (SIGHUP, then SIGKILL after the grace period). */
  kill(reason: string): Promise<void> {
    this.killing ??= (async () => {
      this.deps.log.info(`ending the session: ${reason}`);
      this.deps.onKilled?.(reason);
      await this.pty.killSession(this.deps.timings.killGraceMs);
    })();
    return this.killing;
  }

  /** wrap's own terminal is behind (local-output.ts): its program's output is not read until it catches up. */
  holdForTerminal(held: boolean): void {
    if (held) this.pause('terminal');
    else this.resume('terminal');
  }

  /** The screen as an escape sequence that redraws it: wrap repaints its own terminal with it after a stall. */
  serializeScreen(): Promise<string> {
    return this.screen.serialize();
  }

  /** Whether the child reads in canonical mode, from its terminal's settings; null (and a warning) when unknown. */
  private async canonicalInput(): Promise<boolean | null> {
    const pts = this.pty.ptsName;
    if (pts === null) return null;
    try {
      return await readCanonical(pts);
    } catch (err) {
      this.deps.log.warn(`could not read the terminal settings of ${pts}: ${(err as Error).message}`);
      return null;
    }
  }

  private hello(): HostHello {
    const modes = this.screen.modes();
    return {
      type: 'hello',
      link_version: HOST_LINK_VERSION,
      host_instance: this.spec.host_instance,
      session_id: this.sessionId,
      id_flexible: this.spec.id_flexible,
      session: {
        type: this.spec.type,
        command: this.spec.command,
        args: this.spec.args,
        cwd: this.spec.cwd,
        pid: this.pty.pid,
        host_pid: process.pid,
        cols: this.screen.cols,
        rows: this.screen.rows,
        term: this.spec.term,
        created_at: this.createdAt,
        last_activity_at: isoTime(this.lastActivity),
        bracketed_paste: modes.bracketedPaste,
        alt_screen: modes.altScreen,
        ...(this.spec.spawn_request_id ? { spawn_request_id: this.spec.spawn_request_id } : {}),
        recording: this.recording.info,
        ...(this.spec.tags ? { tags: this.spec.tags } : {}),
      },
      features: [...LINK_FEATURES],
    };
  }

  /** Sent only to a daemon that takes it: an older one closes the link on a message it does not know. */
  private reportAgentState(info: AgentStateInfo, explain: string[]): void {
    if (this.daemonFeatures.has('agent_state')) this.link.send({ type: 'agent_state', ...info, explain });
  }

  /**
   * Keys by tmux name, written as they are (held like a person's keys while an inject job types). Text they leave in
   * the line without Enter is a draft, like a person's: an inject waits for it to be sent or cleared, never merges.
   */
  private writeKeys(names: string[]): KeysReply {
    const strokes = parseKeys(names, { appCursor: this.agentState.appCursor });
    const bytes = strokes.map((k) => k.bytes).join('');
    this.deps.log.info(`keys: ${strokes.map((k) => (k.literal ? 'text' : k.name)).join(' ')}`);
    this.touch();
    if (!this.injects.hold(bytes)) this.pty.write(bytes);
    // Key by key: Escape is a key of its own here, not the start of an Alt+key as in one read of a person's.
    // The screen as of all output so far (parsed now): keys come seldom, and right after the program drew.
    if (!this.keysLeaveNoLine(this.screen.modes().altScreen)) for (const k of strokes) this.draft.feed(k.bytes, 'keys');
    return { keys: strokes.map((k) => (k.literal ? 'text' : k.name)), bytes: Buffer.byteLength(bytes) };
  }

  /**
   * Keys that leave no text in an input line, so they are no draft (counted as one, they held the next inject 10 s
   * and failed it SESSION_BUSY): the agent waits on a dialog (state `blocked`; `1`, `y`, arrows and Enter answer it),
   * or a full-screen program other than an AI CLI reads them as commands (`keys ID Space Space q` in less, vim).
   * `altScreen`: a person's keys take the last switch parsed (no parse forced per keystroke, which a flood would make
   * costly); `keys` parses what is pending first.
   */
  private keysLeaveNoLine(altScreen: boolean): boolean {
    return this.agentState.tracker.current.state === 'blocked' || (altScreen && !this.editsLinesFullScreen);
  }

  private onWelcome(w: DaemonWelcome): void {
    if (w.session_id !== this.sessionId) this.deps.log.info(`the daemon knows this session as ${w.session_id}`);
    this.sessionId = w.session_id;
    this.daemonFeatures = new Set(w.features ?? []);
    this.deps.log.info(`connected to the daemon as ${this.sessionId}`);
    // A daemon that (re)started learns the agent's state as it is.
    this.reportAgentState(this.agentState.current, this.agentState.tracker.explain());
    // A daemon that restarted learns of the viewers this host kept serving.
    if (this.direct.count > 0) this.link.send({ type: 'state', direct_viewers: this.direct.count });
    // A recording that started while the link was coming up: the hello may not have said it.
    if (this.recording.info) this.link.send({ type: 'state', recording: this.recording.info });
    // Results no daemon has acknowledged (the link was down, or the daemon died before it published them).
    for (const r of this.injects.unacked()) this.link.send(r);
  }

  /** The session was active now (returned); the daemon hears of it within activityReportMs. */
  private touch(): number {
    const now = this.now();
    this.lastActivity = now;
    this.activityTimer ??= setTimeout(() => {
      this.activityTimer = undefined;
      this.link.send({ type: 'state', last_activity_at: isoTime(this.lastActivity) });
    }, this.deps.timings.activityReportMs);
    return now;
  }

  private pause(reason: PauseReason): void {
    if (this.pauses.size === 0) this.pty.pause();
    this.pauses.add(reason);
  }

  private resume(reason: PauseReason): void {
    if (this.pauses.delete(reason) && this.pauses.size === 0) this.pty.resume();
  }

  private onOutput(data: Buffer): void {
    // An indexed loop: a fresh host runs this unoptimised for its first thousand or so chunks, where an iterator
    // per chunk costs more than the loop's body.
    const sinks = this.sinks;
    for (let i = 0; i < sinks.length; i++) (sinks[i] as OutputSink).write(data);
    this.lastOutput = this.touch();
  }

  /** Keys and resizes from a viewer, relayed by the daemon or served directly. */
  private onViewerMessage(m: ViewerClientMessage): void {
    if (m.type === 'input') this.input(m.data);
    // The user's own terminal decides a wrapped session's size; viewers resize only spawned ones.
    else if (this.spec.type === 'spawned') this.resize(m.cols, m.rows);
  }

  private onDaemonMessage(m: DaemonToHost): void {
    switch (m.type) {
      case 'rename':
        this.deps.log.info(`renamed ${this.sessionId} → ${m.new_id}`);
        this.sessionId = m.new_id;
        return;
      case 'kill':
        void this.kill(m.reason);
        return;
      case 'input':
      case 'resize':
        this.onViewerMessage(m);
        return;
      case 'subscribe':
        this.viewers.subscribe(m.on);
        return;
      case 'request':
        void this.answer(m);
        return;
      case 'inject_ack':
        if (Array.isArray(m.inject_ids)) this.injects.ack(m.inject_ids.filter((id): id is string => typeof id === 'string'));
        return;
      case 'welcome':
        return;
    }
  }

  private async answer(req: DaemonRequest): Promise<void> {
    try {
      const result = await this.serve(req.op, req.args);
      this.link.send({ type: 'reply', req_id: req.req_id, ok: true, result });
    } catch (err) {
      const e = isTeleptyError(err) ? err : new TeleptyError('INTERNAL', `host failed to serve ${req.op}`);
      if (!isTeleptyError(err)) this.deps.log.error(`serving ${req.op}`, err);
      this.link.send({ type: 'reply', req_id: req.req_id, ok: false, error: e.toBody() });
    }
  }

  private async serve<K extends HostRequestOp>(op: K, args: HostRequestMap[K]['args']): Promise<HostRequestMap[HostRequestOp]['result']> {
    switch (op) {
      case 'screen':
        return this.screen.snapshot(args as HostRequestMap['screen']['args']);
      case 'inject': {
        const job = args as HostRequestMap['inject']['args'];
        const st = this.agentState.current;
        if (job.refuse_blocked && st.state === 'blocked' && !this.injects.knows(job.inject_id)) {
          throw new TeleptyError(
            'SESSION_BLOCKED',
            `session ${this.sessionId} waits on a dialog${st.detail ? ` ("${st.detail}")` : ''}: a prompt would answer it, so nothing was typed; answer it with \`telepty keys\`, or inject with --force`,
            { id: this.sessionId, detail: st.detail },
          );
        }
        const reply = this.injects.accept(job);
        if (reply.known === undefined) this.follow.expect(job.inject_id, job.text);
        return reply;
      }
      case 'cancel_inject':
        return this.injects.cancel((args as HostRequestMap['cancel_inject']['args']).inject_id);
      case 'replay':
        return { data: await this.replayScreen() };
      case 'record':
        return serveRecord(this.recording, args as HostRequestMap['record']['args']);
      case 'keys':
        if (this.pty.hasExited) throw new TeleptyError('SESSION_EXITED', `session ${this.sessionId} has exited`);
        return this.writeKeys((args as HostRequestMap['keys']['args']).keys);
      case 'hook': {
        const report = args as HostRequestMap['hook']['args'];
        if (report.event === 'UserPromptSubmit' && report.prompt !== undefined) this.follow.hookPrompt(report.prompt);
        return { state: this.agentState.hook(report) };
      }
      case 'since':
        return this.follow.since((args as HostRequestMap['since']['args']).inject_id);
      default:
        throw new TeleptyError('BAD_REQUEST', `unknown host request ${String(op)}`);
    }
  }

  /** The screen for a viewer's replay: every output frame sent before it is in it, none after. */
  private async replayScreen(): Promise<string> {
    // Output gathered for viewers but not sent yet was read before the snapshot: it goes out first. Output is
    // held while the snapshot is taken.
    this.viewers.flush();
    this.pause('replay');
    try {
      return await this.screen.serialize();
    } finally {
      this.resume('replay');
    }
  }

  /**
   * The screen as the program left it, for `read` of the exited session (only a daemon that takes it is sent it).
   * Not after a kill: the daemon removes a killed session, and taking it costs 25-75 ms (1,049 rows of 200 columns).
   */
  private async sendLastScreen(): Promise<void> {
    if (!this.daemonFeatures.has('last_screen') || this.killing) return;
    try {
      this.link.send(await takeLastScreen(this.screen, (all, keptFrom) => this.follow.answerStarts(all, keptFrom)));
    } catch (err) {
      this.deps.log.warn(`the last screen was not sent (\`read\` of the exited session will say it exited): ${(err as Error).message}`);
    }
  }

  private async finish(exit: PtyExit): Promise<PtyExit> {
    clearTimeout(this.activityTimer);
    // The last output is parsed before the exit is reported: the final screen reads right.
    await this.screen.flush();
    this.deps.log.info(`child exited (code ${exit.code}, signal ${exit.signal})`);
    // When the child was killed, the rest of its session (a process that ignores SIGHUP) is SIGKILLed after the
    // grace: the host must not exit before that, nor report the exit while part of the session still runs.
    if (this.killing) await this.killing;
    if (!(await this.injects.settled(EXIT_INJECTS_MS))) this.deps.log.warn(`inject jobs still running ${EXIT_INJECTS_MS} ms after the exit; the daemon fails them`);
    this.viewers.flush();
    const sinksDone = Promise.all(this.sinks.map((s) => s.end?.(exit)));
    const viewersDone = this.direct.endAll({ type: 'exit', code: exitCodeOf(exit.code, exit.signal) }, VIEWER_CLOSE.SESSION_ENDED, 'session ended', EXIT_FLUSH_MS);
    if (await this.link.waitUp(this.deps.timings.exitReportWaitMs)) {
      await this.sendLastScreen();
      this.link.send({ type: 'exit', code: exit.code, signal: exit.signal });
      await this.link.flush(EXIT_FLUSH_MS);
    }
    await viewersDone;
    await sinksDone;
    this.link.stop();
    this.screen.dispose();
    return exit;
  }
}
