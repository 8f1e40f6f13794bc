import { randomBytes } from 'node:crypto';
import { promises as fs } from 'node:fs';
import { createExclusive, readTextIfExists } from '../util/files.js';
import { writeNewToken } from '../wire/token-file.js';
import type { Logger } from '../util/log.js';
import { tokenProblem } from '../protocol/token.js';

const TOKEN_BYTES = 32;

/**
 * Read the auth token, creating it (0600, exclusively, so concurrent first starts agree) when absent. A token that
 * could not travel in a header (a line break, a control character, too short) is replaced, with a warning.
 */
export async function ensureToken(file: string, log: Logger): Promise<string> {
  for (;;) {
    const existing = await readTextIfExists(file);
    const problem = existing === null || existing.trim().length === 0 ? null : tokenProblem(existing.trim());
    if (problem !== null) {
      log.warn(`token file ${file} is not valid (${problem}); replacing it with a new token`);
      return rotateToken(file);
    }
    if (existing !== null && existing.trim().length > 0) {
      const stat = await fs.stat(file);
      if ((stat.mode & 0o077) !== 0) {
        log.warn(`token file ${file} was readable by others; setting mode 0600`);
        await fs.chmod(file, 0o600);
      }
      return existing.trim();
    }
    if (existing !== null) await fs.rm(file, { force: true });
    const token = randomBytes(TOKEN_BYTES).toString('hex');
    if (await createExclusive(file, `${token}\n`, 0o600)) {
      log.info(`created token file ${file}`);
      return token;
    }
  }
}

/** Replace the token (0600, atomically). */
export async function rotateToken(file: string): Promise<string> {
  return writeNewToken(file);
}
