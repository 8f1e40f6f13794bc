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

export async function play(file: string, opts: PlayOptions, out: NodeJS.WritableStream = process.stdout): Promise<void> {
  const speed = positive(opts.speed, '--speed');
  const idleLimit = opts.idleLimit === undefined ? Infinity : positive(opts.idleLimit, '--idle-limit');
  let text: string;
  try {
    text = await fs.readFile(file, 'utf8');
  } catch (err) {
    throw new TeleptyError(isErrno(err, 'ENOENT') ? 'NOT_FOUND' : 'INVALID_FIELD', `cannot read ${file}: ${err instanceof Error ? err.message : String(err)}`);
  }
  let cast: ReturnType<typeof parseCast>;
  try {
    cast = parseCast(text);
  } catch (err) {
    if (err instanceof CastParseError) throw new TeleptyError('INVALID_FIELD', `${file} is not an asciicast recording (${err.message})`);
    throw err;
  }
  let previous = 0;
  let owed = 0;
  for (const ev of cast.events) {
    if (ev.code !== 'o') continue;
    owed += (Math.min(Math.max(0, ev.time - previous), idleLimit) * 1000) / speed;
    previous = ev.time;
    if (owed >= MIN_WAIT_MS) {
      await sleep(owed);
      owed = 0;
    }
    if (!out.write(ev.data)) await new Promise<void>((resolve) => out.once('drain', () => resolve()));
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
