import { arrayOf, isBoolean, isRecord, isString, isTrue, nullable, oneOf, optional, shape, type Guard } from '../guard.js';
import {
  IDEMPOTENCY_HEADER,
  parseInjectOrEnter,
  parseInjectRequest,
  parseMulticastRequest,
  parseSubmitRequest,
  type InjectOptions,
  type InjectOrEnter,
  type InjectRequest,
  type InjectRequestBody,
  type InjectResponse,
  type MulticastRequestBody,
  type MulticastResult,
  type SubmitRequestBody,
} from '../inject.js';
import { operation } from './contract.js';

const INJECT_STATUSES = ['queued', 'written', 'entered', 'submitted'] as const;

export const isInjectResponse: Guard<InjectResponse> = shape<InjectResponse>({
  success: isTrue,
  inject_id: isString,
  session_id: isString,
  status: oneOf(...INJECT_STATUSES),
  written_at: nullable(isString),
  submitted_at: nullable(isString),
  seen: optional(isString),
  confirmed_by: optional(oneOf('hook', 'screen')),
  ready_at: optional(isString),
});

const isSuccessful = shape<MulticastResult['results']['successful'][number]>({ id: isString, inject_id: isString, status: oneOf(...INJECT_STATUSES) });
const isFailed = shape<MulticastResult['results']['failed'][number]>({ id: isString, code: isString, error: isString });

export const isMulticastResult: Guard<MulticastResult> = shape<MulticastResult>({
  success: isBoolean,
  results: (r) => isRecord(r) && arrayOf(isSuccessful)(r.successful) && arrayOf(isFailed)(r.failed),
});

/** `POST /api/sessions/:id/inject`: type a prompt (and submit it); an empty prompt without no_enter presses Enter. */
export const injectOp = operation<'/api/sessions/:id/inject', InjectRequestBody, undefined, InjectOrEnter, InjectResponse>({
  name: 'inject',
  method: 'POST',
  path: '/api/sessions/:id/inject',
  parse: ({ body, headers }) => parseInjectOrEnter(body, headers[IDEMPOTENCY_HEADER]),
  isAnswer: isInjectResponse,
});

/** `POST /api/sessions/:id/submit`: press Enter (and wait for the submission). */
export const submitOp = operation<'/api/sessions/:id/submit', SubmitRequestBody, undefined, InjectOptions, InjectResponse>({
  name: 'submit',
  method: 'POST',
  path: '/api/sessions/:id/submit',
  parse: ({ body, headers }) => parseSubmitRequest(body, headers[IDEMPOTENCY_HEADER]),
  isAnswer: isInjectResponse,
});

/** `POST /api/sessions/multicast/inject`: one prompt to each of `session_ids`. */
export const multicastOp = operation<'/api/sessions/multicast/inject', MulticastRequestBody, undefined, InjectRequest & { session_ids: string[] }, MulticastResult>({
  name: 'multicast',
  method: 'POST',
  path: '/api/sessions/multicast/inject',
  parse: ({ body, headers }) => parseMulticastRequest(body, headers[IDEMPOTENCY_HEADER]),
  isAnswer: isMulticastResult,
});

/** `POST /api/sessions/broadcast/inject`: one prompt to every connected session. */
export const broadcastOp = operation<'/api/sessions/broadcast/inject', InjectRequestBody, undefined, InjectRequest, MulticastResult>({
  name: 'broadcast',
  method: 'POST',
  path: '/api/sessions/broadcast/inject',
  parse: ({ body, headers }) => parseInjectRequest(body, headers[IDEMPOTENCY_HEADER]),
  isAnswer: isMulticastResult,
});

export const INJECT_OPERATIONS = [injectOp, submitOp, multicastOp, broadcastOp] as const;
