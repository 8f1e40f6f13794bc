import { arrayOf, isString, isTrue, shape, type Guard } from '../guard.js';
import { operation } from './contract.js';

/**
 * Handoffs and threads (PROTOCOL.md). Their bodies are the seed's, read field by field by the daemon's records
 * (daemon/records/), so the operations hand the body on as it came; the answers are typed by the fields every
 * record carries (the full records, in our shapes with the 0.1.53 fields beside them, are in daemon/records/).
 */
export interface HandoffAnswer {
  handoff_id: string;
  status: string;
}

export interface ThreadAnswer {
  thread_id: string;
  status: string;
}

/** A record listing's `?status=` filter (null: all). */
export interface StatusFilter {
  status: string | null;
}

const isHandoff: Guard<HandoffAnswer> = shape<HandoffAnswer>({ handoff_id: isString, status: isString });
const isThread: Guard<ThreadAnswer> = shape<ThreadAnswer>({ thread_id: isString, status: isString });
const isChanged = <T>(guard: Guard<T>): Guard<T & { success: true }> => (v): v is T & { success: true } => guard(v) && shape<{ success: true }>({ success: isTrue })(v);
const statusQuery = (q: { status?: string }): URLSearchParams => new URLSearchParams(q.status === undefined ? {} : { status: q.status });

export const createHandoffOp = operation<'/api/handoff', Record<string, unknown>, undefined, unknown, HandoffAnswer>({
  name: 'handoff.create',
  method: 'POST',
  path: '/api/handoff',
  status: 201,
  parse: ({ body }) => body,
  isAnswer: isHandoff,
});

export const listHandoffsOp = operation<'/api/handoff', undefined, { status?: string }, StatusFilter, HandoffAnswer[]>({
  name: 'handoff.list',
  method: 'GET',
  path: '/api/handoff',
  parse: ({ query }) => ({ status: query.get('status') }),
  isAnswer: arrayOf(isHandoff),
  query: statusQuery,
});

export const getHandoffOp = operation<'/api/handoff/:id', undefined, undefined, undefined, HandoffAnswer>({
  name: 'handoff.get',
  method: 'GET',
  path: '/api/handoff/:id',
  parse: () => undefined,
  isAnswer: isHandoff,
});

export const claimHandoffOp = operation<'/api/handoff/:id/claim', Record<string, unknown>, undefined, unknown, HandoffAnswer & { success: true }>({
  name: 'handoff.claim',
  method: 'POST',
  path: '/api/handoff/:id/claim',
  parse: ({ body }) => body,
  isAnswer: isChanged(isHandoff),
});

export const updateHandoffOp = operation<'/api/handoff/:id', Record<string, unknown>, undefined, unknown, HandoffAnswer & { success: true }>({
  name: 'handoff.update',
  method: 'PATCH',
  path: '/api/handoff/:id',
  parse: ({ body }) => body,
  isAnswer: isChanged(isHandoff),
});

export const createThreadOp = operation<'/api/threads', Record<string, unknown>, undefined, unknown, ThreadAnswer>({
  name: 'threads.create',
  method: 'POST',
  path: '/api/threads',
  status: 201,
  parse: ({ body }) => body,
  isAnswer: isThread,
});

export const listThreadsOp = operation<'/api/threads', undefined, { status?: string }, StatusFilter, ThreadAnswer[]>({
  name: 'threads.list',
  method: 'GET',
  path: '/api/threads',
  parse: ({ query }) => ({ status: query.get('status') }),
  isAnswer: arrayOf(isThread),
  query: statusQuery,
});

export const getThreadOp = operation<'/api/threads/:id', undefined, undefined, undefined, ThreadAnswer>({
  name: 'threads.get',
  method: 'GET',
  path: '/api/threads/:id',
  parse: () => undefined,
  isAnswer: isThread,
});

export const updateThreadOp = operation<'/api/threads/:id', Record<string, unknown>, undefined, unknown, ThreadAnswer & { success: true }>({
  name: 'threads.update',
  method: 'PATCH',
  path: '/api/threads/:id',
  parse: ({ body }) => body,
  isAnswer: isChanged(isThread),
});

export const RECORD_OPERATIONS = [createHandoffOp, listHandoffsOp, getHandoffOp, claimHandoffOp, updateHandoffOp, createThreadOp, listThreadsOp, getThreadOp, updateThreadOp] as const;
