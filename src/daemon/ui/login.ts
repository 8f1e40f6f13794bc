import { createHash, randomBytes, timingSafeEqual } from 'node:crypto';

/** A login link is for the person who just ran `telepty ui`: a minute covers a browser that is slow to open. */
export const UI_LOGIN_CODE_TTL_MS = 60_000;
/** A dashboard session lasts a working day; `telepty ui` again gives a new one. */
export const UI_SESSION_TTL_MS = 12 * 60 * 60_000;
/** Unused codes kept at most (each `telepty ui` adds one): the oldest goes first. */
const MAX_CODES = 32;
/** Dashboard sessions kept at most (each login adds one): the oldest goes first. */
const MAX_SESSIONS = 64;

/** Only digests are kept: a memory dump or a log line never holds a usable code or cookie. */
function digest(secret: string): string {
  return createHash('sha256').update(secret, 'utf8').digest('hex');
}

function sameDigest(a: string, b: string): boolean {
  return a.length === b.length && timingSafeEqual(Buffer.from(a, 'hex'), Buffer.from(b, 'hex'));
}

/** A code or a session id: 32 random bytes, URL- and cookie-safe. */
function secret(): string {
  return randomBytes(32).toString('base64url');
}

/**
 * The dashboard's logins: one-time codes (`telepty ui` asks for one; a browser trades it once for a session) and the
 * sessions the cookie carries. In memory only: a daemon restart logs every dashboard out.
 */
export class UiLogins {
  /** digest of a code → when it expires. */
  private readonly codes = new Map<string, number>();
  /** digest of a session id → when it expires. */
  private readonly sessions = new Map<string, number>();

  constructor(private readonly now: () => number = Date.now) {}

  /** A new one-time code and when it expires. */
  issueCode(): { code: string; expiresAt: number } {
    this.prune();
    const code = secret();
    const expiresAt = this.now() + UI_LOGIN_CODE_TTL_MS;
    this.codes.set(digest(code), expiresAt);
    trim(this.codes, MAX_CODES);
    return { code, expiresAt };
  }

  /** Trade a code for a new session id; null when the code is unknown, used or expired (it works once, ever). */
  redeem(code: string): string | null {
    this.prune();
    const key = digest(code);
    const expiresAt = this.codes.get(key);
    this.codes.delete(key);
    if (expiresAt === undefined || expiresAt <= this.now()) return null;
    const session = secret();
    this.sessions.set(digest(session), this.now() + UI_SESSION_TTL_MS);
    trim(this.sessions, MAX_SESSIONS);
    return session;
  }

  /** Whether a session id names a live session. */
  isSession(session: string): boolean {
    const wanted = digest(session);
    const now = this.now();
    for (const [key, expiresAt] of this.sessions) if (sameDigest(key, wanted) && expiresAt > now) return true;
    return false;
  }

  /** Log every dashboard out (the token was rotated). */
  clear(): void {
    this.codes.clear();
    this.sessions.clear();
  }

  private prune(): void {
    const now = this.now();
    for (const map of [this.codes, this.sessions]) for (const [key, expiresAt] of map) if (expiresAt <= now) map.delete(key);
  }
}

/** Drop the oldest entries (Map keeps insertion order) beyond `max`. */
function trim(map: Map<string, number>, max: number): void {
  for (const key of map.keys()) {
    if (map.size <= max) return;
    map.delete(key);
  }
}
