import { wsUrl } from './api.js';

/** The panel keeps this many events (newest first); older ones leave the page. */
const BUS_KEEP = 400;
/** The list is redrawn at most this often: a burst (or the replay on connect) is one redraw. */
const BUS_RENDER_MS = 100;
/** After the bus socket closes, try again after this (the daemon may be restarting). */
const BUS_RETRY_MS = 1_500;

export interface BusEventView {
  seq: number;
  kind: string;
  source: string;
  target: string;
  ts: string;
  text: string;
}

function field(o: Record<string, unknown>, name: string): string {
  const v = o[name];
  return typeof v === 'string' ? v : typeof v === 'number' ? String(v) : '';
}

/** The bus as a filterable live list, from the bus WebSocket (the protocol `telepty tail` speaks). */
export class BusPanel {
  private readonly events: BusEventView[] = [];
  private ws: WebSocket | null = null;
  private filter = '';
  /** The last event taken: a reconnect resumes after it (the daemon's replay ring fills the gap). */
  private lastSeq = 0;
  private renderTimer: number | undefined;

  constructor(
    private readonly list: HTMLOListElement,
    filterInput: HTMLInputElement,
    private readonly onEvent: (kind: string) => void,
    private readonly onLink: (up: boolean, code?: number) => void,
  ) {
    filterInput.addEventListener('input', () => {
      this.filter = filterInput.value.trim().toLowerCase();
      this.render();
    });
  }

  connect(): void {
    // The first connect replays what the daemon's ring still holds, so the list starts with recent history.
    const ws = new WebSocket(wsUrl(`/api/bus?since=${this.lastSeq}`));
    this.ws = ws;
    ws.onopen = () => this.onLink(true);
    ws.onmessage = (ev: MessageEvent<unknown>) => {
      if (typeof ev.data !== 'string') return;
      for (const line of ev.data.split('\n')) if (line.trim()) this.take(line);
      this.renderTimer ??= window.setTimeout(() => {
        this.renderTimer = undefined;
        this.render();
      }, BUS_RENDER_MS);
    };
    ws.onclose = (ev) => {
      if (this.ws !== ws) return;
      this.ws = null;
      this.onLink(false, ev.code);
      window.setTimeout(() => this.connect(), BUS_RETRY_MS);
    };
  }

  private take(line: string): void {
    const v: unknown = JSON.parse(line);
    if (typeof v !== 'object' || v === null) return;
    const o = v as Record<string, unknown>;
    const kind = field(o, 'kind') || field(o, 'type');
    if (!kind) return;
    const detail = ['session_id', 'inject_id', 'state', 'status', 'code', 'new_id'].map((k) => (o[k] === undefined ? '' : `${k}=${field(o, k)}`)).filter(Boolean);
    const seq = typeof o.seq === 'number' ? o.seq : 0;
    if (seq > this.lastSeq) this.lastSeq = seq;
    this.events.unshift({ seq, kind, source: field(o, 'source'), target: field(o, 'target'), ts: field(o, 'ts'), text: detail.join(' ') });
    if (this.events.length > BUS_KEEP) this.events.length = BUS_KEEP;
    this.onEvent(kind);
  }

  private matches(e: BusEventView): boolean {
    if (!this.filter) return true;
    return `${e.kind} ${e.source} ${e.target} ${e.text}`.toLowerCase().includes(this.filter);
  }

  private render(): void {
    const rows = this.events.filter((e) => this.matches(e)).slice(0, 200);
    this.list.replaceChildren(
      ...rows.map((e) => {
        const li = document.createElement('li');
        li.dataset.kind = e.kind;
        const time = document.createElement('time');
        time.textContent = e.ts.slice(11, 19);
        const kind = document.createElement('b');
        kind.textContent = e.kind;
        const rest = document.createElement('span');
        rest.textContent = ` ${e.source}${e.target ? ` → ${e.target}` : ''} ${e.text}`;
        li.append(time, ' ', kind, rest);
        return li;
      }),
    );
  }
}
