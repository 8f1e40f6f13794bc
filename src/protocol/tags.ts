import { TeleptyError } from './errors.js';
import { describeId, SESSION_ID_PATTERN } from './ids.js';
import { expectObject, optBool, type Fields } from './validate.js';

/**
 * Session groups (issue 21): a session carries a few tags (`reviewers`, `team-a`), set at spawn or wrap (`--tag`)
 * or later (`telepty tag`), kept with the session (sessions.json) and shown in its object. Commands that take
 * several sessions take `--tag T` for every session that carries it.
 */

/** Tags are written in the same alphabet as session ids (they end up in logs and shell words alike). */
export const TAG_PATTERN = SESSION_ID_PATTERN;
/** Tags a session may carry: groups, not a database. */
export const MAX_TAGS = 16;

export function isTag(value: unknown): value is string {
  return typeof value === 'string' && TAG_PATTERN.test(value);
}

export function assertTag(value: unknown, field = 'tag'): string {
  if (isTag(value)) return value;
  throw new TeleptyError('INVALID_FIELD', `invalid ${field} ${describeId(value)}: use 1-64 letters, digits, '.', '_' or '-', starting with a letter or digit`, { field });
}

function bounded(tags: string[], field: string): string[] {
  if (tags.length > MAX_TAGS) throw new TeleptyError('INVALID_FIELD', `a session carries at most ${MAX_TAGS} tags (${tags.length} given)`, { field });
  return tags;
}

/** A list of tags (JSON array), each checked, duplicates dropped (first place kept); absent or null: undefined. */
export function parseTags(value: unknown, field = 'tags'): string[] | undefined {
  if (value === undefined || value === null) return undefined;
  if (!Array.isArray(value)) throw new TeleptyError('INVALID_FIELD', `"${field}" must be an array of tags`, { field });
  if (value.length > MAX_TAGS * 4) throw new TeleptyError('INVALID_FIELD', `"${field}" has ${value.length} entries; a session carries at most ${MAX_TAGS} tags`, { field });
  return bounded([...new Set(value.map((t) => assertTag(t, `"${field}" entry`)))], field);
}

/** `--tag a,b --tag c` on the command line: the tags in order, each once, checked. */
export function tagsFromOptions(values: readonly string[]): string[] {
  const tags = values.flatMap((v) => v.split(',')).map((t) => t.trim());
  return bounded([...new Set(tags.map((t) => assertTag(t)))], 'tags');
}

/** `PATCH /api/sessions/:id/tags`: drop every tag first (`clear`), then remove, then add. */
export interface TagEdit {
  clear: boolean;
  add: string[];
  remove: string[];
}

export interface TagsResponse {
  session_id: string;
  tags: string[];
}

export function parseTagEdit(body: unknown): TagEdit {
  const o: Fields = expectObject(body);
  const edit = { clear: optBool(o, 'clear') ?? false, add: parseTagList(o.add, 'add'), remove: parseTagList(o.remove, 'remove') };
  if (!edit.clear && edit.add.length === 0 && edit.remove.length === 0) {
    throw new TeleptyError('INVALID_FIELD', 'nothing to change: give "add", "remove" or "clear"', { field: 'add' });
  }
  return edit;
}

function parseTagList(value: unknown, field: string): string[] {
  if (value === undefined || value === null) return [];
  if (!Array.isArray(value) || value.length > MAX_TAGS * 4) throw new TeleptyError('INVALID_FIELD', `"${field}" must be an array of at most ${MAX_TAGS * 4} tags`, { field });
  return [...new Set(value.map((t) => assertTag(t, `"${field}" entry`)))];
}

/** The tags after `edit` (order kept, new ones last); more than MAX_TAGS is refused, nothing changed. */
export function applyTagEdit(tags: readonly string[], edit: TagEdit): string[] {
  const removed = new Set(edit.remove);
  const kept = (edit.clear ? [] : tags).filter((t) => !removed.has(t));
  return bounded([...new Set([...kept, ...edit.add])], 'add');
}

/** Tags as persisted or said by a host: the valid ones, at most MAX_TAGS (a damaged file never fails a restart). */
export function saneTags(value: unknown): string[] {
  return Array.isArray(value) ? [...new Set(value.filter(isTag))].slice(0, MAX_TAGS) : [];
}
