import type { Command } from 'commander';
import { connect, type DaemonClient } from '../client/daemon-client.js';
import { exitedInstead, waitForState } from '../client/state.js';
import { NEVER_IDLE, neverReaches, parseWaitUntil } from '../protocol/agent-state.js';
import { TeleptyError } from '../protocol/errors.js';
import { assertSessionRef } from '../protocol/ids.js';
import { sessionStateOp, type WaitAnswer } from '../protocol/ops/state.js';
import { printJson, printLine } from '../ui/print.js';
import { EXIT } from '../ui/exit.js';
import { examples } from './command-module.js';
import { parseSeconds } from './options.js';
import { isIdPattern, resolveTargets } from '../client/targets.js';
import { collectTag, tagsOf } from './tag-options.js';

function describe(r: WaitAnswer): string {
  const detail = r.detail ? `: ${r.detail}` : '';
  return `${r.session_id}: ${r.state}${r.source ? ` (${r.source})` : ''}${detail}`;
}

/**
 * Said at once, not after the wait: a session whose program has no state rules (`unknown`: a shell, any other
 * program) reaches idle, working or blocked only if it reports hooks; without --timeout the wait may never end.
 */
async function noteStateless(client: DaemonClient, targets: readonly string[], until: 'idle' | 'working' | 'blocked', unbounded: boolean): Promise<void> {
  const now = await Promise.all(targets.map((id) => client.call(sessionStateOp, { params: { id } })));
  const stateless = now.filter((s) => s.state === 'unknown').map((s) => s.session_id);
  if (stateless.length === 0) return;
  process.stderr.write(`telepty: ${stateless.join(', ')}: ${neverReaches(until)}; waiting for its hooks or its exit${unbounded ? ' (no --timeout: Ctrl-C to stop)' : ''}\n`);
}

export function register(program: Command): void {
  program
    .command('wait')
    .description("wait until sessions' agents reach a state: idle (turn over), working, blocked (a dialog waits), exited, or any change")
    .argument('[ids]', "session id, or several separated by commas, or a pattern such as 'dev-*' (waits for all)")
    .requiredOption('--until <state>', 'idle | working | blocked | exited | any-change')
    .option('--timeout <seconds>', 'give up after this long (exit 5); default: no limit')
    .option('--tag <tag>', 'every session carrying this tag (repeatable, or a comma list)', collectTag)
    .option('--json', 'print the state answers as JSON')
    .addHelpText('after', examples(['telepty inject dev-001 "run the tests" && telepty wait dev-001 --until idle --timeout 600', 'telepty wait dev-001,dev-002 --until any-change --json', 'telepty wait --tag reviewers --until idle']))
    .action(async (ids: string | undefined, opts: { until: string; timeout?: string; json?: boolean; tag?: string[] }) => {
      const until = parseWaitUntil(opts.until);
      const tags = tagsOf(opts.tag);
      if (ids === undefined && tags.length === 0) throw new TeleptyError('INVALID_FIELD', 'which session? give ids or --tag');
      if (ids !== undefined) for (const s of ids.split(',')) if (!isIdPattern(s.trim())) assertSessionRef(s.trim());
      const deadline = opts.timeout === undefined ? null : Date.now() + parseSeconds(opts.timeout, '--timeout');
      const client = await connect();
      const targets = (await resolveTargets(client, ids, tags)).ids;
      if (until === 'idle' || until === 'working' || until === 'blocked') await noteStateless(client, targets, until, deadline === null);
      const answers = await Promise.all(targets.map((id) => waitForState(client, id, until, deadline)));
      const missed = answers.filter((a) => !a.reached);
      // An exit ends every wait, but it is not the state asked for: a script must not go on as if the turn were over.
      const gone = answers.filter((a) => exitedInstead(a, until));
      if (opts.json) printJson(answers.length === 1 ? answers[0] : answers);
      else for (const a of answers) printLine(describe(a));
      if (gone.length > 0) {
        if (!opts.json) process.stderr.write(`telepty: ${gone.map((a) => a.session_id).join(', ')} exited before ${gone.length === 1 ? 'it was' : 'they were'} ${until} [SESSION_EXITED]\n`);
        process.exitCode = EXIT.UNAVAILABLE;
      }
      if (missed.length > 0) {
        if (!opts.json) {
          const never = until === 'idle' && missed.some((a) => a.state === 'unknown') ? ` (${NEVER_IDLE})` : '';
          const err = new TeleptyError('TIMEOUT', `timed out waiting for ${missed.map((a) => `${a.session_id} (now ${a.state})`).join(', ')} ${until === 'any-change' ? 'to change state' : `to be ${until}`}${never}`);
          process.stderr.write(`telepty: ${err.message} [${err.code}]\n`);
        }
        process.exitCode = EXIT.TIMEOUT;
      }
    });
}
