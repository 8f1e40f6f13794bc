import type { Command } from 'commander';
import { connect } from '../client/daemon-client.js';
import { submitEnter } from '../client/inject.js';
import { assertSessionRef } from '../protocol/ids.js';
import { DEFAULT_INJECT_TIMEOUT_MS, MAX_INJECT_TIMEOUT_MS } from '../protocol/inject.js';
import { printJson, printLine } from '../ui/print.js';
import { describeResult, resultExit, stoppedWaiting } from './inject.js';
import { sayingOnInterrupt } from '../ui/interrupt.js';
import { newRequestId } from '../util/request-id.js';
import { parseSeconds } from './options.js';
import { examples } from './command-module.js';

export function register(program: Command): void {
  program
    .command('enter')
    .description('press Enter alone in a session (through the same queue as inject), e.g. after inject --no-enter')
    .argument('<id>', 'session id')
    .option('--wait', 'wait until the Enter was written and the reaction watched', true)
    .option('--no-wait', 'return once queued')
    .option('--timeout <seconds>', 'how long to wait (default 30)', (v: string) => parseSeconds(v, '--timeout', MAX_INJECT_TIMEOUT_MS / 1000))
    .option('--json', 'print the daemon answer as JSON')
    .addHelpText('after', examples(['telepty inject dev-001 --no-enter "draft"; telepty enter dev-001']))
    .action(async (id: string, opts: { wait: boolean; /** milliseconds */ timeout?: number; json?: boolean }) => {
      const session = assertSessionRef(id);
      const injectId = newRequestId();
      const r = await sayingOnInterrupt(opts.wait ? () => stoppedWaiting(injectId, [session]) : null, async () =>
        submitEnter(await connect(), session, { wait: opts.wait, timeout_ms: opts.timeout ?? DEFAULT_INJECT_TIMEOUT_MS, inject_id: injectId }),
      );
      if (opts.json) printJson(r);
      else printLine(describeResult(r));
      process.exitCode = resultExit(r);
    });
}
