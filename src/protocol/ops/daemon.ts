import { isString, isTrue, isInteger, shape, oneOf, type Guard } from '../guard.js';
import { isMetaResponse, type HealthResponse, type MetaResponse, type ShutdownResponse } from '../meta.js';
import { noInput, operation } from './contract.js';

/** `POST /api/token/rotate`: when the new token took effect. */
export interface TokenRotateResponse {
  success: true;
  rotated_at: string;
}

/** `GET /api/meta`: who this daemon is (the home's folder only for local callers). */
export const metaOp = operation<'/api/meta', undefined, undefined, undefined, MetaResponse>({
  name: 'meta',
  method: 'GET',
  path: '/api/meta',
  parse: noInput,
  isAnswer: isMetaResponse,
});

/** `GET /api/health`: answered without auth. */
export const healthOp = operation<'/api/health', undefined, undefined, undefined, HealthResponse>({
  name: 'health',
  method: 'GET',
  path: '/api/health',
  public: true,
  parse: noInput,
  isAnswer: shape<HealthResponse>({ status: oneOf('ok') }),
});

/** `POST /api/daemon/stop` (local user only): the daemon shuts down; sessions keep running. */
export const stopDaemonOp = operation<'/api/daemon/stop', undefined, undefined, undefined, ShutdownResponse>({
  name: 'daemon.stop',
  method: 'POST',
  path: '/api/daemon/stop',
  localOnly: true,
  parse: noInput,
  isAnswer: shape<ShutdownResponse>({ success: isTrue, pid: isInteger }),
});

export const isTokenRotateResponse: Guard<TokenRotateResponse> = shape<TokenRotateResponse>({ success: isTrue, rotated_at: isString });

/** `POST /api/token/rotate` (local user only): a new token in the 0600 token file, in force at once. */
export const rotateTokenOp = operation<'/api/token/rotate', undefined, undefined, undefined, TokenRotateResponse>({
  name: 'token.rotate',
  method: 'POST',
  path: '/api/token/rotate',
  localOnly: true,
  parse: noInput,
  isAnswer: isTokenRotateResponse,
});

export const DAEMON_OPERATIONS = [metaOp, healthOp, stopDaemonOp, rotateTokenOp] as const;
