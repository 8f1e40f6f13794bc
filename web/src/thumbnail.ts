import { Terminal } from '@xterm/xterm';
import type { Session } from './api.js';
import { ScreenFeed, ScreenPoll, type FeedEnd } from './feed.js';

/** A thumbnail paints at most this often: a dozen flooding sessions cost a dozen small writes a few times a second. */
export const THUMB_PAINT_MS = 250;
/** Output held for one paint beyond this is dropped for a fresh screen (a reconnect replays it) rather than parsed. */
const THUMB_BACKLOG_CHARS = 256 * 1024;
/** A thumbnail whose socket ended (not exited) tries again after this while it is on screen. */
const THUMB_RETRY_MS = 2_000;

/**
 * A live, read-only miniature of a session's screen: its own xterm fed by a viewer socket, painted in batches,
 * connected only while on screen (the page's IntersectionObserver calls show/hide).
 */
export class Thumbnail {
  readonly term: Terminal;
  /** This machine's sessions: the viewer socket; another machine's: its screen, read while shown. */
  private readonly feed: { connect(): void; close(): void };
  private pending = '';
  private timer: number | undefined;
  private retry: number | undefined;
  private visible = false;
  private exited = false;

  private readonly sizer: ResizeObserver;

  constructor(
    readonly session: Session,
    private readonly host: HTMLElement,
  ) {
    this.term = new Terminal({ cols: session.cols, rows: session.rows, fontSize: 10, lineHeight: 1, scrollback: 0, disableStdin: true, cursorBlink: false, allowProposedApi: false });
    this.term.open(host);
    // The whole screen, scaled down to the card (whatever the session's size).
    this.sizer = new ResizeObserver(() => this.fit());
    this.sizer.observe(host);
    const screen = host.querySelector('.xterm-screen');
    if (screen) this.sizer.observe(screen);
    const handlers = {
      data: (text: string, replay: boolean) => this.take(text, replay),
      end: (why: FeedEnd) => {
        if (why.reason === 'exited') this.exited = true;
        else if (session.local && this.visible && !this.exited) this.retry = window.setTimeout(() => this.show(), THUMB_RETRY_MS);
      },
    };
    this.feed = session.local ? new ScreenFeed(session.id, handlers) : new ScreenPoll(session.address, handlers);
  }

  /** On screen: connect (the replay paints the current screen). */
  show(): void {
    this.visible = true;
    window.clearTimeout(this.retry);
    if (!this.exited) this.feed.connect();
  }

  /** Off screen: disconnect; nothing is received or parsed for it. */
  hide(): void {
    this.visible = false;
    window.clearTimeout(this.retry);
    this.feed.close();
    this.pending = '';
  }

  resize(cols: number, rows: number): void {
    if (cols !== this.term.cols || rows !== this.term.rows) this.term.resize(cols, rows);
  }

  dispose(): void {
    this.sizer.disconnect();
    this.hide();
    window.clearTimeout(this.timer);
    this.term.dispose();
  }

  private fit(): void {
    const screen = this.host.querySelector<HTMLElement>('.xterm-screen');
    const xterm = this.host.querySelector<HTMLElement>('.xterm');
    if (!screen || !xterm || screen.offsetWidth === 0 || screen.offsetHeight === 0) return;
    const scale = Math.min(1, this.host.clientWidth / screen.offsetWidth, this.host.clientHeight / screen.offsetHeight);
    xterm.style.transformOrigin = '0 0';
    xterm.style.transform = `scale(${scale.toFixed(3)})`;
  }

  private take(text: string, replay: boolean): void {
    if (replay) {
      this.pending = `\x1b[H\x1b[2J${text}`;
      this.term.reset();
    } else {
      this.pending += text;
    }
    if (this.pending.length > THUMB_BACKLOG_CHARS) {
      // Too much to parse for a thumbnail: start over from the screen as it is now.
      this.pending = '';
      this.feed.close();
      this.feed.connect();
      return;
    }
    this.timer ??= window.setTimeout(() => this.paint(), THUMB_PAINT_MS);
  }

  private paint(): void {
    this.timer = undefined;
    const text = this.pending;
    this.pending = '';
    if (text) this.term.write(text);
  }
}
