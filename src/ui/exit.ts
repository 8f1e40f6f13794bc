import { isErrorCode, isTeleptyError, type ErrorCode } from '../protocol/errors.js';

/**
 * Exit codes, documented in the README and man page. The one place that maps an error to an exit code.
 */
export const EXIT = {
  OK: 0,
  /** Anything that failed: the daemon could not start, an internal error, a refused request. */
  FAILURE: 1,
  /** Bad arguments or input: unknown option, invalid id, an id already in use, bad JSON. */
  USAGE: 2,
  /** The thing asked for does not exist: unknown session, daemon not running (`daemon status`). */
  NOT_FOUND: 3,
  /** The session exists but cannot take input now: disconnected or exited. */
  UNAVAILABLE: 4,
  /** Nothing was typed and nothing will be: timeout with the job withdrawn, session busy. Safe to retry. */
  TIMEOUT: 5,
  /** Refused by auth: missing or wrong token, forbidden origin or host. */
  AUTH: 6,
  /** Timeout with the job pending: it may still be typed; its outcome comes on the bus. Retry only with the same inject id. */
  TIMEOUT_PENDING: 7,
  /** `entered`: Enter was written but the submission was not seen (not proven); the answer says what was seen. */
  ENTERED: 8,
} as const;

const BY_CODE: Partial<Record<ErrorCode, number>> = {
  BAD_REQUEST: EXIT.USAGE,
  INVALID_JSON: EXIT.USAGE,
  INVALID_FIELD: EXIT.USAGE,
  INVALID_SESSION_ID: EXIT.USAGE,
  // The id given is taken: choose another (spawn/wrap --id, rename).
  SESSION_EXISTS: EXIT.USAGE,
  INVALID_COMMAND: EXIT.USAGE,
  INVALID_CWD: EXIT.USAGE,
  INVALID_EVENT: EXIT.USAGE,
  PAYLOAD_TOO_LARGE: EXIT.USAGE,
  LINE_TOO_LONG: EXIT.USAGE,
  UNSUPPORTED_MEDIA_TYPE: EXIT.USAGE,
  NOT_FOUND: EXIT.NOT_FOUND,
  SESSION_NOT_FOUND: EXIT.NOT_FOUND,
  UNKNOWN_HOST: EXIT.NOT_FOUND,
  DAEMON_NOT_RUNNING: EXIT.NOT_FOUND,
  SESSION_DISCONNECTED: EXIT.UNAVAILABLE,
  SESSION_EXITED: EXIT.UNAVAILABLE,
  HOST_OFFLINE: EXIT.UNAVAILABLE,
  SESSION_UNSUPPORTED: EXIT.UNAVAILABLE,
  TIMEOUT: EXIT.TIMEOUT,
  SPAWN_TIMEOUT: EXIT.TIMEOUT,
  SESSION_BUSY: EXIT.TIMEOUT,
  // Too many prompts wait in the session already: nothing typed; retry once some were submitted.
  QUEUE_FULL: EXIT.TIMEOUT,
  // A dialog waits in the session: nothing was typed (answer it with `keys`, or --force).
  SESSION_BLOCKED: EXIT.TIMEOUT,
  // The other machine may have acted before it went silent: retry an inject only with the same inject id.
  HOST_TIMEOUT: EXIT.TIMEOUT_PENDING,
  // Nothing was saved (full disk): a failure, not a usage error.
  PERSIST_FAILED: EXIT.FAILURE,
  UNAUTHORIZED: EXIT.AUTH,
  FORBIDDEN: EXIT.AUTH,
  FORBIDDEN_ORIGIN: EXIT.AUTH,
  FORBIDDEN_HOST: EXIT.AUTH,
};

/**
 * The exit code of an error code, with the job of a `TIMEOUT` (`pending`: it may still be typed). Serves a thrown
 * error and each failure of a several-session answer alike, so a comma list exits as its single targets would.
 */
export function exitCodeOf(code: string, job?: unknown): number {
  if (code === 'TIMEOUT' && job === 'pending') return EXIT.TIMEOUT_PENDING;
  return (isErrorCode(code) ? BY_CODE[code] : undefined) ?? EXIT.FAILURE;
}

export function exitCodeFor(err: unknown): number {
  return isTeleptyError(err) ? exitCodeOf(err.code, err.details?.job) : EXIT.FAILURE;
}
