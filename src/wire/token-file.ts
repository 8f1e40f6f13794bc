import { randomBytes } from 'node:crypto';
import { writeFileAtomic } from '../util/files.js';

/** 32 random bytes, hex: what a token file holds. */
const TOKEN_BYTES = 32;

/** A new token. */
export function newToken(): string {
  return randomBytes(TOKEN_BYTES).toString('hex');
}

/**
 * Replace the token in its file (0600, atomically) and return it: the daemon does it when asked over HTTP, the
 * CLI when no daemon runs (`telepty token --rotate`).
 */
export async function writeNewToken(file: string): Promise<string> {
  const token = newToken();
  await writeFileAtomic(file, `${token}\n`, 0o600);
  return token;
}
