import { once } from 'node:events';
import { StringDecoder } from 'node:string_decoder';
import { sessionIdFromEnv } from '../util/config.js';
import type { Command } from 'commander';
import { connect, type DaemonClient } from '../client/daemon-client.js';
import { openDaemonSocket, type DaemonSocket } from '../client/ws.js';
import { BUS_ACK_KIND, BUS_PATH, isPublishAckShape, ndjsonLines, type PublishAck } from '../protocol/bus.js';
import { parseJsonFrame } from '../protocol/json.js';
import { isRecord } from '../protocol/guard.js';
import { publishOp } from '../protocol/ops/bus.js';
import { TeleptyError, isErrorBody } from '../protocol/errors.js';
import { EXIT } from '../ui/exit.js';
import { exitQuietlyWhenReaderCloses, printJson, printLine } from '../ui/print.js';
import { readTextFile } from './prompt-input.js';
import { examples } from './command-module.js';
import { awaitRouted, DEFAULT_ROUTE_WAIT_MS, ROUTED_KINDS } from './publish-wait.js';
import { parseSeconds } from './options.js';

interface PublishOptions {
  kind?: string;
  target?: string;
  source?: string;
  payload?: string;
  payloadFile?: string;
  json?: boolean;
  wait?: boolean;
  timeout?: string;
}

/** At most this many events go in one WS frame of a stream. */
const STREAM_BATCH = 500;
/** Past this many bytes not yet handed to the socket, reading stdin waits for it (a fast producer, a slow daemon). */
const SEND_HIGH_WATER = 4 * 1024 * 1024;
/**
 * Past this many events sent and not yet answered, reading stdin waits for answers: each answer is a line of ~250
 * bytes to print, so a reader that stops reading holds at most ~2.5 MB of them here; 10 frames' worth keeps the
 * daemon busy meanwhile.
 */
const MAX_UNANSWERED = 10 * STREAM_BATCH;

function parseJsonArg(text: string, what: string): unknown {
  try {
    return JSON.parse(text);
  } catch (err) {
    throw new TeleptyError('INVALID_JSON', `${what} is not JSON: ${(err as Error).message}`);
  }
}

/** One line per event: `delivered` (the seed's name) counts the subscribers it was sent to, so the line says so. */
function report(ack: PublishAck, json: boolean): void {
  if (json) printLine(JSON.stringify(ack));
  else printLine(`seq ${ack.seq}  message_id ${ack.message_id}  sent to ${ack.delivered} subscriber${ack.delivered === 1 ? '' : 's'}`);
}

/** The payload must be a JSON object (the bus schema's payload; an array or a number is refused here, not later). */
function parsePayload(text: string): Record<string, unknown> {
  const value = parseJsonArg(text, 'the payload');
  if (!isRecord(value)) throw new TeleptyError('INVALID_FIELD', 'the payload must be a JSON object, e.g. \'{"prompt":"hi"}\'');
  return value;
}

/**
 * Events over one WebSocket: sent as they come (what is available goes in one NDJSON frame), every one answered
 * by its ack (or its error), printed as it arrives, in order.
 */
class EventStream {
  private sent = 0;
  private answered = 0;
  private failed = 0;
  private ended = false;
  private lost: TeleptyError | null = null;
  private settled: (() => void) | null = null;
  /** send() waiting for answers (too many unanswered), woken by the next answer or the connection's end. */
  private answeredSome: (() => void) | null = null;

  private constructor(
    private readonly ws: DaemonSocket['ws'],
    onMessage: DaemonSocket['onMessage'],
    private readonly json: boolean,
  ) {
    onMessage((data) => this.onAnswer(data));
    ws.on('close', () => {
      if (this.done()) return;
      this.lost = new TeleptyError('DAEMON_UNREACHABLE', `the daemon closed the connection after ${this.answered} of ${this.sent} events`);
      this.settled?.();
      this.answeredSome?.();
    });
  }

  static async open(client: DaemonClient, json: boolean): Promise<EventStream> {
    const { ws, onMessage } = await openDaemonSocket(client, `${BUS_PATH}?subscribe=0&ack=1`);
    return new EventStream(ws, onMessage, json);
  }

  private done(): boolean {
    return this.ended && this.answered === this.sent;
  }

