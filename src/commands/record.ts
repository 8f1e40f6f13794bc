import { promises as fs } from 'node:fs';
import path from 'node:path';
import type { Command } from 'commander';
import { connect } from '../client/daemon-client.js';
import { TeleptyError } from '../protocol/errors.js';
import { assertSessionRef } from '../protocol/ids.js';
import { recordSessionOp } from '../protocol/ops/recording.js';
import { printJson, printLine } from '../ui/print.js';
import { loadConfig } from '../util/config.js';
import { isErrno } from '../util/files.js';
import { examples } from './command-module.js';
import { castFormatOption, MAX_SIZE_HELP, maxBytesOf, maxSizeOption, type RecordFlags } from './record-options.js';

interface RecordOptions extends Pick<RecordFlags, 'castFormat' | 'recordInput' | 'recordMaxSize'> {
  stop?: boolean;
  file?: string;
  list?: boolean;
  json?: boolean;
}

/** A recording in the recordings folder, as `record --list` shows it. */
export interface RecordingFile {
  file: string;
  bytes: number;
  modified_at: string;
}

/**
 * The recording's file as the session's machine must read it: a path of this shell (resolved here), or for
 * `id@machine` a path on that machine, which must be absolute (this shell's folder means nothing there).
 */
function fileFor(id: string, file: string): string {
  if (!id.includes('@')) return path.resolve(file);
  if (!path.isAbsolute(file)) throw new TeleptyError('INVALID_FIELD', `with ${id}, --file is a path on that machine: give it absolute`);
  return file;
}

/**
 * The `.cast` files of `dir`, newest first (none when it does not exist yet). A folder that cannot be read (a file in
 * its place, no permission) is INVALID_FIELD naming it, as a recording into it is refused (util/recording-file.ts).
 */
export async function listRecordings(dir: string): Promise<RecordingFile[]> {
  let names: string[];
  try {
    names = await fs.readdir(dir);
  } catch (err) {
    if (isErrno(err, 'ENOENT')) return [];
    const fix = 'set TELEPTY_RECORD_DIR to a folder, or move that file away';
    if (isErrno(err, 'ENOTDIR')) throw new TeleptyError('INVALID_FIELD', `cannot list the recordings: ${dir} is not a folder (a file of that name is in the way); ${fix}`, { field: 'record_dir' });
    if (err instanceof Error && 'code' in err) throw new TeleptyError('INVALID_FIELD', `cannot list the recordings in ${dir}: ${err.message}`, { field: 'record_dir' });
    throw err;
  }
  const out: RecordingFile[] = [];
  for (const name of names.filter((n) => n.endsWith('.cast'))) {
    const file = path.join(dir, name);
    const st = await fs.stat(file).catch((err: unknown) => {
      // Removed between the listing and now: not listed.
      if (isErrno(err, 'ENOENT')) return null;
      throw err;
    });
    if (st?.isFile()) out.push({ file, bytes: st.size, modified_at: st.mtime.toISOString() });
  }
  return out.sort((a, b) => b.modified_at.localeCompare(a.modified_at) || a.file.localeCompare(b.file));
}

function humanSize(bytes: number): string {
  if (bytes < 1024) return `${bytes} B`;
  if (bytes < 1024 * 1024) return `${(bytes / 1024).toFixed(1)} KB`;
  return `${(bytes / 1024 / 1024).toFixed(1)} MB`;
}

async function list(json: boolean): Promise<void> {
  const { paths } = await loadConfig();
  const files = await listRecordings(paths.recordDir);
  if (json) return printJson(files);
  if (files.length === 0) return printLine(`no recordings in ${paths.recordDir}`);
  for (const f of files) printLine(`${humanSize(f.bytes).padStart(9)}  ${f.modified_at.slice(0, 19).replace('T', ' ')}  ${f.file}`);
}

export function register(program: Command): void {
  program
    .command('record')
    .description("start or stop recording a running session (asciicast), or list the recordings folder's files")
    .argument('[id]', 'the session')
    .option('--stop', 'stop the recording under way')
    .option('--file <file>', 'record to this file (default: <recordings dir>/<id>-<UTC time>.cast)')
    .option('--cast-format <n>', 'asciicast version: 2 (default) or 3', castFormatOption)
    .option('--record-input', 'record keystrokes too (`i` events; they may hold secrets)')
    .option('--record-max-size <size>', MAX_SIZE_HELP, maxSizeOption)
    .option('--list', 'list the recordings (size, time, file)')
    .option('--json', 'print the result as JSON')
    .addHelpText('after', examples(['telepty record dev-001', 'telepty record dev-001 --file ~/night.cast --cast-format 3', 'telepty record dev-001 --stop', 'telepty record --list']))
    .action(async (id: string | undefined, opts: RecordOptions) => {
      if (opts.list) return list(Boolean(opts.json));
      if (id === undefined) throw new TeleptyError('INVALID_FIELD', 'name the session to record (or --list the recordings)');
      const sid = assertSessionRef(id);
      if (opts.stop && (opts.file !== undefined || opts.castFormat !== undefined || opts.recordInput || opts.recordMaxSize !== undefined)) {
        throw new TeleptyError('INVALID_FIELD', '--stop takes no --file, --cast-format, --record-input or --record-max-size');
      }
      const maxBytes = opts.stop ? undefined : maxBytesOf(opts.recordMaxSize);
      const body = opts.stop
        ? { action: 'stop' as const }
        : {
            action: 'start' as const,
            ...(opts.file !== undefined ? { file: fileFor(id, opts.file) } : {}),
            ...(opts.castFormat !== undefined ? { format: opts.castFormat } : {}),
            ...(opts.recordInput ? { input: true } : {}),
            ...(maxBytes !== undefined ? { max_bytes: maxBytes } : {}),
          };
      const client = await connect();
      const result = await client.call(recordSessionOp, { params: { id: sid }, body });
      if (opts.json) return printJson(result);
      if (result.recording) printLine(`recording ${result.session_id} to ${result.recording.file}`);
      else if (result.files && result.files.length > 0) printLine(`stopped recording ${result.session_id}: ${result.files.join(', ')}${result.dropped_bytes ? ` (${result.dropped_bytes} bytes of output dropped)` : ''}`);
      else printLine(`${result.session_id} was not being recorded`);
    });
}
