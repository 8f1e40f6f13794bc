import type { AgentState, AgentStateInfo, WaitUntil } from '../../protocol/agent-state.js';
import type { EventSink } from '../../protocol/events.js';
import type { StateAnswer } from '../../protocol/ops/state.js';
import type { SessionObject } from '../../protocol/session.js';
import type { SessionEntry } from '../target.js';

interface Waiter {
  until: WaitUntil;
  /** The state when the wait began (`any-change` resolves on the first change after it). */
  from: AgentStateInfo;
  resolve(info: AgentStateInfo): void;
}

const UNKNOWN: AgentStateInfo = { state: 'unknown', since: 0, source: null, detail: null, reason: 'no state reported by this session host' };

/**
 * The agent state of each session as its host reports it (issue 19): kept in memory only (a host reports it again
 * on every reconnect), published on the bus as `session.state` on every change, and waited for by `wait`.
 */
export class AgentStates {
  private readonly byEntry = new WeakMap<SessionEntry, { info: AgentStateInfo; explain: string[] }>();
  private readonly waiters = new Map<SessionEntry, Set<Waiter>>();
  /** Hosts that serve `keys` and `hook` (their hello's `features`). */
  private readonly features = new WeakMap<SessionEntry, Set<string>>();

  constructor(private readonly events: EventSink) {}

  setFeatures(e: SessionEntry, features: readonly string[] | undefined): void {
    this.features.set(e, new Set(features ?? []));
  }

  hasFeature(e: SessionEntry, feature: string): boolean {
    return this.features.get(e)?.has(feature) ?? false;
  }

  /** The state of a session: `exited` once it has, what its host last said, or `unknown` (an older host). */
  get(e: SessionEntry): AgentStateInfo {
    const known = this.byEntry.get(e)?.info;
    if (e.status === 'exited') {
      return known?.state === 'exited' ? known : { state: 'exited', since: e.exitedAt ?? known?.since ?? 0, source: known?.source ?? null, detail: null, reason: 'the session exited' };
    }
    return known ?? { ...UNKNOWN, since: Date.parse(e.createdAt) || 0 };
  }

  answer(e: SessionEntry): StateAnswer {
    const info = this.get(e);
    return {
      session_id: e.id,
      state: info.state,
      since: new Date(info.since).toISOString(),
      source: info.source,
      detail: info.detail,
      reason: info.reason,
      explain: this.byEntry.get(e)?.explain ?? [info.reason],
    };
  }

  /** The fields the session object carries. */
  fields(e: SessionEntry): Pick<SessionObject, 'state' | 'state_since' | 'state_source' | 'state_detail'> {
    const info = this.get(e);
    return { state: info.state, state_since: new Date(info.since).toISOString(), state_source: info.source, state_detail: info.detail };
  }

  /** A host's report. Published when the state or its detail changed (a reconnect's repeat is not a change). */
  report(e: SessionEntry, info: AgentStateInfo, explain: string[]): void {
    const prev = this.get(e);
    this.byEntry.set(e, { info, explain });
    if (prev.state === info.state && prev.detail === info.detail) return;
    this.changed(e, info, prev);
  }

  /**
   * The session exited: waits end. Not published here: the host's own `exited` report is (it comes before its exit
   * message), and `session_exit` says it for a host that died without one.
   */
  exited(e: SessionEntry): void {
    const prev = this.byEntry.get(e)?.info ?? UNKNOWN;
    if (prev.state === 'exited') return;
    const info = this.get(e);
    this.byEntry.set(e, { info, explain: [info.reason] });
    this.changed(e, info, prev, false);
  }

  private changed(e: SessionEntry, info: AgentStateInfo, prev: AgentStateInfo, publish = true): void {
    if (publish) this.events.emit('session.state', {
      session_id: e.id,
      state: info.state,
      previous: prev.state,
      since: new Date(info.since).toISOString(),
      // Not `source`: the bus envelope's `source` is the sender (the daemon).
      state_source: info.source,
      detail: info.detail,
      reason: info.reason,
    });
    const ws = this.waiters.get(e);
    if (!ws) return;
    for (const w of [...ws]) {
      if (reached(w, info)) {
        ws.delete(w);
        w.resolve(info);
      }
    }
    if (ws.size === 0) this.waiters.delete(e);
  }

  /**
   * Resolves with the state once `until` is reached (at once when it already is, except `any-change`), or null
   * after `timeoutMs`. An exited session ends every wait: nothing will change any more.
   */
  wait(e: SessionEntry, until: WaitUntil, timeoutMs: number): Promise<AgentStateInfo | null> {
    const now = this.get(e);
    if ((until !== 'any-change' && now.state === until) || now.state === 'exited') return Promise.resolve(now);
    return new Promise((resolve) => {
      const set = this.waiters.get(e) ?? new Set<Waiter>();
      this.waiters.set(e, set);
      const timer = setTimeout(() => {
        set.delete(w);
        if (set.size === 0 && this.waiters.get(e) === set) this.waiters.delete(e);
        resolve(null);
      }, timeoutMs);
      const w: Waiter = {
        until,
        from: now,
        resolve: (info) => {
          clearTimeout(timer);
          resolve(info);
        },
      };
      set.add(w);
    });
  }
}

function reached(w: Waiter, info: AgentStateInfo): boolean {
  if (info.state === 'exited') return true;
  if (w.until === 'any-change') return info.state !== w.from.state || info.detail !== w.from.detail;
  return info.state === w.until;
}
