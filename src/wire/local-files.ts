import { readFileSync } from 'node:fs';
import { parseDaemonRecord, type DaemonRecord } from '../protocol/daemon-state.js';

/**
 * The client's reads of the daemon's small files, synchronous on purpose: a CLI process reads two tiny files
 * once, and fs.promises costs every start a few milliseconds of module loading. (The daemon reads async.)
 */
export function readFileIfExists(file: string): string | null {
  try {
    return readFileSync(file, 'utf8');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return null;
    throw err;
  }
}

export function readStateRecord(stateFile: string): DaemonRecord | null {
  const raw = readFileIfExists(stateFile);
  if (raw === null) return null;
  const record = parseDaemonRecord(raw);
  return record === 'invalid' ? null : record;
}
