import { adoptInlineStyles, styleAttributesThroughCssom } from './adopt-styles.js';
import { ApiFailure, listSessions, type Session } from './api.js';
import { BusPanel } from './bus-panel.js';
import { FullView } from './full-view.js';
import { Thumbnail } from './thumbnail.js';
import { shellQuote } from '../../src/ui/table.js';

/** The list is read again this long after a session event (a burst of events is one read). */
const LIST_DEBOUNCE_MS = 150;
/** And at least this often, for what no event announces (last activity, the fleet's directory). */
const LIST_POLL_MS = 3_000;

/** See Dashboard.observer. */
const THUMB_MARGIN_PX = 100;

function el<T extends HTMLElement>(id: string): T {
  const e = document.getElementById(id);
  if (!e) throw new Error(`the page has no #${id}`);
  return e as T;
}

function ago(iso: string, now: number): string {
  const t = Date.parse(iso);
  if (!Number.isFinite(t)) return '';
  const s = Math.max(0, Math.round((now - t) / 1000));
  return s < 60 ? `${s}s ago` : s < 3600 ? `${Math.floor(s / 60)}m ago` : `${Math.floor(s / 3600)}h ago`;
}

interface Card {
  session: Session;
  root: HTMLElement;
  fields: { state: HTMLElement; command: HTMLElement; cwd: HTMLElement; activity: HTMLElement };
  thumb: Thumbnail | null;
}

function span(cls: string): HTMLSpanElement {
  const s = document.createElement('span');
  s.className = cls;
  return s;
}

class Dashboard {
  private readonly cards = new Map<string, Card>();
  private readonly grid = el<HTMLElement>('sessions');
  private readonly full = new FullView();
  /** Thumbnails within this of the list's visible part are fed (the next row is ready when scrolled to). */
  private readonly observer = new IntersectionObserver((entries) => this.onVisibility(entries), { root: this.grid, rootMargin: `${THUMB_MARGIN_PX}px` });
  private refreshTimer: number | undefined;
  private loading = false;
  private again = false;

  start(): void {
    const link = el<HTMLElement>('link');
    const bus = new BusPanel(
      el<HTMLOListElement>('bus-events'),
      el<HTMLInputElement>('bus-filter'),
      (kind) => {
        if (/^(session|inject|submitted|turn_)/.test(kind)) this.scheduleRefresh();
      },
      (up, code) => {
        link.dataset.state = up ? 'live' : 'down';
        link.textContent = up ? 'live' : code === 1006 ? 'disconnected: retrying… (logged out? run telepty ui)' : `disconnected (${code ?? '?'}): retrying…`;
        if (up) this.scheduleRefresh();
      },
    );
    bus.connect();
    void this.refresh();
    window.setInterval(() => void this.refresh(), LIST_POLL_MS);
    window.setInterval(() => this.tick(), 1_000);
    // A hidden tab feeds no thumbnail; shown again, the observer reports what is on screen afresh.
    document.addEventListener('visibilitychange', () => {
      for (const c of this.cards.values()) {
        if (!c.thumb) continue;
        if (document.hidden) {
          this.observer.unobserve(c.root);
          c.thumb.hide();
        } else {
          this.observer.observe(c.root);
        }
      }
    });
  }

  private scheduleRefresh(): void {
    window.clearTimeout(this.refreshTimer);
    this.refreshTimer = window.setTimeout(() => void this.refresh(), LIST_DEBOUNCE_MS);
  }

  private async refresh(): Promise<void> {
    if (this.loading) {
      this.again = true;
      return;
    }
    this.loading = true;
    try {
      const { sessions, missing } = await listSessions();
      this.render(sessions, missing);
    } catch (err) {
      el<HTMLElement>('summary').textContent = err instanceof ApiFailure ? `cannot list sessions: ${err.answer.code}` : 'cannot reach the daemon';
    } finally {
      this.loading = false;
      if (this.again) {
        this.again = false;
        void this.refresh();
      }
    }
  }

