import { randomUUID } from 'node:crypto';
import type { BusEvent } from '../../protocol/bus.js';
import { TeleptyError } from '../../protocol/errors.js';
import { expectObject, optInt, optSessionRef, optSessionRefArray, reqString } from '../../protocol/validate.js';
import { PersistedRecords, type RecordsDeps } from './record-store.js';

export interface Thread {
  thread_id: string;
  topic: string;
  status: 'active' | 'closed';
  orchestrator_session_id: string | null;
  participant_session_ids: string[];
  context: unknown;
  /** Prompts routed with this thread_id (counted from message_routed events), or the count given on close. */
  message_count: number;
  created_at: string;
  /** Last change (opened, a message counted, closed); absent in records written before it was kept. */
  updated_at?: string;
  closed_at: string | null;
}

const MAX_THREADS = 5_000;
/** Sessions one thread may name. */
const MAX_PARTICIPANTS = 256;

function isThread(v: unknown): v is Thread {
  const t = v as Thread;
  return typeof v === 'object' && v !== null && typeof t.thread_id === 'string' && (t.status === 'active' || t.status === 'closed') && Array.isArray(t.participant_session_ids);
}

/** Deliberation threads (PROTOCOL.md): opened by an orchestrator, counted as messages flow, closed with a count. */
export class Threads extends PersistedRecords<Thread> {
  constructor(deps: RecordsDeps) {
    super(deps, { idOf: (t) => t.thread_id, isValid: isThread, evictable: (t) => t.status === 'closed', max: MAX_THREADS });
  }

  /** Count prompts routed within an active thread. */
  observe(ev: BusEvent): void {
    if (ev.kind !== 'message_routed' || typeof ev.thread_id !== 'string') return;
    const t = this.store.get(ev.thread_id);
    if (t && t.status === 'active') {
      t.message_count++;
      t.updated_at = new Date(this.now()).toISOString();
      this.store.touched();
    }
  }

  create(body: unknown): { thread_id: string; status: 'active' } {
    const o = expectObject(body);
    const t: Thread = {
      thread_id: randomUUID(),
      topic: reqString(o, 'topic', { min: 1, max: 1_000, noNul: true }),
      status: 'active',
      // A deliberation spans machines: its sessions are addresses (`id` or `id@host`).
      orchestrator_session_id: optSessionRef(o, 'orchestrator_session_id', { address: true }) ?? null,
      participant_session_ids: optSessionRefArray(o, 'participant_session_ids', MAX_PARTICIPANTS, { address: true }) ?? [],
      context: o.context ?? null,
      message_count: 0,
      created_at: new Date(this.now()).toISOString(),
      updated_at: new Date(this.now()).toISOString(),
      closed_at: null,
    };
    this.store.put(t);
    this.events.emit('thread.opened', { thread_id: t.thread_id, topic: t.topic, orchestrator_session_id: t.orchestrator_session_id, participant_session_ids: t.participant_session_ids });
    return { thread_id: t.thread_id, status: 'active' };
  }

  list(status: string | null): Thread[] {
    if (status !== null && status !== 'active' && status !== 'closed') throw new TeleptyError('INVALID_FIELD', 'status must be active or closed', { field: 'status' });
    return this.store.list().filter((t) => status === null || t.status === status);
  }

  get(id: string): Thread {
    const t = this.store.get(id);
    if (!t) throw new TeleptyError('NOT_FOUND', `no thread ${JSON.stringify(id.slice(0, 64))}`);
    return t;
  }

  update(id: string, body: unknown): Thread {
    const t = this.get(id);
    const o = expectObject(body);
    if (o.status !== 'closed') throw new TeleptyError('INVALID_FIELD', 'the only change a thread takes is {"status":"closed"}', { field: 'status' });
    if (t.status === 'closed') throw new TeleptyError('CONFLICT', `thread ${id} is already closed`);
    const messageCount = optInt(o, 'message_count', 0, Number.MAX_SAFE_INTEGER) ?? t.message_count; // validate first
    t.status = 'closed';
    t.closed_at = new Date(this.now()).toISOString();
    t.updated_at = t.closed_at;
    t.message_count = messageCount;
    this.store.touched();
    this.events.emit('thread.closed', { thread_id: t.thread_id, topic: t.topic, message_count: t.message_count });
    return t;
  }
}