  /** One answer per event, in order: its ack, or its error. */
  private onAnswer(data: Buffer): void {
    const answer = readAnswer(data.toString('utf8'));
    this.answered++;
    if ('ack' in answer) report(answer.ack, this.json);
    else {
      this.failed++;
      process.stderr.write(`telepty: event ${this.answered}: ${answer.failure}\n`);
      if (this.json) printLine(answer.json);
    }
    if (this.done()) this.settled?.();
    this.answeredSome?.();
  }

  /**
   * Send events (one JSON text each); waits while the socket is far behind, while many events are unanswered, and
   * while stdout has not taken the answers printed so far: a reader that stops reading (a pager, `| sleep`) then
   * holds back stdin instead of this process holding every answer (200,000 events: 157 MB before).
   */
  async send(lines: string[]): Promise<void> {
    for (let i = 0; i < lines.length; i += STREAM_BATCH) {
      if (process.stdout.writableNeedDrain) await once(process.stdout, 'drain');
      while (this.sent - this.answered >= MAX_UNANSWERED && !this.lost) await new Promise<void>((resolve) => (this.answeredSome = resolve));
      this.answeredSome = null;
      if (this.lost) throw this.lost;
      const frame = lines.slice(i, i + STREAM_BATCH);
      this.sent += frame.length;
      const written = new Promise<void>((resolve) => this.ws.send(frame.join('\n'), () => resolve()));
      if (this.ws.bufferedAmount > SEND_HIGH_WATER) await written;
    }
  }

  /** No more events: wait for the last answers. Exit status 2 when any event was refused. */
  async end(): Promise<number> {
    this.ended = true;
    if (!this.done() && !this.lost) await new Promise<void>((resolve) => (this.settled = resolve));
    if (this.lost) throw this.lost;
    this.ws.close(1000, 'done');
    return this.failed > 0 ? EXIT.USAGE : EXIT.OK;
  }
}

/**
 * One answer frame of a publish stream: an ack, or that event's failure (its `{error, code}`, or any other frame,
 * which is a failure too, named as such: a damaged frame is never a crash). `json` is the line `--json` prints.
 */
export function readAnswer(text: string): { ack: PublishAck } | { failure: string; json: string } {
  const answer = parseJsonFrame(text);
  if (isRecord(answer) && answer.kind === BUS_ACK_KIND && isPublishAckShape(answer)) return { ack: answer };
  if (isErrorBody(answer)) return { failure: `${answer.error} [${answer.code}]`, json: JSON.stringify(answer) };
  if (isRecord(answer)) return { failure: JSON.stringify(answer), json: JSON.stringify(answer) };
  const failure = `the daemon answered with a frame that is not JSON: ${text.slice(0, 200)}`;
  return { failure, json: JSON.stringify({ error: failure, code: 'PROTOCOL_MISMATCH' }) };
}

function isObjectLine(line: string): boolean {
  try {
    const v: unknown = JSON.parse(line);
    return typeof v === 'object' && v !== null && !Array.isArray(v);
  } catch (err) {
    if (err instanceof SyntaxError) return false;
    throw err;
  }
}

/** A whole document: one event, a JSON array of events, or else NDJSON lines (each answered on its own). */
function documentEvents(text: string): string[] {
  try {
    const whole: unknown = JSON.parse(text);
    return Array.isArray(whole) ? whole.map((e) => JSON.stringify(e)) : [JSON.stringify(whole)];
  } catch (err) {
    if (!(err instanceof SyntaxError)) throw err;
    return ndjsonLines(text);
  }
}

/**
 * Events from stdin over one connection. When the first line is a JSON object on its own the input is an NDJSON
 * stream: each line is published as soon as it has arrived (a long-running producer is not held until EOF).
 * Otherwise (a JSON array, a pretty-printed event) the input is read to its end and published as one document.
 */
async function publishStdin(json: boolean): Promise<number> {
  if (process.stdin.isTTY) throw new TeleptyError('INVALID_FIELD', 'give --kind (and --payload), or pipe an event or NDJSON events on stdin');
  exitQuietlyWhenReaderCloses();
  const decoder = new StringDecoder('utf8');
  // The connection is opened with the first event (an empty stdin never connects).
  const out: { stream: EventStream | null } = { stream: null };
  const publish = async (lines: string[]): Promise<void> => {
    if (lines.length === 0) return;
    out.stream ??= await EventStream.open(await connect(), json);
    await out.stream.send(lines);
  };
  let mode: 'first-line' | 'stream' | 'document' = 'first-line';
  let pending = '';
  for await (const chunk of process.stdin as AsyncIterable<Buffer>) {
    pending += decoder.write(chunk);
    if (mode === 'document') continue;
    const nl = pending.lastIndexOf('\n');
    if (nl < 0) continue;
    const lines = ndjsonLines(pending.slice(0, nl + 1));
    if (mode === 'first-line' && lines.length > 0) mode = isObjectLine(lines[0] as string) ? 'stream' : 'document';
    if (mode === 'document') continue;
    pending = pending.slice(nl + 1);
    await publish(lines);
  }
  pending += decoder.end();
  await publish(mode === 'stream' ? ndjsonLines(pending) : documentEvents(pending));
  if (!out.stream) throw new TeleptyError('INVALID_FIELD', 'stdin held no events');
  return out.stream.end();
}

