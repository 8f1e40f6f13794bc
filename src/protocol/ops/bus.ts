import type { Guard } from '../guard.js';
import { isPublishAckShape, type PublishAck } from '../bus.js';
import { operation } from './contract.js';

/** One event to publish: `kind` (or the seed's `type`) and any fields; the daemon completes the envelope. */
export interface PublishRequestBody {
  kind?: string;
  type?: string;
  target?: string;
  source?: string;
  payload?: Record<string, unknown>;
  [field: string]: unknown;
}

export const isPublishAck: Guard<PublishAck> = isPublishAckShape;

/**
 * `POST /api/bus/publish`: one event object; answers {success, seq, message_id, delivered}. The event is checked
 * and completed by the bus itself (normalizeEvent needs the daemon's machine id and clock), so it is handed on as
 * it came. (Streams of events and subscriptions go over the bus WebSocket, BUS_PATH.)
 */
export const publishOp = operation<'/api/bus/publish', PublishRequestBody, undefined, unknown, PublishAck>({
  name: 'bus.publish',
  method: 'POST',
  path: '/api/bus/publish',
  parse: ({ body }) => body,
  isAnswer: isPublishAck,
});

export const BUS_OPERATIONS = [publishOp] as const;
