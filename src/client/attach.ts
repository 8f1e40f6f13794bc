import WebSocket from 'ws';
import { TeleptyError, isTeleptyError } from '../protocol/errors.js';
import { VIEWER_CLOSE, parseViewerServerMessage, type ViewerClientMessage } from '../protocol/viewer.js';
import type { DaemonClient } from './daemon-client.js';
import { sessionPath } from './sessions.js';
import { openDaemonSocket, type DaemonSocket } from './ws.js';

/** Ctrl-] (as in telnet and virsh console): leaves the session running. */
export const DEFAULT_DETACH_KEY = '\x1d';

export interface AttachOptions {
  detachKey: string;
  /** How the detach key is written for people (e.g. Ctrl-]). */
  detachKeyName?: string;
  /** The session as listed just before attaching: shown in a banner and the window title. */
  target?: AttachTarget;
  stdin?: NodeJS.ReadStream;
  stdout?: NodeJS.WriteStream;
  /** Status lines ("detached", "session exited") go here. */
  stderr?: NodeJS.WriteStream;
  /** The user's terminal: raw mode (restored, with what the session left switched on, when attach ends) and its size. */
  terminal: AttachTerminal;
  /**
   * The daemon went away while attached (killed, restarted): a client of the daemon that serves the session now, once
   * it does (`autostart`: start one if none runs, after a crash; not after a daemon that said it was stopping). It
   * throws when there is none yet, or the session is gone (SESSION_NOT_FOUND) or has ended (SESSION_EXITED): attach
   * then ends with that error. Without it, attach ends `disconnected`.
   */
  reconnect?: (how: { autostart: boolean }) => Promise<DaemonClient>;
}

/** WebSocket close code of a server that is going away on purpose (`telepty daemon stop` or restart). */
const CLOSE_GOING_AWAY = 1001;
/** A daemon killed -9 is back, and its sessions' hosts with it, within 0.3-0.5 s here; this bounds a loaded machine. */
const REATTACH_MAX_MS = 10_000;
/** Waits between tries to reattach (the last repeats). */
const REATTACH_DELAYS_MS = [100, 250, 500, 1_000];

/** What attach needs of the local terminal; the command gives it (ui/terminal.ts), tests give their own. */
export interface AttachTerminal {
  raw(state: () => { altScreen: boolean } | null): { restore(): void };
  /** Columns and rows; 0 when not a terminal. */
  size(): { cols: number; rows: number };
}

export type AttachEnd =
  | { reason: 'detached' }
  | { reason: 'input-ended' }
  | { reason: 'exited'; code: number | null }
  /** `why`: what the daemon said when it closed the view (another machine's link lost, the session's host gone). */
  | { reason: 'disconnected'; why?: string }
  | { reason: 'dropped' }
  /**
   * An error before the session's screen came (another machine's policy, a failed replay): it was never attached. Or
   * a reattach the daemon refused: the session is gone, or has ended.
   */
  | { reason: 'refused'; code: string; error: string };

/** The session as attach shows it in its banner (from the session object, read just before attaching). */
export interface AttachTarget {
  id: string;
  type: string;
  cols: number;
  rows: number;
}

/** xterm's title stack: save the user's window title, set ours while attached, and put theirs back on detach. */
const TITLE_PUSH = '\x1b[22;0t';
const TITLE_POP = '\x1b[23;0t';
const setTitle = (title: string): string => `\x1b]2;${title}\x07`;

/** What attach says first: which session, how to leave, and a warning when this terminal is smaller. */
export function attachBanner(target: AttachTarget, terminal: { cols: number; rows: number }, detachKeyName: string): string {
  const small = terminal.cols > 0 && (terminal.cols < target.cols || terminal.rows < target.rows);
  const warning =
    small && target.type === 'wrapped'
      ? ` Your terminal (${terminal.cols}x${terminal.rows}) is smaller than the session's (${target.cols}x${target.rows}), which its own terminal sets: lines will wrap.`
      : '';
  return `[telepty: attached to ${target.id} (${target.type}, ${target.cols}x${target.rows}); ${detachKeyName} detaches and leaves it running.${warning}]`;
}

