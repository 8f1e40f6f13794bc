import type { Socket } from 'node:net';
import { TeleptyError, isTeleptyError } from '../protocol/errors.js';
import {
  HOST_LINK_VERSION,
  LINK_CLOSE,
  type DaemonRequest,
  type DaemonToHost,
  type HostHello,
  type HostInjectResult,
  type HostRequestMap,
  type InjectJobArgs,
  type InjectReply,
  type HostRequestOp,
  exitCodeOf,
} from '../protocol/host-link.js';
import type { SessionType } from '../protocol/session.js';
import { VIEWER_CLOSE, type ViewerClientMessage } from '../protocol/viewer.js';
import type { ViewerHandoff } from '../protocol/viewer-handoff.js';
import type { Endpoint } from '../wire/http.js';
import type { Logger } from '../util/log.js';
import { DEFAULT_VIEWER_CATCH_UP_MS } from '../util/ws-viewer.js';
import { DaemonLink, type LinkTimings } from './daemon-link.js';
import { DirectViewers } from './direct-viewers.js';
import { DraftTracker } from './draft.js';
import { InjectMemory } from './inject-memory.js';
import { InjectQueue, type InjectOutcome, type InjectTimings } from '../terminal/inject-queue.js';
import { programFor, type ProgramProfile } from '../terminal/programs.js';
import { PtyProcess, ptyOptionsOf, type PtyExit } from './pty.js';
import { ScreenModel, type ScreenModes } from '../terminal/screen.js';
import { readCanonical } from './termios.js';

/** Everything a host needs to start its session. For detached hosts the daemon writes it on the host's stdin. */
export interface HostSpec {
  session_id: string;
  /** The daemon may rename us on first registration when the id is taken (wrap without --id). */
  id_flexible: boolean;
  host_instance: string;
  type: SessionType;
  /** As the user gave it (shown in `list`). */
  command: string;
  /** The resolved executable, when it differs from `command`. */
  file?: string;
  args: string[];
  cwd: string;
  /** The child's complete environment (already cleaned by sessionEnv). */
  env: Record<string, string>;
  cols: number;
  rows: number;
  term: string;
  /** The request id of the spawn that started it (told to the daemon in every hello). */
  spawn_request_id?: string;
}

export interface HostTimings extends LinkTimings, InjectTimings {
  /** lastActivityAt reaches the daemon at most this often (idle is reported in whole seconds). */
  activityReportMs: number;
  /** After SIGHUP, how long the child's session gets before SIGKILL. */
  killGraceMs: number;
  /** After the child exits with the daemon away, how long to wait for it to come back to hear the exit code. */
  exitReportWaitMs: number;
  /** A direct viewer paused for falling behind is dropped when it has not caught up in this long. */
  viewerCatchUpMs: number;
}

export const DEFAULT_HOST_TIMINGS: Omit<HostTimings, keyof LinkTimings | keyof InjectTimings> = {
  activityReportMs: 1_000,
  killGraceMs: 2_000,
  exitReportWaitMs: 5_000,
  // The same rule as for the daemon's viewers.
  viewerCatchUpMs: DEFAULT_VIEWER_CATCH_UP_MS,
};

/**
 * Flow control between the PTY and the terminal model (as VS Code's pty host does): past HIGH unparsed bytes the
 * PTY is paused (the child blocks on its writes, nothing piles up in memory), and resumed below LOW.
 */
const PARSE_HIGH_WATER = 2 * 1024 * 1024;
const PARSE_LOW_WATER = 256 * 1024;
/**
 * Output this small with nothing gathered goes to viewers at once, without arming the per-turn gathering (a
 * keystroke's echo, a TUI's redraw): the extra turn of the event loop held up the next keystroke (API echo p50
 * +10-20 µs, measured A/B in one run). Floods come in PTY reads of ~4 KiB and are still gathered.
 */
const SMALL_OUTPUT_BYTES = 1024;
/** Largest output frame to the daemon: gathered per turn of the event loop, sent at once when this full. */
const OUTPUT_FRAME_BYTES = 256 * 1024;
/** Stop sending output to the daemon past this much unsent data; viewers get a fresh replay when it drains. */
const LINK_OUTPUT_HIGH_WATER = 8 * 1024 * 1024;
/** Final frames (exit code) get this long to leave the socket. */
const EXIT_FLUSH_MS = 1_000;

