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
import { describeResult, resultExit } from './inject.js';
import { readPrompt } from './prompt-input.js';
import { examples } from './command-module.js';

/**
 * The session a reply goes to: `id` or `id@<this machine>` is local; `id@<another machine>` is refused with
 * UNKNOWN_HOST (there is no relay to peers), never delivered to a local session that happens to share the id.
 */
function localTarget(to: string, machineId: string): string {
  let address: SessionAddress;
  try {
    address = parseAddress(to);
  } catch (err) {
    if (!isTeleptyError(err)) throw err;
    throw new TeleptyError('INVALID_FIELD', `the last sender ${JSON.stringify(to)} is not a session address (id or id@host); reply through the bus instead`);
  }
  if (!isOnMachine(address, machineId)) {
    throw new TeleptyError('UNKNOWN_HOST', `the last sender ${to} is on machine ${address.host}, not this one (${machineId}); replies to other machines are not relayed, so nothing was sent`);
  }
  return address.id;
}

export function register(program: Command): void {
  program
    .command('reply')
    .description('inside a session: send a prompt back to whoever last injected into it (found by process ancestry, so right after a rename too; $TELEPTY_SESSION_ID is the fallback)')
    .argument('[text...]', 'the reply; read from --file or stdin when absent')
    .option('--file <path>', 'read the reply from a file')
    .option('--wait', 'wait until the reply is submitted', true)
    .option('--no-wait', 'return once queued')
    .option('--json', 'print the daemon answer as JSON')
    .addHelpText('after', examples(['telepty reply "done: 3 tests fixed"', 'telepty reply --file summary.md']))
    .action(async (words: string[], opts: { file?: string; wait: boolean; json?: boolean }) => {
      const me = sessionIdFromEnv();
      if (me !== undefined) assertSessionId(me, '$TELEPTY_SESSION_ID');
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
      const target = localTarget(to, session.locator.machine_id);
      const r = await injectOne(client, target, {
        prompt,
        from: self,
        ...(session.last_thread_id ? { thread_id: session.last_thread_id } : {}),
        wait: opts.wait,
        timeout_ms: DEFAULT_INJECT_TIMEOUT_MS,
      });
      if (opts.json) printJson(r);
      else printLine(describeResult(r));
      process.exitCode = resultExit(r);
    });
}
