import { tagsFromOptions } from '../protocol/tags.js';

/** `--tag a,b --tag c` (spawn, wrap, list, inject, kill): every value, checked once all are in. */
export function collectTag(value: string, previous: string[] = []): string[] {
  return [...previous, value];
}

export const TAG_OPTION_HELP = 'a tag (group) for the session; repeatable, or a comma list';

/** The checked tags of `--tag` values (none when the option was not given). */
export function tagsOf(values: string[] | undefined): string[] {
  return values === undefined ? [] : tagsFromOptions(values);
}