/** The user's own terminal when the host runs in the foreground (wrap); absent for spawned hosts. */
export interface LocalTerminal {
  write(data: Buffer): void;
}

export interface HostDeps {
  endpoint: () => Promise<Endpoint | null>;
  log: Logger;
  timings: HostTimings;
  local?: LocalTerminal;
  /** Called when the daemon ends the session (kill) so the caller can tell the user why. */
  onKilled?: (reason: string) => void;
  now?: () => number;
  /** The child, when the caller started it already (main.ts does, before loading the rest of the host). */
  pty?: PtyProcess;
}

/** The one owner of a session's PTY: screen model, activity, daemon link; serves the daemon's requests. */
export class SessionHost {
  private readonly pty: PtyProcess;
  private readonly screen: ScreenModel;
  private readonly link: DaemonLink;
  private readonly injects: InjectQueue;
  /** Inject ids seen: running jobs, and results kept until a daemon acknowledged them. */
  private readonly injectMemory: InjectMemory;
  private readonly draft = new DraftTracker();
  private readonly direct: DirectViewers;
  private readonly now: () => number;
  private lastInput = 0;
  /** When the program last wrote output (the inject queue waits for a submit's redraw to be over). */
  private lastOutput = 0;
  /** What the inject queue knows about the program (by its command). */
  private readonly program: ProgramProfile;
  private readonly createdAt: string;
  private sessionId: string;
  private lastActivity: number;
  private activityTimer: NodeJS.Timeout | undefined;
  private subscribed = false;
  private outputGap = false;
  /** Output for the daemon (viewers attached), sent once per turn of the event loop as one frame. */
  private outgoing: Buffer[] = [];
  private outgoingBytes = 0;
  private outputThisTurn = false;
  /** Output handed to the terminal model and not parsed yet (bytes). */
  private unparsed = 0;
  /** Why the PTY is paused: reading resumes only when no reason is left. */
  private readonly pauses = new Set<'flow' | 'replay'>();
  private killing: Promise<void> | undefined;
  readonly exited: Promise<PtyExit>;

