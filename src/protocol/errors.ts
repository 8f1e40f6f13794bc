/**
 * Error codes of the wire contract and the HTTP status each one answers with.
 * This table is the one place that maps an error to an HTTP status.
 */
export const ERROR_STATUS = {
  BAD_REQUEST: 400,
  INVALID_JSON: 400,
  INVALID_FIELD: 400,
  INVALID_SESSION_ID: 400,
  INVALID_COMMAND: 400,
  INVALID_CWD: 400,
  INVALID_EVENT: 400,
  UNAUTHORIZED: 401,
  FORBIDDEN: 403,
  FORBIDDEN_ORIGIN: 403,
  FORBIDDEN_HOST: 403,
  NOT_FOUND: 404,
  SESSION_NOT_FOUND: 404,
  UNKNOWN_HOST: 404,
  METHOD_NOT_ALLOWED: 405,
  SESSION_EXISTS: 409,
  SESSION_EXITED: 409,
  CONFLICT: 409,
  /** The session's agent waits on a dialog (agent state `blocked`): a prompt would answer it; nothing was typed. */
  SESSION_BLOCKED: 409,
  /** The request named (by nonce) another daemon than the one that got it. */
  DAEMON_MISMATCH: 412,
  PAYLOAD_TOO_LARGE: 413,
  /** A prompt line longer than a canonical-mode reader can take (the kernel would cut it). */
  LINE_TOO_LONG: 413,
  UNSUPPORTED_MEDIA_TYPE: 415,
  /** A session already has as many prompts waiting as it may hold (a flood): this one was not queued, nothing typed. */
  QUEUE_FULL: 429,
  INTERNAL: 500,
  /** A change could not be written to disk (full disk, read-only folder): it was not made, or is still being retried. */
  PERSIST_FAILED: 507,
  SESSION_DISCONNECTED: 503,
  SESSION_BUSY: 503,
  /** The session's host is older than the request (`keys`, `hook`): it cannot serve it. */
  SESSION_UNSUPPORTED: 501,
  SHUTTING_DOWN: 503,
  TIMEOUT: 504,
  SPAWN_TIMEOUT: 504,
  /** Client-side only: the daemon could not be started or reached. */
  DAEMON_START_FAILED: 503,
  DAEMON_UNREACHABLE: 503,
  /** A machine of the fleet has no daemon on the hub now (NATS: no responders), answered at once. */
  HOST_OFFLINE: 503,
  /** A machine of the fleet is connected but did not answer in time: the request may have been carried out. */
  HOST_TIMEOUT: 504,
  DAEMON_NOT_RUNNING: 503,
  PROTOCOL_MISMATCH: 400,
} as const;

export type ErrorCode = keyof typeof ERROR_STATUS;

/** The body of every error answer: a human sentence and a stable code. */
export interface ErrorBody {
  error: string;
  code: string;
}

export function isErrorCode(value: unknown): value is ErrorCode {
  return typeof value === 'string' && Object.hasOwn(ERROR_STATUS, value);
}

export function isErrorBody(value: unknown): value is ErrorBody {
  return (
    typeof value === 'object' &&
    value !== null &&
    typeof (value as ErrorBody).error === 'string' &&
    typeof (value as ErrorBody).code === 'string'
  );
}

/** An expected failure: carries a code; converted once to HTTP (daemon) or exit code (CLI). */
export class TeleptyError extends Error {
  readonly code: ErrorCode;
  readonly details: Record<string, unknown> | undefined;

  constructor(code: ErrorCode, message: string, details?: Record<string, unknown>) {
    super(message);
    this.name = 'TeleptyError';
    this.code = code;
    this.details = details;
  }

  get status(): number {
    return ERROR_STATUS[this.code];
  }

  toBody(): ErrorBody & Record<string, unknown> {
    return { error: this.message, code: this.code, ...(this.details ?? {}) };
  }

  /** Rebuild an error received over the wire; unknown codes keep their text. */
  static fromBody(body: ErrorBody, fallback: ErrorCode = 'INTERNAL'): TeleptyError {
    const code = isErrorCode(body.code) ? body.code : fallback;
    const { error, code: _code, ...rest } = body as ErrorBody & Record<string, unknown>;
    return new TeleptyError(code, error, Object.keys(rest).length > 0 ? rest : undefined);
  }
}

export function isTeleptyError(value: unknown): value is TeleptyError {
  return value instanceof TeleptyError;
}