/** `ctrl-x` / `^x` / a single character → the byte it sends. */
export function parseDetachKey(spec: string): string {
  const m = /^(?:ctrl-|\^)(.)$/i.exec(spec);
  if (m) {
    const c = (m[1] as string).toUpperCase().charCodeAt(0);
    if (c >= 0x40 && c <= 0x5f) return String.fromCharCode(c - 0x40);
  }
  if (spec.length === 1) return spec;
  throw new TeleptyError('INVALID_FIELD', `--detach-key takes ctrl-<key> (e.g. ctrl-]) or one character, got ${JSON.stringify(spec)}`);
}

/** Connect as a viewer: replay the screen, then live output; keys and resizes go to the session. */
export async function attach(client: DaemonClient, id: string, opts: AttachOptions): Promise<AttachEnd> {
  const stdin = opts.stdin ?? process.stdin;
  const stdout = opts.stdout ?? process.stdout;
  const stderr = opts.stderr ?? process.stderr;
  // The daemon's socket to the session: replaced when attach reattaches after the daemon went away.
  let view: DaemonSocket = await openDaemonSocket(client, sessionPath(id));

  const send = (m: ViewerClientMessage): void => {
    if (view.ws.readyState === WebSocket.OPEN) view.ws.send(JSON.stringify(m));
  };
  // Whether the session's output left this terminal on the alternate screen (the last switch seen wins).
  let altScreen = false;
  const trackAlt = (data: string): void => {
    const on = Math.max(data.lastIndexOf('\x1b[?1049h'), data.lastIndexOf('\x1b[?47h'), data.lastIndexOf('\x1b[?1047h'));
    const off = Math.max(data.lastIndexOf('\x1b[?1049l'), data.lastIndexOf('\x1b[?47l'), data.lastIndexOf('\x1b[?1047l'));
    if (on > off) altScreen = true;
    else if (off > on) altScreen = false;
  };
  const raw = opts.terminal.raw(() => ({ altScreen }));
  // On a terminal, once the session's screen comes (an attach refused before it leaves the terminal as it was): a
  // banner, scrolled up into the scrollback (the replay then paints the screen below it, so it stays one scroll
  // away), and the session's name in the window title while attached.
  const bannered = opts.target !== undefined && stdout.isTTY === true;
  let shown = false;
  const showing = (): void => {
    if (shown) return;
    shown = true;
    if (!bannered || !opts.target) return;
    const term = opts.terminal.size();
    stderr.write(`\r\n${attachBanner(opts.target, term, opts.detachKeyName ?? 'the detach key')}\r\n`);
    stdout.write(`${'\n'.repeat(Math.max(0, term.rows - 1))}${TITLE_PUSH}${setTitle(`telepty: ${id}`)}`);
  };
  const size = (): void => {
    const { cols, rows } = opts.terminal.size();
    if (cols > 0) send({ type: 'resize', cols, rows });
  };
  size();
  stdout.on('resize', size);

  return new Promise<AttachEnd>((resolve) => {
    let end: AttachEnd | undefined;
    let warnedMalformed = false;
    const finish = (e: AttachEnd): void => {
      if (end) return;
      end = e;
      stdin.off('data', onInput);
      stdin.off('end', onEnd);
      stdin.pause();
      if (bannered && shown) stdout.write(TITLE_POP);
      stdout.off('resize', size);
      raw.restore();
      if (e.reason === 'refused') {
        // After the session's screen was shown (a refused reattach), on a line of its own.
        stderr.write(`${shown ? '\r\n' : ''}telepty: ${e.error} [${e.code}]\n`);
        view.ws.close(1000, 'viewer done');
        resolve(e);
        return;
      }
      const note =
        e.reason === 'detached'
          ? `[detached from ${id}; it keeps running]`
          : e.reason === 'input-ended'
            ? `[end of input: detached from ${id}; it keeps running]`
            : e.reason === 'exited'
            ? `[session ${id} exited with code ${e.code}]`
            : e.reason === 'dropped'
              ? `[dropped: this terminal fell too far behind the session]`
              : e.why
                ? `[telepty: the connection to ${id} was lost: ${e.why}]`
                : `[session ${id} disconnected]`;
      stderr.write(`\r\n${note}\r\n`);
      view.ws.close(1000, 'viewer done');
      resolve(e);
    };
    const onInput = (chunk: Buffer | string): void => {
      const text = chunk.toString();
      const at = text.indexOf(opts.detachKey);
      if (at >= 0) {
        if (at > 0) send({ type: 'input', data: text.slice(0, at) });
        finish({ reason: 'detached' });
        return;
      }
      send({ type: 'input', data: text });
    };
    // `telepty attach ID </dev/null` (or a pipe that ends): nothing more will be typed, so leave.
    const onEnd = (): void => finish({ reason: 'input-ended' });
    const onFrame = (data: Buffer): void => {
      const m = parseViewerServerMessage(data.toString('utf8'));
      // One bad frame does not end the view: it is skipped, and the user told once.
      if (!m) {
        if (!warnedMalformed) stderr.write('\r\ntelepty: ignored a malformed frame from the daemon\r\n');
        warnedMalformed = true;
        return;
      }
      if (m.type === 'replay' || m.type === 'output') {
        showing();
        trackAlt(m.data);
        stdout.write(m.type === 'replay' ? `\x1b[H\x1b[2J${m.data}` : m.data);
      }
      else if (m.type === 'exit') finish({ reason: 'exited', code: m.code });
      else if (m.type === 'error' && !shown) finish({ reason: 'refused', code: m.code, error: m.error });
      else if (m.type === 'error') stderr.write(`\r\ntelepty: ${m.error} [${m.code}]\r\n`);
    };
    const wire = (v: DaemonSocket): void => {
      v.onMessage(onFrame);
      // An error is followed by its close.
      v.ws.on('error', () => undefined);
      v.ws.on('close', (code, reason) => {
        if (end || v !== view) return;
        if (code === VIEWER_CLOSE.SESSION_ENDED) finish({ reason: 'exited', code: null });
        else if (code === VIEWER_CLOSE.TOO_SLOW) finish({ reason: 'dropped' });
        else if (opts.reconnect && shown && code !== VIEWER_CLOSE.HOST_GONE) void reattach(opts.reconnect, code);
        else if (code === VIEWER_CLOSE.HOST_GONE && reason.length > 0) finish({ reason: 'disconnected', why: reason.toString('utf8') });
        else finish({ reason: 'disconnected' });
      });
    };
    /**
     * The daemon went away (killed, restarted) while the session goes on: attach again through the next daemon. (Or
     * the session's host died: the daemon then says the session exited, and attach ends with that.) Keys
     * typed meanwhile wait in the terminal (stdin is not read) and go once attached; the replay repaints the screen.
     */
    const reattach = async (reconnect: NonNullable<AttachOptions['reconnect']>, code: number): Promise<void> => {
      stdin.pause();
      // Which end went is not known here: the daemon, or (for a viewer its host serves itself) the session's host.
      stderr.write(`\r\n[telepty: the connection to ${id} was lost; reattaching…]\r\n`);
      const deadline = Date.now() + REATTACH_MAX_MS;
      for (let attempt = 0; !end; attempt++) {
        try {
          const c = await reconnect({ autostart: code !== CLOSE_GOING_AWAY });
          const v = await openDaemonSocket(c, sessionPath(id));
          if (end) {
            v.ws.close(1000, 'viewer done');
            return;
          }
          view = v;
          wire(v);
          size();
          stdin.resume();
          return;
        } catch (err) {
          // The session is gone, or ended (its host died, killed -9, which drops a viewer the host serves): no daemon
          // brings it back.
          if (isTeleptyError(err) && (err.code === 'SESSION_NOT_FOUND' || err.code === 'SESSION_EXITED')) return finish({ reason: 'refused', code: err.code, error: err.message });
          if (Date.now() >= deadline) return finish({ reason: 'disconnected' });
          await new Promise((r) => setTimeout(r, REATTACH_DELAYS_MS[Math.min(attempt, REATTACH_DELAYS_MS.length - 1)]));
        }
      }
    };
    wire(view);
    stdin.on('data', onInput);
    stdin.on('end', onEnd);
    stdin.resume();
  });
}
