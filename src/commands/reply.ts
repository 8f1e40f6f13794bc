import type { Command } from 'commander';
import { connect } from '../client/daemon-client.js';
import { injectOne } from '../client/inject.js';
import { getSession } from '../client/sessions.js';
import { TeleptyError } from '../protocol/errors.js';
import { assertSessionId, isSessionId } from '../protocol/ids.js';
import { DEFAULT_INJECT_TIMEOUT_MS } from '../protocol/inject.js';
import { printJson, printLine } from '../ui/print.js';
import { describeResult } from './inject.js';
import { readPrompt } from './prompt-input.js';
import { examples } from './types.js';

export function register(program: Command): void {
  program
    .command('reply')
    .description('inside a session: send a prompt back to whoever last injected into it (uses $TELEPTY_SESSION_ID)')
    .argument('[text...]', 'the reply; read from --file or stdin when absent')
    .option('--file <path>', 'read the reply from a file')
    .option('--no-wait', 'return once queued')
    .option('--json', 'print the daemon answer as JSON')
    .addHelpText('after', examples(['telepty reply "done: 3 tests fixed"', 'telepty reply --file summary.md']))
    .action(async (words: string[], opts: { file?: string; wait: boolean; json?: boolean }) => {
      const me = process.env.TELEPTY_SESSION_ID;
      if (!me) throw new TeleptyError('INVALID_FIELD', 'telepty reply works inside a telepty session ($TELEPTY_SESSION_ID is not set)');
      const self = assertSessionId(me, '$TELEPTY_SESSION_ID');
      const prompt = await readPrompt(words, opts.file);
      const client = await connect();
      const session = await getSession(client, self);
      const to = session.last_reply_to ?? session.last_from;
      if (!to) throw new TeleptyError('NOT_FOUND', `nobody has sent session ${self} a prompt with a sender yet: nothing to reply to`);
      const target = to.includes('@') ? to.slice(0, to.indexOf('@')) : to;
      if (!isSessionId(target)) throw new TeleptyError('INVALID_FIELD', `the last sender ${JSON.stringify(to)} is not a session id; reply through the bus instead`);
      const r = await injectOne(client, target, {
        prompt,
        from: self,
        ...(session.last_thread_id ? { thread_id: session.last_thread_id } : {}),
        wait: opts.wait,
        timeout_ms: DEFAULT_INJECT_TIMEOUT_MS,
      });
      if (opts.json) printJson(r);
      else printLine(describeResult(r));
    });
}