  constructor(
    private readonly spec: HostSpec,
    private readonly deps: HostDeps,
  ) {
    this.now = deps.now ?? Date.now;
    this.injectMemory = new InjectMemory(this.now);
    this.sessionId = spec.session_id;
    this.program = programFor(spec.command, spec.args);
    this.createdAt = new Date(this.now()).toISOString();
    this.lastActivity = this.now();
    // The child first (main.ts may have started it already): its start is what `spawn` waits for, and loading the
    // terminal model (below) takes a while. Its output is taken once everything here exists (the end of this).
    this.pty = deps.pty ?? new PtyProcess(ptyOptionsOf(spec));
    this.screen = new ScreenModel(
      spec.cols,
      spec.rows,
      (m) => this.link.send({ type: 'state', bracketed_paste: m.bracketedPaste, alt_screen: m.altScreen }),
      (bytes) => {
        this.unparsed -= bytes;
        if (this.unparsed < PARSE_LOW_WATER) this.resume('flow');
      },
    );
    this.link = new DaemonLink(
      deps.endpoint,
      {
        hello: () => this.hello(),
        onWelcome: (w) => {
          if (w.session_id !== this.sessionId) deps.log.info(`the daemon knows this session as ${w.session_id}`);
          this.sessionId = w.session_id;
          deps.log.info(`connected to the daemon as ${this.sessionId}`);
          // A daemon that restarted learns of the viewers this host kept serving.
          if (this.direct.count > 0) this.link.send({ type: 'state', direct_viewers: this.direct.count });
          // Results no daemon has acknowledged (the link was down, or the daemon died before it published them).
          for (const r of this.injectMemory.unacked()) this.link.send(r);
        },
        onMessage: (m) => this.onDaemonMessage(m),
        onDown: (code, reason) => {
          this.subscribed = false;
          if (code === LINK_CLOSE.VERSION_MISMATCH) deps.log.error(`the daemon refused this host: ${reason}; retrying`);
          else if (code === LINK_CLOSE.ID_CONFLICT) deps.log.error(`the daemon refused id ${this.sessionId}: ${reason}; retrying`);
          else deps.log.info(`daemon link down (${code}${reason ? `: ${reason}` : ''}); reconnecting`);
        },
      },
      deps.timings,
      deps.log,
    );
    this.injects = new InjectQueue(
      {
        write: (d) => this.pty.write(d),
        writeQueueEmpty: () => this.pty.writeQueueEmpty(),
        bracketedPaste: () => this.screen.modes().bracketedPaste,
        cursorState: () => this.screen.cursorState(),
        lastInputAt: () => this.lastInput,
        draftPending: () => this.draft.pending,
        exited: () => this.pty.hasExited,
        canonicalInput: () => this.canonicalInput(),
        program: () => this.program,
        lastOutputAt: () => this.lastOutput,
      },
      {
        written: (id, at) => this.link.send({ type: 'inject_written', inject_id: id, written_at: at }),
        done: (id, o) => this.injectDone(id, o),
      },
      deps.timings,
      (held) => this.pty.write(held),
      this.now,
    );
    this.direct = new DirectViewers({
      replay: () => this.replayScreen(),
      onMessage: (m) => this.onViewerMessage(m),
      onCount: (n) => this.link.send({ type: 'state', direct_viewers: n }),
      log: deps.log,
      catchUpMs: deps.timings.viewerCatchUpMs,
    });
    this.exited = this.pty.exited.then((exit) => this.finish(exit));
    // Output the child wrote before this (held by PtyProcess) comes first, now that everything above exists.
    this.pty.onData((data) => this.onOutput(data));
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
    this.touch();
    this.lastInput = this.now();
    this.draft.feed(data);
    if (!this.injects.hold(data)) this.pty.write(data);
  }

