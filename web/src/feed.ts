import { getJson, sessionPath, wsUrl } from './api.js';

/** Why a feed ended: the session exited, the daemon dropped or refused it, or the page closed it. */
export type FeedEnd = { reason: 'exited'; code: number | null } | { reason: 'closed'; code: number; text: string };

export interface FeedHandlers {
  /** `replay`: the whole current screen (paint it from scratch); otherwise live output. */
  data(text: string, replay: boolean): void;
  end(why: FeedEnd): void;
}

/**
 * A viewer of one session over the daemon's viewer WebSocket (the protocol `telepty attach` speaks): the replay,
 * then live output. Flow control is the daemon's: it pings with the bytes sent and the browser's automatic pong
 * confirms them; a viewer that falls a window behind is repainted from the screen. It never sends a resize: a
 * dashboard watching must not change the session's size.
 */
export class ScreenFeed {
  private ws: WebSocket | null = null;

  constructor(
    private readonly id: string,
    private readonly on: FeedHandlers,
  ) {}

  get open(): boolean {
    return this.ws !== null;
  }

  connect(): void {
    if (this.ws) return;
    const ws = new WebSocket(wsUrl(sessionPath(this.id)));
    this.ws = ws;
    ws.onmessage = (ev: MessageEvent<unknown>) => {
      if (typeof ev.data !== 'string') return;
      const m: unknown = JSON.parse(ev.data);
      if (typeof m !== 'object' || m === null) return;
      const msg = m as { type?: unknown; data?: unknown; code?: unknown };
      if ((msg.type === 'replay' || msg.type === 'output') && typeof msg.data === 'string') this.on.data(msg.data, msg.type === 'replay');
      else if (msg.type === 'exit') this.on.end({ reason: 'exited', code: typeof msg.code === 'number' ? msg.code : null });
    };
    ws.onclose = (ev) => {
      if (this.ws !== ws) return;
      this.ws = null;
      this.on.end({ reason: 'closed', code: ev.code, text: ev.reason });
    };
  }

  /** Keys typed by the person (only when they turned typing on for this session). */
  sendInput(data: string): boolean {
    if (this.ws?.readyState !== WebSocket.OPEN) return false;
    this.ws.send(JSON.stringify({ type: 'input', data }));
    return true;
  }

  close(): void {
    const ws = this.ws;
    this.ws = null;
    ws?.close(1000, 'dashboard done');
  }
}

/** A session of another machine is read through its screen (the daemon forwards it over the fleet) this often. */
export const REMOTE_SCREEN_POLL_MS = 2_000;

/**
 * A thumbnail's source for a session of another machine: no viewer socket crosses the fleet, so its rendered screen
 * (with colours) is read through the ordinary screen route, forwarded by the daemon, while the thumbnail is shown.
 */
export class ScreenPoll {
  private timer: number | undefined;
  private running = false;

  constructor(
    private readonly address: string,
    private readonly on: FeedHandlers,
  ) {}

  connect(): void {
    if (this.running) return;
    this.running = true;
    void this.read();
  }

  close(): void {
    this.running = false;
    window.clearTimeout(this.timer);
  }

  private async read(): Promise<void> {
    try {
      const snap = await getJson(`${sessionPath(this.address)}/screen?ansi=1`);
      if (this.running && typeof snap === 'object' && snap !== null && 'lines' in snap && Array.isArray(snap.lines)) {
        this.on.data(snap.lines.filter((l): l is string => typeof l === 'string').join('\r\n'), true);
      }
    } catch (err) {
      this.on.end({ reason: 'closed', code: 0, text: err instanceof Error ? err.message : String(err) });
    }
    if (this.running) this.timer = window.setTimeout(() => void this.read(), REMOTE_SCREEN_POLL_MS);
  }
}
