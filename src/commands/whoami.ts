import type { Command } from 'commander';
import { sessionIdFromEnv } from '../util/config.js';
import { connect } from '../client/daemon-client.js';
import { findCurrentSession } from '../client/identity.js';
import { listSessions } from '../client/sessions.js';
import { TeleptyError } from '../protocol/errors.js';
import { printFields, printJson } from '../ui/print.js';
import { examples } from './command-module.js';

export function register(program: Command): void {
  program
    .command('whoami')
    .description('inside a session: its id (true after a rename), machine and daemon; exit 3 outside any session')
    .option('--json', 'print it as JSON')
    .addHelpText(
      'after',
      examples(['telepty whoami', 'telepty whoami --json | jq -r .id', 'export TELEPTY_SESSION_ID=$(telepty whoami --json | jq -r .id)   # after a rename']) +
        '\nThe session is found by this process\'s ancestry (its program or host), so it stays right after `telepty rename`,\nwhich a running shell\'s $TELEPTY_SESSION_ID cannot follow; $TELEPTY_SESSION_ID is the fallback.\n',
    )
    .action(async (opts: { json?: boolean }) => {
      const client = await connect();
      const { meta } = await client.handle();
      const found = await findCurrentSession(await listSessions(client));
      if (!found) throw new TeleptyError('NOT_FOUND', 'not inside a telepty session (no ancestor of this process is a session, and $TELEPTY_SESSION_ID names none)');
      const { session } = found;
      const info = {
        id: session.id,
        address: `${session.id}@${meta.machine_id}`,
        machine_id: meta.machine_id,
        type: session.type,
        status: session.status,
        found_by: found.via,
        env_id: sessionIdFromEnv() ?? null,
        env_id_stale: found.staleEnvId !== null,
        daemon: { pid: meta.pid, host: meta.host, port: meta.port, version: meta.version },
      };
      if (opts.json) {
        printJson(info);
        return;
      }
      printFields([
        ['id', session.id],
        ['address', info.address],
        ['machine_id', meta.machine_id],
        ['type', session.type],
        ['daemon', `pid ${meta.pid} at ${meta.host}:${meta.port} (version ${meta.version})`],
        ...(found.staleEnvId !== null ? ([['note', `$TELEPTY_SESSION_ID is ${found.staleEnvId}: the session was renamed since this shell started`]] as [string, string][]) : []),
      ]);
    });
}
