import { promises as fs } from 'node:fs';
import type { Command } from 'commander';
import { connect, type DaemonClient } from '../client/daemon-client.js';
import { openDaemonSocket } from '../client/ws.js';
import { BUS_PATH, ndjsonLines, type PublishAck } from '../protocol/bus.js';
import { TeleptyError, isErrorBody } from '../protocol/errors.js';
import { EXIT } from '../ui/exit.js';
import { printJson, printLine } from '../ui/print.js';
import { examples } from './types.js';

interface PublishOptions {
  kind?: string;
  target?: string;
  source?: string;
  payload?: string;
  payloadFile?: string;
  json?: boolean;
}

/** Events sent per WS frame when streaming NDJSON (one frame, many events). */
const STREAM_BATCH = 500;

function parseJsonArg(text: string, what: string): unknown {
  try {
    return JSON.parse(text);
  } catch (err) {
    throw new TeleptyError('INVALID_JSON', `${what} is not JSON: ${(err as Error).message}`);
  }
}

async function readStdin(): Promise<string> {
  if (process.stdin.isTTY) throw new TeleptyError('INVALID_FIELD', 'give --kind (and --payload), or pipe an event or NDJSON events on stdin');
  const chunks: Buffer[] = [];
  for await (const chunk of process.stdin as AsyncIterable<Buffer>) chunks.push(chunk);
  return Buffer.concat(chunks).toString('utf8');
}

function report(ack: PublishAck, json: boolean): void {
  if (json) printLine(JSON.stringify(ack));
  else printLine(`seq ${ack.seq}  message_id ${ack.message_id}  delivered ${ack.delivered}`);
}

/** Many events over one WebSocket, in NDJSON frames; every event gets its ack (or its error) back, in order. */
async function publishStream(client: DaemonClient, lines: string[], json: boolean): Promise<number> {
  const { ws, onMessage } = await openDaemonSocket(client, `${BUS_PATH}?subscribe=0&ack=1`);
  let answered = 0;
  let failed = 0;
  const finished = new Promise<void>((resolve, reject) => {
    onMessage((data) => {
      const answer = JSON.parse(data.toString('utf8')) as Record<string, unknown>;
      answered++;
      if (answer.kind === 'bus.ack') report(answer as unknown as PublishAck, json);
      else {
        failed++;
        const msg = isErrorBody(answer) ? `${answer.error} [${answer.code}]` : JSON.stringify(answer);
        process.stderr.write(`telepty: event ${answered}: ${msg}\n`);
        if (json) printLine(JSON.stringify(answer));
      }
      if (answered === lines.length) resolve();
    });
    ws.on('close', () => reject(new TeleptyError('DAEMON_UNREACHABLE', `the daemon closed the connection after ${answered} of ${lines.length} events`)));
  });
  for (let i = 0; i < lines.length; i += STREAM_BATCH) ws.send(lines.slice(i, i + STREAM_BATCH).join('\n'));
  await finished;
  ws.close(1000, 'done');
  return failed > 0 ? EXIT.USAGE : EXIT.OK;
}

export function register(program: Command): void {
  program
    .command('publish')
    .description('publish events on the bus: one from options, or an event / NDJSON stream on stdin')
    .option('--kind <kind>', 'event kind, e.g. turn_request')
    .option('--target <id>', 'target session (id or id@host)')
    .option('--source <source>', 'sender (default: $TELEPTY_SESSION_ID)')
    .option('--payload <json>', 'payload object as JSON')
    .option('--payload-file <path>', 'payload object from a JSON file')
    .option('--json', 'print the daemon answer(s) as JSON (NDJSON for a stream)')
    .addHelpText(
      'after',
      examples([
        'telepty publish --kind task.done --source ci --payload \'{"job":42}\'',
        'telepty publish --kind turn_request --target dev-001 --payload \'{"turn_id":"t1","prompt":"review auth"}\'',
        'cat events.ndjson | telepty publish --json',
      ]) + '\nPrints seq and message_id per event. Exit status 2 when an event was refused (the others are published).\n',
    )
    .action(async (opts: PublishOptions) => {
      const json = Boolean(opts.json);
      const source = opts.source ?? process.env.TELEPTY_SESSION_ID;
      if (opts.kind) {
        if (opts.payload && opts.payloadFile) throw new TeleptyError('INVALID_FIELD', 'give --payload or --payload-file, not both');
        const payloadText = opts.payload ?? (opts.payloadFile ? await fs.readFile(opts.payloadFile, 'utf8') : undefined);
        const event = {
          kind: opts.kind,
          ...(opts.target ? { target: opts.target } : {}),
          ...(source ? { source } : {}),
          ...(payloadText !== undefined ? { payload: parseJsonArg(payloadText, 'the payload') } : {}),
        };
        const ack = await (await connect()).request<PublishAck>({ method: 'POST', path: '/api/bus/publish', body: event });
        if (json) printJson(ack);
        else report(ack, false);
        return;
      }
      if (opts.target || opts.payload || opts.payloadFile) throw new TeleptyError('INVALID_FIELD', '--target and --payload need --kind');
      const text = await readStdin();
      let lines: string[];
      try {
        const whole: unknown = JSON.parse(text);
        lines = Array.isArray(whole) ? whole.map((e) => JSON.stringify(e)) : [JSON.stringify(whole)];
      } catch (err) {
        if (!(err instanceof SyntaxError)) throw err;
        lines = ndjsonLines(text);
      }
      if (lines.length === 0) throw new TeleptyError('INVALID_FIELD', 'stdin held no events');
      process.exitCode = await publishStream(await connect(), lines, json);
    });
}
