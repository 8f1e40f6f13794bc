import { TeleptyError } from '../protocol/errors.js';
import { assertSessionRef } from '../protocol/ids.js';
import type { DaemonClient } from './daemon-client.js';
import { listSessions } from './sessions.js';

/** A glob over session ids: letters, digits, `.`, `_`, `-`, with `*` (any run) and `?` (one character). */
const ID_PATTERN = /^[A-Za-z0-9._*?-]{1,64}$/;

export function isIdPattern(word: string): boolean {
  return /[*?]/.test(word) && ID_PATTERN.test(word);
}

/** Whether `id` matches the glob `pattern` (whole id; matching is exact otherwise). */
export function matchesIdPattern(pattern: string, id: string): boolean {
  const re = new RegExp(`^${pattern.replace(/[.]/g, '\\.').replace(/\*/g, '.*').replace(/\?/g, '.')}$`);
  return re.test(id);
}

/** What a comma list of targets names: exact ids, and whether any part was a pattern. */
export interface Targets {
  ids: string[];
  pattern: boolean;
}

/**
 * `a,b,dev-*`: ids as given (each checked) and patterns expanded to the sessions they match now, in list order,
 * each id once. A pattern that matches no session is an error (SESSION_NOT_FOUND) that names it: nothing is sent.
 */
export async function resolveTargets(client: DaemonClient, list: string): Promise<Targets> {
  const parts = list.split(',').map((p) => p.trim());
  if (!parts.some(isIdPattern)) return { ids: parts.map((p) => assertSessionRef(p)), pattern: false };
  const known = (await listSessions(client)).map((s) => s.id);
  const ids: string[] = [];
  for (const part of parts) {
    if (!isIdPattern(part)) {
      ids.push(assertSessionRef(part));
      continue;
    }
    const matched = known.filter((id) => matchesIdPattern(part, id));
    if (matched.length === 0) throw new TeleptyError('SESSION_NOT_FOUND', `no session matches ${JSON.stringify(part)}`, { pattern: part });
    ids.push(...matched);
  }
  return { ids: [...new Set(ids)], pattern: true };
}
