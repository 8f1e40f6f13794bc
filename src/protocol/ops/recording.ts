import { arrayOf, isInteger, isString, nullable, oneOf, optional, shape } from '../guard.js';
import { parseRecordAction, type RecordAction, type RecordingInfo, type RecordRequest, type RecordResponse } from '../recording.js';
import { operation } from './contract.js';

/**
 * `POST /api/sessions/:id/record` `{action: 'start', file?, format?, input?}` or `{action: 'stop'}`: start or stop a
 * running session's asciicast recording (issue 22). Answered with the recording under way (null after a stop) and,
 * after a stop, the files it wrote.
 */
export const recordSessionOp = operation<'/api/sessions/:id/record', ({ action: 'start' } & RecordRequest) | { action: 'stop' }, undefined, RecordAction, RecordResponse>({
  name: 'sessions.record',
  method: 'POST',
  path: '/api/sessions/:id/record',
  parse: ({ body }) => parseRecordAction(body),
  isAnswer: shape<RecordResponse>({
    session_id: isString,
    recording: nullable(shape<RecordingInfo>({ file: isString, format: oneOf(2, 3) })),
    files: optional(arrayOf(isString)),
    dropped_bytes: optional(isInteger),
  }),
});

export const RECORDING_OPERATIONS = [recordSessionOp] as const;
