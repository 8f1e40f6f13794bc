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

/** What a comma list of targets names: exact ids, and whether any part was a pattern or a tag (a group: an answer per session). */
export interface Targets {
  ids: string[];
  pattern: boolean;
}

/**
 * `a,b,dev-*` and `--tag T`: ids as given (each checked), patterns expanded to the sessions they match now and tags
 * to the sessions that carry them (any of them), in list order, each id once. A pattern or a tag that matches no
 * session is an error (SESSION_NOT_FOUND) that names it: nothing is sent.
 */
export async function resolveTargets(client: DaemonClient, list: string | undefined, tags: readonly string[] = []): Promise<Targets> {
  const parts = list === undefined ? [] : list.split(',').map((p) => p.trim());
  if (!parts.some(isIdPattern) && tags.length === 0) return { ids: parts.map((p) => assertSessionRef(p)), pattern: false };
  const sessions = await listSessions(client);
  const known = sessions.map((s) => s.id);
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
  for (const tag of tags) {
    const tagged = sessions.filter((s) => s.tags?.includes(tag)).map((s) => s.id);
    if (tagged.length === 0) throw new TeleptyError('SESSION_NOT_FOUND', `no session is tagged ${JSON.stringify(tag)} (see telepty list, telepty tag)`, { tag });
    ids.push(...tagged);
  }
  return { ids: [...new Set(ids)], pattern: true };
}
