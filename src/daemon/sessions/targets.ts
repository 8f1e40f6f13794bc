import { isOnMachine } from '../../protocol/address.js';
import { TeleptyError } from '../../protocol/errors.js';
import { parseAddress, type SessionAddress } from '../../protocol/ids.js';
import type { InjectOptions, InjectResponse } from '../../protocol/inject.js';
import type { KillResponse, RenameResponse, ScreenQuery, ScreenSnapshot } from '../../protocol/session.js';
import type { Injector } from '../inject/injector.js';
import type { InjectOrigin, SessionEntry, SessionTarget, ViewerHandle } from '../target.js';
import type { SessionRegistry } from './registry.js';
import type { Sessions } from './service.js';
import type { ViewerHub } from './viewer-hub.js';

/** Where an address points: a session of this machine (by id), or one of another machine. */
export type Located = { local: true; id: string } | { local: false; id: string; machineId: string };

/** Where `address` (`id` or `id@machine`) points, seen from `machineId`. Throws INVALID_SESSION_ID for a bad one. */
export function locate(address: unknown, machineId: string): Located {
  const a: SessionAddress = parseAddress(address);
  return isOnMachine(a, machineId) ? { local: true, id: a.id } : { local: false, id: a.id, machineId: a.host as string };
}

/** What a local target does its work with: the daemon's own services. */
export interface LocalTargetDeps {
  machineId: string;
  sessions: Pick<Sessions, 'kill' | 'rename' | 'screen'>;
  injector: Pick<Injector, 'inject' | 'submit'>;
  viewers: Pick<ViewerHub, 'attach'>;
}

/** A session whose host (ours, or a 0.1.5x owner) is connected to this daemon. */
export class LocalSessionTarget implements SessionTarget {
  readonly local = true;

  constructor(
    private readonly entry: SessionEntry,
    private readonly deps: LocalTargetDeps,
  ) {}

  get id(): string {
    return this.entry.id;
  }

  get machineId(): string {
    return this.deps.machineId;
  }

  inject(prompt: string, opts: InjectOptions, origin?: InjectOrigin): Promise<InjectResponse> {
    return this.deps.injector.inject(this.entry.id, prompt, opts, origin);
  }

  enter(opts: InjectOptions): Promise<InjectResponse> {
    return this.deps.injector.submit(this.entry.id, opts);
  }

  read(q: ScreenQuery): Promise<ScreenSnapshot> {
    return this.deps.sessions.screen(this.entry.id, q);
  }

  kill(opts: { wait: boolean } = { wait: true }): Promise<KillResponse> {
    return this.deps.sessions.kill(this.entry.id, opts);
  }

  rename(newId: string): Promise<RenameResponse> {
    return this.deps.sessions.rename(this.entry.id, newId);
  }

  subscribe(viewer: ViewerHandle): () => void {
    return this.deps.viewers.attach(this.entry, viewer);
  }
}

/**
 * Addresses to targets: the one place the daemon decides whether a session is on this machine. `id` and
 * `id@<this machine>` resolve to the local session; `id@<another>` is UNKNOWN_HOST while no peers are known (the
 * fleet will resolve it to a remote target here, through that machine's daemon).
 */
export class SessionTargets {
  constructor(
    private readonly registry: Pick<SessionRegistry, 'require'>,
    private readonly deps: LocalTargetDeps,
  ) {}

  get machineId(): string {
    return this.deps.machineId;
  }

  /** The id on this machine that `address` names, or UNKNOWN_HOST (nothing is delivered elsewhere). */
  localId(address: unknown, what = `target ${String(address)}`): string {
    const where = locate(address, this.deps.machineId);
    if (!where.local) throw unknownHost(what, where.machineId);
    return where.id;
  }

  /** The session `address` names, wherever it runs; SESSION_NOT_FOUND / UNKNOWN_HOST when none. */
  resolve(address: unknown): SessionTarget {
    const id = this.localId(address);
    return new LocalSessionTarget(this.registry.require(id), this.deps);
  }
}

/**
 * A session of another machine, while this daemon knows no peer that could reach it: in no fleet, or in one it cannot
 * use (`problem`: why, e.g. credentials of another machine), which the message then says.
 */
export function unknownHost(what: string, machineId: string, problem: string | null = null): TeleptyError {
  if (problem !== null) return new TeleptyError('UNKNOWN_HOST', `${what} is on host ${machineId}, but this machine's fleet is not usable (${problem}), so it was not delivered; see telepty fleet status`);
  return new TeleptyError('UNKNOWN_HOST', `${what} is on host ${machineId}; no peer is configured for it, so it was not delivered`);
}
