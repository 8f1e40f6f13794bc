import type { Command } from 'commander';
import { connect } from '../client/daemon-client.js';
import { getSession, tagSession } from '../client/sessions.js';
import { TeleptyError } from '../protocol/errors.js';
import { assertSessionRef } from '../protocol/ids.js';
import { assertTag, type TagEdit } from '../protocol/tags.js';
import { printJson, printLine } from '../ui/print.js';
import { examples } from './command-module.js';

/** `+T` adds, `-T` removes, a bare `T` adds; `--clear` drops every tag first. */
export function tagEditOf(words: readonly string[], clear: boolean): TagEdit {
  const add: string[] = [];
  const remove: string[] = [];
  for (const w of words) {
    if (w.startsWith('--')) throw new TeleptyError('INVALID_FIELD', `unknown option ${w} (tag takes --clear and --json; a tag to remove is -TAG)`);
    if (w.startsWith('-')) remove.push(assertTag(w.slice(1)));
    else add.push(assertTag(w.startsWith('+') ? w.slice(1) : w));
  }
  return { clear, add, remove };
}

export function register(program: Command): void {
  program
    .command('tag')
    .description("show or change a session's tags: groups that inject, kill and list take with --tag")
    .argument('<id>', 'the session')
    .argument('[tags...]', '+TAG or TAG adds it, -TAG removes it; none: print the tags')
    .option('--clear', 'remove every tag (then add those given)')
    .option('--json', 'print {session_id, tags} as JSON')
    // `-reviewers` is a tag to remove, not an option: unknown dashes reach the action (so no -h: --help).
    .allowUnknownOption()
    .helpOption('--help', 'display help for command')
    .addHelpText(
      'after',
      examples(['telepty tag dev-001 reviewers team-a', 'telepty tag dev-001 -team-a +nightly', 'telepty tag dev-001 --clear', 'telepty inject --tag reviewers "look at PR 12"', 'telepty list --tag reviewers']) +
        '\nTags use the letters of ids (letters, digits, ".", "_", "-"; 1-64, starting with a letter or digit); a session\n' +
        'carries at most 16. They are kept with the session (a daemon restart keeps them); spawn and wrap take --tag.\n',
    )
    .action(async (id: string, words: string[], opts: { clear?: boolean; json?: boolean }) => {
      const sid = assertSessionRef(id);
      const edit = tagEditOf(words, Boolean(opts.clear));
      const client = await connect();
      const result = edit.clear || edit.add.length > 0 || edit.remove.length > 0 ? await tagSession(client, sid, edit) : await getSession(client, sid).then((s) => ({ session_id: s.id, tags: s.tags ?? [] }));
      if (opts.json) printJson(result);
      else printLine(result.tags.length > 0 ? `${result.session_id}: ${result.tags.join(' ')}` : `${result.session_id}: no tags`);
    });
}