export function register(program: Command): void {
  program
    .command('publish')
    .description('publish events on the bus: one from options, or an event / NDJSON stream on stdin')
    .option('--kind <kind>', 'event kind, e.g. turn_request')
    .option('--target <id>', 'target session (id or id@host)')
    .option('--source <source>', 'sender (default: $TELEPTY_SESSION_ID)')
    .option('--payload <json>', 'payload object as JSON')
    .option('--payload-file <path>', 'payload object from a JSON file (- for stdin)')
    .option('--wait', 'for a routed kind (turn_request): wait for its inject_written or inject_failed and exit accordingly')
    .option('--timeout <seconds>', 'with --wait: how long to wait for the routing answer (default 60)')
    .option('--json', 'print the daemon answer(s) as JSON (NDJSON for a stream)')
    .addHelpText(
      'after',
      examples([
        'telepty publish --kind task.done --source ci --payload \'{"job":42}\'',
        'telepty publish --kind turn_request --target dev-001 --payload \'{"turn_id":"t1","prompt":"review auth"}\'',
        'telepty publish --wait --kind turn_request --target dev-001 --payload \'{"prompt":"run the tests"}\'',
        'cat events.ndjson | telepty publish --json',
      ]) +
        '\nPrints seq, message_id and how many subscribers the event was sent to (the JSON field `delivered`, the seed\'s name).' +
        '\nA turn_request is routed by the daemon: with --wait the command waits for the routing answer and exits 0 when the' +
        '\nprompt was written (inject_written), with the failure\'s exit status when it was not (inject_failed: 3 unknown' +
        '\nsession, 4 disconnected...), 7 when no answer came in time (it may still be delivered).' +
        '\nExit status 2 when an event was refused (the others are published).\n',
    )
    .action(async (opts: PublishOptions) => {
      const json = Boolean(opts.json);
      const source = opts.source ?? sessionIdFromEnv();
      if (opts.kind !== undefined) {
        if (opts.kind === '') throw new TeleptyError('INVALID_FIELD', '--kind needs a kind, e.g. --kind turn_request');
        if (opts.payload && opts.payloadFile) throw new TeleptyError('INVALID_FIELD', 'give --payload or --payload-file, not both');
        if (opts.wait && !ROUTED_KINDS.has(opts.kind)) throw new TeleptyError('INVALID_FIELD', `--wait waits for the routing of ${[...ROUTED_KINDS].join(', ')}; an event of kind ${JSON.stringify(opts.kind)} is not routed`);
        const timeoutMs = opts.timeout === undefined ? DEFAULT_ROUTE_WAIT_MS : parseSeconds(opts.timeout, '--timeout');
        const payloadText = opts.payload ?? (opts.payloadFile ? await readTextFile(opts.payloadFile, '--payload-file') : undefined);
        const event = {
          kind: opts.kind,
          ...(opts.target ? { target: opts.target } : {}),
          ...(source ? { source } : {}),
          ...(payloadText !== undefined ? { payload: parsePayload(payloadText) } : {}),
        };
        const client = await connect();
        const ack = await client.call(publishOp, { body: event });
        if (!opts.wait) {
          if (json) printJson(ack);
          else report(ack, false);
          return;
        }
        const routed = await awaitRouted(client, ack, timeoutMs);
        if (json) printJson({ ...ack, routed });
        else printLine(`seq ${ack.seq}  message_id ${ack.message_id}  written to ${String(routed.target_agent ?? opts.target)} (inject_id ${String(routed.inject_id)})`);
        return;
      }
      if (opts.target || opts.payload || opts.payloadFile || opts.wait) throw new TeleptyError('INVALID_FIELD', '--target, --payload and --wait need --kind');
      process.exitCode = await publishStdin(json);
    });
}
