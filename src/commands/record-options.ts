import path from 'node:path';
import type { Command } from 'commander';
import type { CastFormat } from '../protocol/asciicast.js';
import { TeleptyError } from '../protocol/errors.js';
import { parseSize, type RecordRequest } from '../protocol/recording.js';
import { processEnv } from '../util/config.js';
import { addSpecOptions, type OptionSpec } from './spec.js';

/** `--record [FILE] --cast-format 2|3 --record-input --record-max-size SIZE`, as commander gives them (spawn and wrap). */
export interface RecordFlags {
  record?: string | true;
  castFormat?: CastFormat;
  recordInput?: boolean;
  /** Bytes (parsed by maxSizeOption). */
  recordMaxSize?: number;
}

export const MAX_SIZE_HELP = 'start a numbered next file past this size (e.g. 50M, 512K, 1G; default: TELEPTY_RECORD_MAX_SIZE, else 100M)';

export function maxSizeOption(value: string): number {
  return parseSize(value, '--record-max-size');
}

/** The size limit asked for: the option, else TELEPTY_RECORD_MAX_SIZE, else none (the recorder's default). */
export function maxBytesOf(option: number | undefined, env: NodeJS.ProcessEnv = processEnv()): number | undefined {
  if (option !== undefined) return option;
  const fromEnv = env.TELEPTY_RECORD_MAX_SIZE?.trim();
  return fromEnv ? parseSize(fromEnv, 'TELEPTY_RECORD_MAX_SIZE') : undefined;
}

export function castFormatOption(value: string): CastFormat {
  if (value === '2') return 2;
  if (value === '3') return 3;
  throw new TeleptyError('INVALID_FIELD', `--cast-format must be 2 or 3 (the asciicast version), got ${JSON.stringify(value)}`);
}

/** The recording options of spawn and wrap. */
export const RECORD_OPTIONS: OptionSpec[] = [
  { long: 'record', value: '[file]', description: 'record the session as an asciicast (default file: <recordings dir>/<id>-<UTC time>.cast)' },
  { long: 'cast-format', value: '<n>', description: 'asciicast version of the recording: 2 (default) or 3', parse: castFormatOption },
  { long: 'record-input', description: 'record keystrokes too (`i` events; they may hold secrets)' },
  { long: 'record-max-size', value: '<size>', description: MAX_SIZE_HELP, parse: maxSizeOption },
];

export function addRecordOptions(cmd: Command): Command {
  return addSpecOptions(cmd, RECORD_OPTIONS);
}

/** The request's `record`, or undefined when not asked; a relative FILE is taken from `cwd`. */
export function recordRequestOf(flags: RecordFlags, cwd: string, env: NodeJS.ProcessEnv = processEnv()): RecordRequest | undefined {
  if (flags.record === undefined) {
    if (flags.castFormat !== undefined || flags.recordInput || flags.recordMaxSize !== undefined) {
      throw new TeleptyError('INVALID_FIELD', '--cast-format, --record-input and --record-max-size go with --record');
    }
    return undefined;
  }
  const maxBytes = maxBytesOf(flags.recordMaxSize, env);
  return {
    ...(typeof flags.record === 'string' ? { file: path.resolve(cwd, flags.record) } : {}),
    ...(flags.castFormat !== undefined ? { format: flags.castFormat } : {}),
    ...(flags.recordInput ? { input: true } : {}),
    ...(maxBytes !== undefined ? { max_bytes: maxBytes } : {}),
  };
}
