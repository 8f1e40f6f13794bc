import type { Command } from 'commander';
import { attach, parseDetachKey } from '../client/attach.js';
import { connect } from '../client/daemon-client.js';
import { getSession } from '../client/sessions.js';
import { TeleptyError } from '../protocol/errors.js';
import { assertSessionRef } from '../protocol/ids.js';
import { localTerminal } from '../ui/terminal.js';
import { EXIT, exitCodeOf } from '../ui/exit.js';
import { examples } from './command-module.js';

export function register(program: Command): void {
  program
    .command('attach')
    .description('connect this terminal to a session: its screen, then live output; your keys go to it')
    .argument('<id>', 'session id, or id@machine for a session of another machine of the fleet (if it allows attach)')
    .option('--detach-key <key>', 'key that detaches and leaves the session running', 'ctrl-]')
    .addHelpText(
      'after',
      examples(['telepty attach dev-001', 'telepty attach dev-001 --detach-key ctrl-q']) +
        '\nPress Ctrl-] (or --detach-key) to detach. Several terminals may attach at once; one that falls too far\nbehind is dropped without slowing the session. A banner names the session and the window title shows it while\nattached. At the end of input (e.g. </dev/null) it detaches. When the daemon goes away (killed, restarted) it\nreattaches through the next one (starting one after a crash), for up to 10 s.\nExit status: 0 detached or the session exited, 1 dropped (fell too far behind), 3 unknown session, 4 disconnected (or\nalready exited); refused before the session screen came: the status of that error (6 when another machine does not\nallow attach).\n',
    )
    .action(async (id: string, opts: { detachKey: string }) => {
      const client = await connect();
      const ref = assertSessionRef(id);
      const session = await getSession(client, ref);
      // `id@machine`: viewed through the fleet (live output and keys over the hub), addressed as given.
      const address = ref.includes('@') ? `${session.id}${ref.slice(ref.indexOf('@'))}` : session.id;
      const end = await attach(client, address, {
        detachKey: parseDetachKey(opts.detachKey),
        detachKeyName: opts.detachKey.replace(/^ctrl-/i, 'Ctrl-'),
        target: { id: address, type: session.type, cols: session.cols, rows: session.rows },
        terminal: localTerminal(),
        // The daemon went away while attached: the next one, once it serves the session (a session that is gone ends it).
        reconnect: async ({ autostart }) => {
          const next = autostart ? await connect() : await connect({ autostart: false });
          if (!next) throw new TeleptyError('DAEMON_NOT_RUNNING', 'no daemon runs yet');
          const now = await getSession(next, ref);
          if (now.status === 'exited') throw new TeleptyError('SESSION_EXITED', `session ${now.id} has exited (code ${now.exit_code})`, { id: now.id });
          return next;
        },
      });
      process.exitCode = end.reason === 'refused' ? exitCodeOf(end.code) : end.reason === 'disconnected' ? EXIT.UNAVAILABLE : end.reason === 'dropped' ? EXIT.FAILURE : EXIT.OK;
    });
}
