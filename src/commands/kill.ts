import type { Command } from 'commander';
import { connect } from '../client/daemon-client.js';
import { killSession, listSessions } from '../client/sessions.js';
import { TeleptyError, isTeleptyError } from '../protocol/errors.js';
import { assertSessionRef } from '../protocol/ids.js';
import type { KillResponse } from '../protocol/session.js';
import { EXIT, exitCodeFor } from '../ui/exit.js';
import { printJson, printLine, reportError } from '../ui/print.js';
import { examples } from './command-module.js';
import { isIdPattern, resolveTargets } from '../client/targets.js';
import { collectTag, tagsOf } from './tag-options.js';

type Outcome = { id: string; ok: true; result: KillResponse } | { id: string; ok: false; error: TeleptyError };

export function register(program: Command): void {
  program
    .command('kill')
    .description("end sessions: the program's whole process group, then the session is removed")
    .argument('[ids...]', "session ids, or patterns such as 'dev-*' (quote them from the shell)")
    .option('--all', 'end every session (wrapped ones too); asks first on a terminal')
    .option('--tag <tag>', 'every session carrying this tag (repeatable, or a comma list)', collectTag)
    .option('-y, --yes', 'with --all: do not ask')
    .option('--json', 'print the result as JSON: an object for one id (or {error, code}), a list for several or --all')
    .addHelpText(
      'after',
      examples(['telepty kill dev-001', 'telepty kill dev-001 dev-002 --json', 'telepty kill --all          # asks first on a terminal', 'telepty kill --all --yes    # scripts: no question', 'telepty kill --tag nightly    # every session tagged nightly', "telepty kill 'review-*'     # every session whose id matches"]) +
        '\nExit status: 0 all ended; 3 an id is unknown; 4 a session is disconnected (it is ended when its host returns).\n',
    )
    .action(async (ids: string[], opts: { all?: boolean; yes?: boolean; json?: boolean; tag?: string[] }) => {
      const tags = tagsOf(opts.tag);
      if (opts.all && (ids.length > 0 || tags.length > 0)) throw new TeleptyError('INVALID_FIELD', 'give session ids (or --tag) or --all, not both');
      if (!opts.all && ids.length === 0 && tags.length === 0) throw new TeleptyError('INVALID_FIELD', 'which session? give one or more ids, --tag or --all');
      // Ids are checked before anything is sent; patterns (`dev-*`) are expanded once connected.
      for (const id of ids) if (!isIdPattern(id)) assertSessionRef(id);
      const client = await connect();
      const named = opts.all ? null : await resolveTargets(client, ids.length > 0 ? ids.join(',') : undefined, tags);
      // Each session once: `kill a a` ends a and says so once (not a second "killed" for the same session).
      const targets = [...new Set(named ? named.ids : (await listSessions(client)).map((s) => s.id))];
      if (opts.all && !opts.yes && targets.length > 0 && process.stdin.isTTY && process.stderr.isTTY) {
        const { confirm } = await import('../ui/confirm.js');
        const shown = targets.length > 8 ? `${targets.slice(0, 8).join(', ')} and ${targets.length - 8} more` : targets.join(', ');
        if (!(await confirm(`end ${targets.length} session${targets.length === 1 ? '' : 's'} (${shown})? [y/N] `))) {
          process.stderr.write('telepty: nothing was ended\n');
          process.exitCode = EXIT.FAILURE;
          return;
        }
      }
      const outcomes: Outcome[] = await Promise.all(
        targets.map(async (id): Promise<Outcome> => {
          try {
            return { id, ok: true, result: await killSession(client, id) };
          } catch (err) {
            if (isTeleptyError(err)) return { id, ok: false, error: err };
            throw err;
          }
        }),
      );
      let exit: number = EXIT.OK;
      for (const o of outcomes) {
        if (!o.ok) exit = Math.max(exit, exitCodeFor(o.error));
        else if (o.result.status === 'pending') exit = Math.max(exit, EXIT.UNAVAILABLE);
      }
      const asJson = (o: Outcome): unknown => (o.ok ? o.result : { ...o.error.toBody(), id: o.id, success: false });
      // One id: its answer, or its error as {error, code} as every command prints one; several (or --all): a list.
      if (opts.json) printJson(named && !named.pattern && outcomes.length === 1 ? asJson(outcomes[0] as Outcome) : outcomes.map(asJson));
      else {
        for (const o of outcomes) {
          if (!o.ok) reportError(o.error, false);
          else if (o.result.status === 'pending') printLine(`${o.id}: disconnected; it will be ended when its host reconnects`);
          else if (o.result.status === 'removed') printLine(`${o.id}: removed; a 0.1.5x bridge owned it, which cannot be told to end its program`);
          else if (o.result.status === 'closing') printLine(`${o.id}: closing`);
          else if (o.result.host_gone) printLine(`${o.id}: host was gone; ended ${o.result.orphans_ended ?? 0} orphaned process${o.result.orphans_ended === 1 ? '' : 'es'}`);
          else if (o.result.already_exited) printLine(`${o.id}: removed; it had already exited${o.result.exit_code === null || o.result.exit_code === undefined ? '' : ` (exit ${o.result.exit_code})`}`);
          else printLine(`${o.id}: killed${o.result.exit_code === null || o.result.exit_code === undefined ? '' : ` (exit ${o.result.exit_code})`}`);
        }
        if (opts.all && outcomes.length === 0) printLine('no sessions');
      }
      process.exitCode = exit;
    });
}
