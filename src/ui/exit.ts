import { isTeleptyError, type ErrorCode } from '../protocol/errors.js';

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
  /** Not confirmed in time: inject/submit timeout, session busy. */
  TIMEOUT: 5,
  /** Refused by auth: missing or wrong token, forbidden origin or host. */
  AUTH: 6,
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
  TIMEOUT: EXIT.TIMEOUT,
  SPAWN_TIMEOUT: EXIT.TIMEOUT,
  SESSION_BUSY: EXIT.TIMEOUT,
  // Nothing was saved (full disk): a failure, not a usage error.
  PERSIST_FAILED: EXIT.FAILURE,
  UNAUTHORIZED: EXIT.AUTH,
  FORBIDDEN: EXIT.AUTH,
  FORBIDDEN_ORIGIN: EXIT.AUTH,
  FORBIDDEN_HOST: EXIT.AUTH,
};

export function exitCodeFor(err: unknown): number {
  if (isTeleptyError(err)) return BY_CODE[err.code] ?? EXIT.FAILURE;
  return EXIT.FAILURE;
}
