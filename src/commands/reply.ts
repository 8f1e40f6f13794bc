import type { Command } from 'commander';
import { sessionIdFromEnv } from '../util/config.js';
import { connect } from '../client/daemon-client.js';
import { injectOne } from '../client/inject.js';
import { findCurrentSession } from '../client/identity.js';
import { listSessions } from '../client/sessions.js';
import { TeleptyError, isTeleptyError } from '../protocol/errors.js';
import { isOnMachine, replyAddressOf } from '../protocol/address.js';
import { assertSessionId, parseAddress, type SessionAddress } from '../protocol/ids.js';
import { DEFAULT_INJECT_TIMEOUT_MS } from '../protocol/inject.js';
import { printJson, printLine } from '../ui/print.js';
import { sayingOnInterrupt } from '../ui/interrupt.js';
import { describeResult, injectIdOf, resultExit, stoppedWaiting } from './inject.js';
import { readPrompt } from './prompt-input.js';
import { examples } from './command-module.js';

/**
 * The session a reply goes to: `id` or `id@<this machine>` is local; `id@<another machine>` goes there through the
 * fleet (the daemon forwards it; HOST_OFFLINE or UNKNOWN_HOST when it cannot), never to a local session that
 * happens to share the id. The reply's sender is then `self@<this machine>`, so a reply to it comes back here.
 */
function replyTarget(to: string, machineId: string): { target: string; remote: boolean } {
  let address: SessionAddress;
  try {
    address = parseAddress(to);
  } catch (err) {
    if (!isTeleptyError(err)) throw err;
    throw new TeleptyError('INVALID_FIELD', `the last sender ${JSON.stringify(to)} is not a session address (id or id@host); reply through the bus instead`);
  }
  if (!isOnMachine(address, machineId)) return { target: `${address.id}@${address.host as string}`, remote: true };
  return { target: address.id, remote: false };
}

export function register(program: Command): void {
  program
    .command('reply')
    .description('inside a session: send a prompt back to whoever last injected into it (found by process ancestry, so right after a rename too; $TELEPTY_SESSION_ID is the fallback)')
    .argument('[text...]', 'the reply; read from --file or stdin when absent')
    .option('--file <path>', 'read the reply from a file (- for stdin)')
    .option('--wait', 'wait until the reply is submitted', true)
    .option('--no-wait', 'return once queued')
    .option('--inject-id <id>', 'this reply\'s id (made up when absent): a repeat with the same id is never typed twice')
    .option('--json', 'print the daemon answer as JSON')
    .addHelpText('after', examples(['telepty reply "done: 3 tests fixed"', 'telepty reply --file summary.md']))
    .action(async (words: string[], opts: { file?: string; wait: boolean; json?: boolean; injectId?: string }) => {
      const me = sessionIdFromEnv();
      if (me !== undefined) assertSessionId(me, '$TELEPTY_SESSION_ID');
      const injectId = injectIdOf(opts.injectId);
      const prompt = await readPrompt(words, opts.file);
      const client = await connect();
      // The session this runs in, by process ancestry: right after a rename too ($TELEPTY_SESSION_ID is the old id).
      const found = await findCurrentSession(await listSessions(client));
      if (!found) {
        throw new TeleptyError(
          'INVALID_FIELD',
          me ? `telepty reply works inside a telepty session; none of this process's ancestors is one, and $TELEPTY_SESSION_ID (${me}) names no session` : 'telepty reply works inside a telepty session ($TELEPTY_SESSION_ID is not set)',
        );
      }
      const { session } = found;
      const self = session.id;
      const to = replyAddressOf(session.last_reply_to, session.last_from);
      if (!to) throw new TeleptyError('NOT_FOUND', `nobody has sent session ${self} a prompt with a sender yet: nothing to reply to`);
      const { target, remote } = replyTarget(to, session.locator.machine_id);
      const sent = injectOne(client, target, {
        inject_id: injectId,
        prompt,
        from: remote ? `${self}@${session.locator.machine_id}` : self,
        ...(session.last_thread_id ? { thread_id: session.last_thread_id } : {}),
        wait: opts.wait,
        timeout_ms: DEFAULT_INJECT_TIMEOUT_MS,
      }).catch((err: unknown) => {
        // A daemon in no fleet cannot reach the sender's machine: said in the reply's words.
        if (remote && isTeleptyError(err) && err.code === 'UNKNOWN_HOST') {
          throw new TeleptyError('UNKNOWN_HOST', `the last sender ${to} is on machine ${target.slice(target.indexOf('@') + 1)}, which this daemon cannot reach (it is in no fleet), so nothing was sent`);
        }
        throw err;
      });
      const r = await sayingOnInterrupt(opts.wait ? () => stoppedWaiting(injectId, [target]) : null, () => sent);
      if (opts.json) printJson(r);
      else printLine(describeResult(r));
      process.exitCode = resultExit(r);
    });
}
