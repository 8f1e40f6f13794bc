/** Header names shared by every client and the daemon. */
export const TOKEN_HEADER = 'x-telepty-token';
export const API_PREFIX = '/api';
/**
 * Sent by a client that found the daemon through its state file: the nonce recorded there. A daemon with another
 * nonce refuses the request (412 DAEMON_MISMATCH) before doing anything; the one named echoes it in its answer.
 */
export const DAEMON_NONCE_HEADER = 'x-telepty-daemon-nonce';
/**
 * Sent with a request repeated after its connection dropped (same body, same id). A spawn repeated so, whose
 * request id this daemon does not know yet, waits briefly for a reconnecting host that names it.
 */
export const REPEAT_HEADER = 'x-telepty-repeat';
