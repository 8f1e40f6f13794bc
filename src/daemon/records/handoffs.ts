import { randomUUID } from 'node:crypto';
import { TeleptyError } from '../../protocol/errors.js';
import { expectObject, optBool, optSessionRef, optString } from '../../protocol/validate.js';
import { PersistedRecords, type RecordsDeps } from './record-store.js';

export type HandoffStatus = 'pending' | 'claimed' | 'executing' | 'completed' | 'failed';

export interface Handoff {
  handoff_id: string;
  status: HandoffStatus;
  synthesis: Record<string, unknown>;
  task_count: number;
  source_session_id: string | null;
  deliberation_id: string | null;
  auto_execute: boolean;
  claimed_by: string | null;
  created_at: string;
  updated_at: string;
  progress: { status: HandoffStatus; message: string | null; at: string }[];
  result: unknown;
}

export type HandoffSummary = Omit<Handoff, 'synthesis' | 'progress' | 'result'>;

/** Status changes a PATCH may make (claiming has its own route). */
const NEXT: Record<HandoffStatus, HandoffStatus[]> = { pending: [], claimed: ['executing', 'failed'], executing: ['completed', 'failed'], completed: [], failed: [] };
const STATUSES = new Set<string>(['pending', 'claimed', 'executing', 'completed', 'failed']);
/** Handoffs kept (finished ones are forgotten first). */
const MAX_HANDOFFS = 5_000;
const MAX_TASKS = 1_000;
const REF = { max: 256, noNul: true };

function isHandoff(v: unknown): v is Handoff {
  const h = v as Handoff;
  return typeof v === 'object' && v !== null && typeof h.handoff_id === 'string' && STATUSES.has(h.status) && typeof h.synthesis === 'object' && Array.isArray(h.progress);
}

/** Handoff inbox (PROTOCOL.md): a deliberation's synthesis, claimed and carried out by an agent session. */
export class Handoffs extends PersistedRecords<Handoff> {
  constructor(deps: RecordsDeps) {
    super(deps, { idOf: (h) => h.handoff_id, isValid: isHandoff, evictable: (h) => h.status === 'completed' || h.status === 'failed', max: MAX_HANDOFFS });
  }

  private summary(h: Handoff): HandoffSummary {
    const { synthesis: _s, progress: _p, result: _r, ...rest } = h;
    return rest;
  }

  /** `handoff.created` on creation, then `handoff.<status>` for each change (seed names). */
  private announce(h: Handoff, kind: string, extra: Record<string, unknown> = {}): void {
    this.events.emit(kind, {
      handoff_id: h.handoff_id,
      source_session_id: h.source_session_id,
      deliberation_id: h.deliberation_id,
      auto_execute: h.auto_execute,
      task_count: h.task_count,
      ...extra,
    });
  }

  create(body: unknown): { handoff_id: string; status: 'pending' } {
    const o = expectObject(body);
    const synthesis = expectObject(o.synthesis, '"synthesis"');
    if (!Array.isArray(synthesis.tasks) || synthesis.tasks.length > MAX_TASKS) {
      throw new TeleptyError('INVALID_FIELD', `"synthesis.tasks" must be an array of at most ${MAX_TASKS} tasks`, { field: 'synthesis.tasks' });
    }
    const at = new Date(this.now()).toISOString();
    const h: Handoff = {
      handoff_id: randomUUID(),
      status: 'pending',
      synthesis,
      task_count: synthesis.tasks.length,
      // The deliberation that produced it may run on another machine: an address (`id` or `id@host`).
      source_session_id: optSessionRef(o, 'source_session_id', { address: true }) ?? null,
      deliberation_id: optString(o, 'deliberation_id', REF) ?? null,
      auto_execute: optBool(o, 'auto_execute') ?? false,
      claimed_by: null,
      created_at: at,
      updated_at: at,
      progress: [{ status: 'pending', message: null, at }],
      result: null,
    };
    this.store.put(h);
    this.announce(h, 'handoff.created');
    return { handoff_id: h.handoff_id, status: 'pending' };
  }

  list(status: string | null): HandoffSummary[] {
    if (status !== null && !STATUSES.has(status)) throw new TeleptyError('INVALID_FIELD', `unknown status ${JSON.stringify(status.slice(0, 20))}`, { field: 'status' });
    return this.store
      .list()
      .filter((h) => status === null || h.status === status)
      .map((h) => this.summary(h));
  }

  get(id: string): Handoff {
    const h = this.store.get(id);
    if (!h) throw new TeleptyError('NOT_FOUND', `no handoff ${JSON.stringify(id.slice(0, 64))}`);
    return h;
  }

  private move(h: Handoff, status: HandoffStatus, message: string | null): void {
    const at = new Date(this.now()).toISOString();
    h.status = status;
    h.updated_at = at;
    h.progress.push({ status, message, at });
  }

  claim(id: string, body: unknown): { success: true; handoff_id: string; status: 'claimed' } {
    const h = this.get(id);
    // The claiming agent is a session of this daemon: a plain session id.
    const agent = optSessionRef(expectObject(body), 'agent_session_id', { address: false });
    if (!agent) throw new TeleptyError('INVALID_FIELD', '"agent_session_id" is required', { field: 'agent_session_id' });
    if (h.status !== 'pending') throw new TeleptyError('CONFLICT', `handoff ${id} is ${h.status}, not pending`);
    h.claimed_by = agent;
    this.move(h, 'claimed', null);
    this.store.touched();
    this.announce(h, 'handoff.claimed', { agent_session_id: agent });
    return { success: true, handoff_id: id, status: 'claimed' };
  }

  update(id: string, body: unknown): Handoff {
    const h = this.get(id);
    const o = expectObject(body);
    const status = optString(o, 'status', { max: 20 });
    if (!status || !NEXT[h.status].includes(status as HandoffStatus)) {
      throw new TeleptyError('INVALID_FIELD', `a ${h.status} handoff can move to ${NEXT[h.status].join(' or ') || 'nothing'}, not ${JSON.stringify(status ?? null)}`, { field: 'status' });
    }
    this.move(h, status as HandoffStatus, optString(o, 'message', { max: 10_000 }) ?? null);
    if (o.result !== undefined) h.result = o.result;
    this.store.touched();
    this.announce(h, `handoff.${h.status}`, { agent_session_id: h.claimed_by });
    return h;
  }
}
