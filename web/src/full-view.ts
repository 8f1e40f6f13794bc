import { Terminal } from '@xterm/xterm';
import { ApiFailure, postJson, sessionPath, type Session } from './api.js';
import { ScreenFeed, ScreenPoll } from './feed.js';

function el<T extends HTMLElement>(id: string): T {
  const e = document.getElementById(id);
  if (!e) throw new Error(`the page has no #${id}`);
  return e as T;
}

/** What an inject answered, as the page shows it: the outcome's status, or the error's code. */
export function injectOutcome(answer: unknown): string {
  if (typeof answer === 'object' && answer !== null && 'status' in answer && typeof answer.status === 'string') return answer.status;
  return 'unknown answer';
}

/**
 * One session full-size: a live terminal (the same viewer socket as a thumbnail), typing off until the person turns it
 * on for this session, and an inject box that sends a prompt through the normal inject route and shows its outcome.
 */
export class FullView {
  private readonly root = el<HTMLDivElement>('full');
  private readonly title = el<HTMLElement>('full-title');
  private readonly state = el<HTMLElement>('full-state');
  private readonly typing = el<HTMLInputElement>('full-typing');
  private readonly note = el<HTMLElement>('full-note');
  private readonly termHost = el<HTMLDivElement>('full-term');
  private readonly prompt = el<HTMLTextAreaElement>('inject-prompt');
  private readonly result = el<HTMLOutputElement>('inject-result');
  /** Sessions the person allowed typing into, by address (kept while the page lives). */
  private readonly typingAllowed = new Set<string>();
  private current: { session: Session; term: Terminal; feed: { close(): void } } | null = null;

  constructor() {
    el<HTMLButtonElement>('full-close').addEventListener('click', () => this.close());
    document.addEventListener('keydown', (e) => {
      if (e.key === 'Escape' && this.current && !this.typing.checked) this.close();
    });
    this.typing.addEventListener('change', () => {
      if (!this.current) return;
      if (this.typing.checked) this.typingAllowed.add(this.current.session.address);
      else this.typingAllowed.delete(this.current.session.address);
      this.note.textContent = this.typing.checked ? 'keys go to the session' : '';
      if (this.typing.checked) this.current.term.focus();
    });
    el<HTMLFormElement>('inject').addEventListener('submit', (e) => {
      e.preventDefault();
      void this.inject();
    });
  }

  get openAddress(): string | null {
    return this.current?.session.address ?? null;
  }

  open(session: Session): void {
    this.close();
    this.root.hidden = false;
    this.title.textContent = `${session.id} · ${session.machine}`;
    this.update(session);
    this.typing.checked = this.typingAllowed.has(session.address);
    this.typing.disabled = !session.local;
    this.note.textContent = session.local ? '' : 'a session of another machine: its screen is read every 2 s; inject only';
    this.result.textContent = '';
    this.result.removeAttribute('data-outcome');
    const term = new Terminal({ cols: session.cols, rows: session.rows, fontSize: 13, scrollback: 1000, cursorBlink: false });
    term.open(this.termHost);
    const feed = new ScreenFeed(session.id, {
      data: (text, replay) => {
        if (replay) term.reset();
        term.write(text);
      },
      end: (why) => {
        this.note.textContent = why.reason === 'exited' ? `session exited (code ${why.code ?? '?'})` : `disconnected (${why.code}${why.text ? `: ${why.text}` : ''})`;
      },
    });
    term.onData((data) => {
      if (!this.typing.checked) {
        this.note.textContent = 'typing is off for this session: turn it on to type';
        this.note.dataset.refused = String(Number(this.note.dataset.refused ?? '0') + 1);
        return;
      }
      if (!feed.sendInput(data)) this.note.textContent = 'not connected: keys not sent';
    });
    if (session.local) {
      feed.connect();
      this.current = { session, term, feed };
      return;
    }
    const poll = new ScreenPoll(session.address, {
      data: (text) => {
        term.reset();
        term.write(text);
      },
      end: (why) => {
        this.note.textContent = why.reason === 'closed' ? `cannot read its screen: ${why.text}` : 'session exited';
      },
    });
    poll.connect();
    this.current = { session, term, feed: poll };
  }

  /** The session's row changed (state, size). */
  update(session: Session): void {
    if (this.current && this.current.session.address === session.address) this.current.session = session;
    this.state.textContent = session.state ?? session.status;
    this.state.dataset.state = session.state ?? session.status;
  }

  close(): void {
    if (!this.current) return;
    this.current.feed.close();
    this.current.term.dispose();
    this.current = null;
    this.root.hidden = true;
  }

  private async inject(): Promise<void> {
    const target = this.current?.session;
    const prompt = this.prompt.value;
    if (!target || prompt.trim() === '') return;
    this.result.textContent = 'sending…';
    this.result.dataset.outcome = 'pending';
    try {
      const answer = await postJson(`${sessionPath(target.address)}/inject`, { prompt, wait: true, from: 'dashboard' });
      const outcome = injectOutcome(answer);
      this.result.textContent = outcome;
      this.result.dataset.outcome = outcome;
      if (outcome === 'submitted' || outcome === 'entered') this.prompt.value = '';
    } catch (err) {
      const code = err instanceof ApiFailure ? err.answer.code : 'NETWORK';
      this.result.textContent = err instanceof ApiFailure ? `${code}: ${err.answer.error}` : `${code}: ${String(err)}`;
      this.result.dataset.outcome = code;
    }
  }
}