  resize(cols: number, rows: number): void {
    if (cols === this.screen.cols && rows === this.screen.rows) return;
    this.pty.resize(cols, rows);
    this.screen.resize(cols, rows);
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
        last_activity_at: new Date(this.lastActivity).toISOString(),
        bracketed_paste: modes.bracketedPaste,
        alt_screen: modes.altScreen,
        ...(this.spec.spawn_request_id ? { spawn_request_id: this.spec.spawn_request_id } : {}),
      },
    };
  }

  private touch(): void {
    this.lastActivity = this.now();
    this.activityTimer ??= setTimeout(() => {
      this.activityTimer = undefined;
      this.link.send({ type: 'state', last_activity_at: new Date(this.lastActivity).toISOString() });
    }, this.deps.timings.activityReportMs);
  }

  private pause(reason: 'flow' | 'replay'): void {
    if (this.pauses.size === 0) this.pty.pause();
    this.pauses.add(reason);
  }

  private resume(reason: 'flow' | 'replay'): void {
    if (this.pauses.delete(reason) && this.pauses.size === 0) this.pty.resume();
  }

  private onOutput(data: Buffer): void {
    this.lastOutput = this.now();
    this.touch();
    this.unparsed += data.length;
    this.screen.write(data);
    if (this.unparsed > PARSE_HIGH_WATER) this.pause('flow');
    this.deps.local?.write(data);
    if (!this.direct.wantsOutput && !this.linkWantsOutput()) return;
    this.outgoing.push(data);
    this.outgoingBytes += data.length;
    if (!this.outputThisTurn) {
      // The first output of a turn of the event loop goes at once (a keystroke's echo should not wait). After a
      // big piece, more output in the same turn is gathered into one frame, sent on the next turn (a flood).
      if (data.length >= SMALL_OUTPUT_BYTES) {
        this.outputThisTurn = true;
        setImmediate(() => {
          this.outputThisTurn = false;
          this.sendOutput();
        });
      }
      this.sendOutput();
      return;
    }
    if (this.outgoingBytes >= OUTPUT_FRAME_BYTES) this.sendOutput();
  }

  /** The daemon relays output to viewers of its own while it is subscribed. */
  private linkWantsOutput(): boolean {
    return this.subscribed && this.link.up;
  }

  /**
   * Send the output gathered for viewers as one frame: to the viewers served here, and as raw bytes to the daemon
   * for the viewers it relays (it encodes them, on its own core).
   */
  private sendOutput(): void {
    if (this.outgoing.length === 0) return;
    const frame = this.outgoing.length === 1 ? (this.outgoing[0] as Buffer) : Buffer.concat(this.outgoing, this.outgoingBytes);
    this.outgoing = [];
    this.outgoingBytes = 0;
    this.direct.output(frame);
    if (!this.linkWantsOutput()) return;
    if (this.link.buffered > LINK_OUTPUT_HIGH_WATER) {
      this.outputGap = true;
      return;
    }
    if (this.outputGap) {
      this.outputGap = false;
      this.link.send({ type: 'gap' });
    }
    this.link.sendBinary(frame);
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
        this.subscribed = m.on;
        this.outputGap = false;
        this.outgoing = [];
        this.outgoingBytes = 0;
        return;
      case 'request':
        void this.answer(m);
        return;
      case 'inject_ack':
        if (Array.isArray(m.inject_ids)) this.injectMemory.ack(m.inject_ids.filter((id): id is string => typeof id === 'string'));
        return;
      case 'welcome':
        return;
    }
  }

  /** A job ended: its result is kept (and sent again after a reconnect) until a daemon acknowledges it. */
  private injectDone(id: string, outcome: InjectOutcome): void {
    const job = this.injectMemory.get(id);
    const meta = job?.state === 'running' ? job.meta : undefined;
    const result: HostInjectResult = { type: 'inject_result', inject_id: id, ...outcome, ...(meta ? { meta } : {}) };
    this.injectMemory.finished(result);
    this.link.send(result);
  }

  /** A new job is queued; a repeated id is answered from memory and never typed again. */
  private acceptInject(job: InjectJobArgs): InjectReply {
    const known = this.injectMemory.get(job.inject_id);
    if (known?.state === 'running') return { queued: true, position: 0, known: 'running' };
    if (known?.state === 'done') return { queued: true, position: 0, known: 'done', result: known.result, acked: known.acked };
    this.injectMemory.started(job.inject_id, job.meta);
    return { queued: true, position: this.injects.enqueue(job) };
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
      case 'inject':
        return this.acceptInject(args as HostRequestMap['inject']['args']);
      case 'cancel_inject': {
        const id = (args as HostRequestMap['cancel_inject']['args']).inject_id;
        const cancelled = this.injects.cancel(id);
        // Withdrawn before anything was typed: the id may be used again.
        if (cancelled) this.injectMemory.forget(id);
        return { cancelled };
      }
      case 'replay':
        return { data: await this.replayScreen() };
      default:
        throw new TeleptyError('BAD_REQUEST', `unknown host request ${String(op)}`);
    }
  }

  /** The screen as an escape sequence that redraws it: wrap repaints its own terminal with it after a stall. */
  serializeScreen(): Promise<string> {
    return this.screen.serialize();
  }

  /** The screen for a viewer's replay: every output frame sent before it is in it, none after. */
  private async replayScreen(): Promise<string> {
    // Output gathered for viewers but not sent yet was read before the snapshot: it goes out first. Output is
    // held while the snapshot is taken.
    this.sendOutput();
    this.pause('replay');
    try {
      return await this.screen.serialize();
    } finally {
      this.resume('replay');
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
    this.sendOutput();
    const viewersDone = this.direct.endAll({ type: 'exit', code: exitCodeOf(exit.code, exit.signal) }, VIEWER_CLOSE.SESSION_ENDED, 'session ended', EXIT_FLUSH_MS);
    if (await this.link.waitUp(this.deps.timings.exitReportWaitMs)) {
      this.link.send({ type: 'exit', code: exit.code, signal: exit.signal });
      await this.link.flush(EXIT_FLUSH_MS);
    }
    await viewersDone;
    this.link.stop();
    this.screen.dispose();
    return exit;
  }
}