  private render(sessions: Session[], missing: string | null): void {
    const seen = new Set<string>();
    for (const s of sessions) {
      seen.add(s.address);
      const card = this.cards.get(s.address) ?? this.create(s);
      this.fill(card, s);
    }
    for (const [address, card] of this.cards) {
      if (seen.has(address)) continue;
      this.observer.unobserve(card.root);
      card.thumb?.dispose();
      card.root.remove();
      this.cards.delete(address);
    }
    el<HTMLElement>('empty').hidden = sessions.length > 0;
    const machines = new Set(sessions.map((s) => s.machine)).size;
    const counts = new Map<string, number>();
    for (const s of sessions) counts.set(s.state ?? s.status, (counts.get(s.state ?? s.status) ?? 0) + 1);
    const summary = el<HTMLElement>('summary');
    summary.textContent = `${sessions.length} session${sessions.length === 1 ? '' : 's'} on ${machines} machine${machines === 1 ? '' : 's'}: ${[...counts].map(([k, n]) => `${n} ${k}`).join(', ')}${missing ? `; ${missing}` : ''}`;
    summary.dataset.fleet = missing ? 'missing' : 'ok';
  }

  private create(s: Session): Card {
    const root = document.createElement('article');
    root.className = 'card';
    root.dataset.session = s.address;
    root.tabIndex = 0;
    const head = document.createElement('header');
    const name = document.createElement('strong');
    name.className = 'id';
    name.textContent = s.id;
    const machine = span('machine');
    machine.textContent = s.machine;
    const fields = { state: span('state'), command: span('command'), cwd: span('cwd'), activity: span('activity') };
    head.append(name, machine, fields.state);
    const thumbHost = document.createElement('div');
    thumbHost.className = 'thumb';
    const foot = document.createElement('footer');
    foot.append(fields.command, fields.cwd, fields.activity);
    root.append(head, thumbHost, foot);
    root.addEventListener('click', () => this.full.open(this.cards.get(s.address)?.session ?? s));
    root.addEventListener('keydown', (e) => {
      if (e.key === 'Enter') this.full.open(this.cards.get(s.address)?.session ?? s);
    });
    this.grid.append(root);
    const card: Card = { session: s, root, fields, thumb: null };
    card.thumb = new Thumbnail(s, thumbHost);
    this.observer.observe(root);
    this.cards.set(s.address, card);
    return card;
  }

  private fill(card: Card, s: Session): void {
    card.session = s;
    const state = s.state ?? s.status;
    card.root.dataset.state = state;
    card.fields.state.textContent = state;
    card.fields.state.dataset.state = state;
    card.fields.state.title = s.state_detail ?? '';
    // Quoted as `telepty list` shows it: `sh -c 'echo a; sleep 9'`, not `sh -c echo a; sleep 9`.
    card.fields.command.textContent = [s.command, ...s.args].map(shellQuote).join(' ');
    card.fields.cwd.textContent = s.cwd;
    card.fields.activity.dataset.at = s.lastActivityAt;
    card.fields.activity.textContent = ago(s.lastActivityAt, Date.now());
    card.thumb?.resize(s.cols, s.rows);
    if (this.full.openAddress === s.address) this.full.update(s);
  }

  private tick(): void {
    const now = Date.now();
    for (const card of this.cards.values()) card.fields.activity.textContent = ago(card.fields.activity.dataset.at ?? '', now);
  }

  private onVisibility(entries: IntersectionObserverEntry[]): void {
    for (const e of entries) {
      const address = e.target instanceof HTMLElement ? e.target.dataset.session : undefined;
      const thumb = address === undefined ? undefined : this.cards.get(address)?.thumb;
      if (!thumb) continue;
      if (e.isIntersecting) thumb.show();
      else thumb.hide();
    }
  }
}

adoptInlineStyles(document.body);
styleAttributesThroughCssom();
new Dashboard().start();
