import { promises as fs } from 'node:fs';
import type { Command } from 'commander';
import { TeleptyError } from '../protocol/errors.js';
import { CastParseError, parseCast } from '../protocol/asciicast.js';
import { sleep } from '../util/async.js';
import { isErrno } from '../util/files.js';
import { examples } from './command-module.js';

export interface PlayOptions {
  speed: string;
  idleLimit?: string;
}

/** Waits shorter than this are merged into the next one: a timer per tiny gap would only add jitter. */
const MIN_WAIT_MS = 4;

function positive(value: string, flag: string): number {
  const n = Number(value);
  if (!Number.isFinite(n) || n <= 0) throw new TeleptyError('INVALID_FIELD', `${flag} must be a positive number, not "${value}"`);
  return n;
}

export async function play(file: string, opts: PlayOptions, out: NodeJS.WritableStream = process.stdout, warn: (line: string) => void = (line) => process.stderr.write(`${line}\n`)): Promise<void> {
  const speed = positive(opts.speed, '--speed');
  const idleLimit = opts.idleLimit === undefined ? Infinity : positive(opts.idleLimit, '--idle-limit');
  let text: string;
  try {
    text = await fs.readFile(file, 'utf8');
  } catch (err) {
    throw new TeleptyError(isErrno(err, 'ENOENT') ? 'NOT_FOUND' : 'INVALID_FIELD', `cannot read ${file}: ${err instanceof Error ? err.message : String(err)}`);
  }
  const cast = parseRecording(file, text, warn);
  // The reader may go away (`telepty play x.cast | head`): playing stops there, quietly, as `cat` does. The listener
  // stays: a write still under way when play returns may fail after it.
  let gone: Error | null = null;
  out.on('error', (err: Error) => {
    gone = err;
  });
  let previous = 0;
  let owed = 0;
  for (const ev of cast.events) {
    if (gone) break;
    if (ev.code !== 'o') continue;
    owed += (Math.min(Math.max(0, ev.time - previous), idleLimit) * 1000) / speed;
    previous = ev.time;
    if (owed >= MIN_WAIT_MS) {
      await sleep(owed);
      owed = 0;
    }
    if (!out.write(ev.data)) {
      await new Promise<void>((resolve) => {
        out.once('drain', () => resolve());
        out.once('error', () => resolve());
      });
    }
  }
  const failed: Error | null = gone;
  if (failed && !isErrno(failed, 'EPIPE')) throw failed;
}

/**
 * The recording in `text`. A last event cut off in the middle (no newline after it: the recording's writer was
 * killed, or its disk filled up) is left out with a warning, and what came before it plays; anything else that is
 * not asciicast is refused.
 */
function parseRecording(file: string, text: string, warn: (line: string) => void): ReturnType<typeof parseCast> {
  const refuse = (err: CastParseError): TeleptyError => new TeleptyError('INVALID_FIELD', `${file} is not an asciicast recording (${err.message})`);
  try {
    return parseCast(text);
  } catch (err) {
    if (!(err instanceof CastParseError)) throw err;
    const cut = text.lastIndexOf('\n');
    const lastLine = text.slice(0, cut).split('\n').length + 1;
    if (text.endsWith('\n') || cut < 0 || err.line !== lastLine) throw refuse(err);
    let head: ReturnType<typeof parseCast>;
    try {
      head = parseCast(text.slice(0, cut + 1));
    } catch (again) {
      if (again instanceof CastParseError) throw refuse(again);
      throw again;
    }
    warn(`telepty: ${file} ends in a cut-off event (line ${err.line}, no newline after it); playing what came before it`);
    return head;
  }
}

export function register(program: Command): void {
  program
    .command('play')
    .description('replay a recording (asciicast v2 or v3) in this terminal')
    .argument('<file>', 'the .cast file')
    .option('--speed <n>', 'play N times as fast', '1')
    .option('--idle-limit <s>', 'shorten every pause longer than S seconds to S')
    .addHelpText('after', examples(['telepty play dev-001-20261204T2301.cast', 'telepty play night.cast --speed 4 --idle-limit 1']))
    .action(async (file: string, opts: PlayOptions) => {
      await play(file, opts);
    });
}
