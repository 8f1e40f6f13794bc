import path from 'node:path';
import type { Command } from 'commander';
import type { CastFormat } from '../protocol/asciicast.js';
import { TeleptyError } from '../protocol/errors.js';
import type { RecordRequest } from '../protocol/recording.js';

/** `--record [FILE] --cast-format 2|3 --record-input`, as commander gives them (spawn and wrap). */
export interface RecordFlags {
  record?: string | true;
  castFormat?: CastFormat;
  recordInput?: boolean;
}

export function castFormatOption(value: string): CastFormat {
  if (value === '2') return 2;
  if (value === '3') return 3;
  throw new TeleptyError('INVALID_FIELD', `--cast-format must be 2 or 3 (the asciicast version), got ${JSON.stringify(value)}`);
}

/** The recording options of spawn and wrap. */
export function addRecordOptions(cmd: Command): Command {
  return cmd
    .option('--record [file]', 'record the session as an asciicast (default file: <recordings dir>/<id>-<UTC time>.cast)')
    .option('--cast-format <n>', 'asciicast version of the recording: 2 (default) or 3', castFormatOption)
    .option('--record-input', 'record keystrokes too (`i` events; they may hold secrets)');
}

/** The request's `record`, or undefined when not asked; a relative FILE is taken from `cwd`. */
export function recordRequestOf(flags: RecordFlags, cwd: string): RecordRequest | undefined {
  if (flags.record === undefined) {
    if (flags.castFormat !== undefined || flags.recordInput) throw new TeleptyError('INVALID_FIELD', '--cast-format and --record-input go with --record');
    return undefined;
  }
  return {
    ...(typeof flags.record === 'string' ? { file: path.resolve(cwd, flags.record) } : {}),
    ...(flags.castFormat !== undefined ? { format: flags.castFormat } : {}),
    ...(flags.recordInput ? { input: true } : {}),
  };
}
