import { parseHookReport } from '../../protocol/agent-state.js';
import { hookReportOf } from '../../terminal/agent-hooks.js';
import { PROGRAMS, type ProgramName } from '../../terminal/programs.js';
import { TeleptyError } from '../../protocol/errors.js';
import type { LinkFeature } from '../../protocol/host-link.js';
import type { HookRequest, KeysAnswer, SinceAnswer, StateAnswer, WaitAnswer, WaitRequest } from '../../protocol/ops/state.js';
import type { Logger } from '../../util/log.js';
import type { HostHandle, SessionEntry } from '../target.js';
import { lastScreenSince } from './last-screen.js';
import type { SessionRegistry } from './registry.js';

/**
 * The agent-state operations (issue 19): a session's state, waiting for one, keys for a dialog, and the program's
 * hook reports (forwarded to the host, whose tracker decides).
 */
export class SessionStateService {
  constructor(
    private readonly registry: SessionRegistry,
    private readonly requestTimeoutMs: number,
    private readonly log: Logger,
  ) {}

  async state(id: unknown): Promise<StateAnswer> {
    await this.registry.whenHostsBack();
    return this.registry.states.answer(this.registry.require(id));
  }

  async wait(id: unknown, req: WaitRequest): Promise<WaitAnswer> {
    await this.registry.whenHostsBack();
    const e = this.registry.require(id);
    const reached = await this.registry.states.wait(e, req.until, req.timeout_ms);
    return { ...this.registry.states.answer(e), reached: reached !== null };
  }

  async keys(id: unknown, keys: string[]): Promise<KeysAnswer> {
    await this.registry.whenHostsBack();
    const e = this.withFeature(id, 'keys');
    const r = await e.link.request('keys', { keys }, this.requestTimeoutMs);
    this.log.info(`keys to ${e.id}: ${r.keys.join(' ')} (${r.bytes} bytes)`);
    return { session_id: e.id, keys: r.keys, bytes: r.bytes };
  }

  /**
   * What the session showed after the prompt `injectId` was submitted (`read --since`), from its host's memory; with
   * `lastScreen`, of an exited session from the last screen its host sent (lastScreenSince).
   */
  async since(id: unknown, injectId: string, lastScreen = false): Promise<SinceAnswer> {
    await this.registry.whenHostsBack();
    const kept = lastScreen ? lastScreenSince(this.registry.require(id), injectId) : null;
    if (kept) return kept;
    const e = this.withFeature(id, 'since');
    const r = await e.link.request('since', { inject_id: injectId }, this.requestTimeoutMs);
    return { session_id: e.id, ...r };
  }

  /** A hook's report, mapped for the program (a report that says nothing telepty uses changes nothing). */
  async hook(id: unknown, req: HookRequest): Promise<StateAnswer> {
    const e = this.withFeature(this.hookTarget(id, req.instance), 'hook');
    if (!Object.hasOwn(PROGRAMS, req.program)) {
      throw new TeleptyError('INVALID_FIELD', `"program" must be one of ${Object.keys(PROGRAMS).join(', ')}`, { field: 'program' });
    }
    const report = hookReportOf(req.program as ProgramName, req.event, req.input);
    if (report) await e.link.request('hook', parseHookReport(report), this.requestTimeoutMs);
    return this.registry.states.answer(e);
  }

  /**
   * The session a hook reports for: its host instance decides when given (a rename changed the id, while the
   * program's TELEPTY_SESSION_ID keeps the one it started with); else the id.
   */
  private hookTarget(id: unknown, instance: string | undefined): unknown {
    if (instance === undefined) return id;
    const byInstance = this.registry.list().find((e) => e.hostInstance === instance);
    // A session by that id with another instance is not the hook's: its own session is gone.
    if (!byInstance) throw new TeleptyError('SESSION_NOT_FOUND', `no session of host instance ${instance.slice(0, 12)}… (the hook's session has ended)`);
    return byInstance.id;
  }

  private withFeature(id: unknown, feature: LinkFeature): SessionEntry & { link: HostHandle } {
    const e = this.registry.requireConnected(id);
    if (!this.registry.states.hasFeature(e, feature)) {
      throw new TeleptyError('SESSION_UNSUPPORTED', `session ${e.id} runs an older telepty host that does not serve ${feature}: start it again with this version`, { id: e.id });
    }
    return e;
  }
}
