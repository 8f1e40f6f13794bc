import { closeSync, openSync, readSync, promises as fs } from 'node:fs';
import path from 'node:path';
import { CastRecorder, rotatedName, type CastPosition, type RecorderOptions } from './recorder.js';
import { feedRecord, MAGIC, OPTIONS_AT, PROGRESS_AT, readAll, RECORD_HEAD, type SpoolClock, type SpoolEvent, type SpoolRecordingOptions } from './recorder-spool.js';

/**
 * Recovery of the spools a session host left behind when it ended without closing its recording (recorder-spool.ts
 * says how a spool is written): run when the next recording starts in the same folder.
 */

/** What a spool file's header says. */
interface SpoolHeader {
  pid: number;
  opts: SpoolRecordingOptions;
  /** The first record not (known to be) converted, and where the cast stood before it; null: no record converted yet. */
  progress: { offset: number; at: CastPosition } | null;
  /** Where the records start. */
  first: number;
}

function readHeader(fd: number): SpoolHeader | null {
  const head = Buffer.alloc(OPTIONS_AT + 4);
  if (readSync(fd, head, 0, head.length, 0) < head.length || head.toString('latin1', 0, 8) !== MAGIC) return null;
  const len = head.readUInt32LE(OPTIONS_AT);
  const json = Buffer.alloc(len);
  if (readSync(fd, json, 0, len, OPTIONS_AT + 4) < len) return null;
  const parsed: unknown = JSON.parse(json.toString('utf8'));
  if (typeof parsed !== 'object' || parsed === null || !('pid' in parsed) || !('opts' in parsed)) return null;
  const { pid, opts } = parsed as { pid: unknown; opts: unknown };
  if (typeof pid !== 'number' || typeof opts !== 'object' || opts === null || typeof (opts as { file?: unknown }).file !== 'string') return null;
  const v = [0, 1, 2, 3, 4, 5].map((i) => head.readDoubleLE(PROGRESS_AT + i * 8));
  const [offset, part, fileBytes, headerBytes, fileStart, lastTime] = v as [number, number, number, number, number, number];
  return {
    pid,
    opts: opts as SpoolRecordingOptions,
    progress: offset > 0 ? { offset, at: { part, fileBytes, headerBytes, fileStart, lastTime } } : null,
    first: OPTIONS_AT + 4 + len,
  };
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}

async function exists(file: string): Promise<boolean> {
  return fs.stat(file).then(
    () => true,
    () => false,
  );
}

/**
 * Where a recording whose spool never recorded its progress stands: its last part, cut after its last whole line
 * (a line torn by the end of the host goes), the time base from its header, the last line's time.
 */
async function positionOnDisk(opts: SpoolRecordingOptions): Promise<CastPosition> {
  let part = 1;
  while (await exists(rotatedName(opts.file, part + 1))) part++;
  const text = await fs.readFile(rotatedName(opts.file, part), 'utf8');
  const whole = text.slice(0, text.lastIndexOf('\n') + 1);
  const lines = whole.split('\n').filter((l) => l !== '');
  const header = JSON.parse(lines[0] ?? '{}') as { timestamp?: unknown };
  let lastTime = 0;
  for (const l of lines.slice(1)) {
    const t = (JSON.parse(l) as unknown[])[0];
    if (typeof t === 'number') lastTime = opts.format === 2 ? t : lastTime + t;
  }
  return {
    part,
    fileBytes: Buffer.byteLength(whole),
    headerBytes: Buffer.byteLength(lines[0] ?? '') + 1,
    fileStart: typeof header.timestamp === 'number' ? header.timestamp * 1000 : 0,
    lastTime,
  };
}

/**
 * Convert a spool its host left behind into its recording: the recording is cut back to where the spool's progress
 * says it stood (parts written after that point go, they are written again), every whole record is converted in
 * order, and a marker says the host ended without closing the recording (and that the end may be missing when a
 * record was torn). Returns the recording's files.
 */
export async function recoverSpool(spoolFile: string, header: SpoolHeader, fd: number): Promise<string[]> {
  const { opts } = header;
  const at = header.progress?.at ?? (await positionOnDisk(opts));
  for (let n = at.part + 1; await exists(rotatedName(opts.file, n)); n++) await fs.unlink(rotatedName(opts.file, n));
  const clock: SpoolClock = { at: at.fileStart + at.lastTime * 1000 };
  const recorder = await CastRecorder.resume({ ...opts, now: () => clock.at } satisfies RecorderOptions, at);
  let offset = header.progress?.offset ?? header.first;
  // Without progress, the batch the recorder was writing when the host ended may be cut: said, never silent.
  if (!header.progress) recorder.marker('gap: output written just before the spool started may be missing (the session host ended)');
  const size = (await fs.stat(spoolFile)).size;
  let torn = false;
  for (;;) {
    if (offset + RECORD_HEAD > size) {
      torn = offset < size;
      break;
    }
    const head = Buffer.alloc(RECORD_HEAD);
    readAll(fd, head, offset);
    const jsonBytes = head.readUInt32LE(0);
    const dataBytes = head.readUInt32LE(4);
    if (offset + RECORD_HEAD + jsonBytes + dataBytes > size) {
      torn = true;
      break;
    }
    const json = Buffer.alloc(jsonBytes);
    readAll(fd, json, offset + RECORD_HEAD);
    const events = JSON.parse(json.toString('utf8')) as SpoolEvent[];
    await feedRecord(recorder, clock, events, fd, offset + RECORD_HEAD + jsonBytes);
    await recorder.idle();
    offset += RECORD_HEAD + jsonBytes + dataBytes;
  }
  recorder.marker(`the session host ended without closing the recording; recovered from its spool${torn ? ' (its last batch was cut: output at the end may be missing)' : ''}`);
  await recorder.close();
  return recorder.stats.files;
}

/**
 * Spools in `dir` whose host is gone, each converted into its recording (claimed first by a rename, so two hosts
 * starting at once do not both convert one). Returns the spools converted.
 */
export async function recoverSpools(dir: string): Promise<string[]> {
  let names: string[];
  try {
    names = await fs.readdir(dir);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return [];
    throw err;
  }
  const done: string[] = [];
  // A converted spool a host renamed aside and ended before unlinking (discardSpool): only its space is left.
  for (const name of names) {
    const m = /\.spool\.(\d+)\.\d+\.gone$/.exec(name);
    if (m && !alive(Number(m[1]))) await fs.rm(path.join(dir, name), { force: true });
  }
  for (const name of names.filter((n) => n.endsWith('.spool'))) {
    const file = path.join(dir, name);
    const fd = openSync(file, 'r');
    let header: SpoolHeader | null;
    try {
      header = readHeader(fd);
    } catch (err) {
      console.error(`telepty: the recording spool ${file} is unreadable:`, err);
      continue;
    } finally {
      closeSync(fd);
    }
    if (!header || alive(header.pid)) continue;
    const claimed = `${file}.${process.pid}.recovering`;
    try {
      await fs.rename(file, claimed);
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') continue; // another host took it
      throw err;
    }
    const cfd = openSync(claimed, 'r');
    try {
      // The recording is the file the spool is named for (wherever its folder is now).
      await recoverSpool(claimed, { ...header, opts: { ...header.opts, file: file.slice(0, -'.spool'.length) } }, cfd);
    } catch (err) {
      // One spool that cannot be converted does not hold up the others: it stays (claimed) for a person to look at.
      console.error(`telepty: could not recover the recording spool ${claimed}:`, err);
      continue;
    } finally {
      closeSync(cfd);
    }
    await fs.unlink(claimed);
    done.push(file);
  }
  return done;
}
