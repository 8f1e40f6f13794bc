import { promises as fs } from 'node:fs';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { DebouncedJsonFile, PERSIST_RETRY_MS } from '../../../src/util/json-file.js';
import { createLogger } from '../../../src/util/log.js';
import { makeHome, waitFor } from '../../helpers/env.js';

const log = createLogger({ write: () => undefined, level: 'error' });

describe('DebouncedJsonFile flush and settle', () => {
  let home: { home: string; cleanup: () => void };
  let file: string;
  let value: number;
  /** Every snapshot taken is one write. */
  let writes: number;
  let json: DebouncedJsonFile<{ value: number }>;

  beforeEach(() => {
    home = makeHome();
    file = path.join(home.home, 'state.json');
    value = 0;
    writes = 0;
    // A long debounce: anything on disk in these tests was written by flush() or settle().
    json = new DebouncedJsonFile(file, () => (writes++, { value }), log, 60_000);
    json.enable();
  });
  afterEach(async () => {
    await json.flush();
    home.cleanup();
  });

  const onDisk = async (): Promise<number> => (JSON.parse(await fs.readFile(file, 'utf8')) as { value: number }).value;

  it('flush writes at once, and resolves only once it is on disk', async () => {
    value = 1;
    json.schedule();
    await json.flush();
    expect(await onDisk()).toBe(1);
    expect(writes).toBe(1);
  });

  it('settle writes a change no write has taken yet', async () => {
    value = 1;
    json.schedule();
    await json.settle();
    expect(await onDisk()).toBe(1);
    expect(writes).toBe(1);
  });

  it('settle waits for a write in progress instead of writing the same content again', async () => {
    value = 1;
    json.schedule();
    const writing = json.flush(); // an urgent change: its write starts here
    await json.settle(); // no change since: resolves with that write
    expect(writes).toBe(1);
    expect(await onDisk()).toBe(1);
    await writing;
    await json.settle();
    expect(writes).toBe(1);
  });

  it('settle writes again for a change made after the last write began', async () => {
    value = 1;
    json.schedule();
    const writing = json.flush();
    value = 2;
    json.schedule();
    await json.settle();
    await writing;
    expect(await onDisk()).toBe(2);
    expect(writes).toBe(2);
  });
});

describe('DebouncedJsonFile when the disk refuses the write', () => {
  let home: { home: string; cleanup: () => void };
  afterEach(() => home.cleanup());

  it('never answers "saved": flush and settle reject with PERSIST_FAILED naming the file, then it retries until written', async () => {
    home = makeHome();
    // The parent "folder" is a plain file: every write fails (ENOTDIR), as on a full or read-only disk.
    const dir = path.join(home.home, 'blocked');
    await fs.writeFile(dir, 'not a folder');
    const file = path.join(dir, 'state.json');
    const lines: string[] = [];
    const json = new DebouncedJsonFile(file, () => ({ value: 7 }), createLogger({ write: (l) => lines.push(l) }), 60_000);
    json.enable();
    json.schedule();
    await expect(json.flush()).rejects.toMatchObject({ code: 'PERSIST_FAILED', status: 507, message: expect.stringContaining(file) });
    expect(json.failing).toBe(true);
    await expect(json.settle()).rejects.toMatchObject({ code: 'PERSIST_FAILED' });
    // One log line for the run of failures, not one per attempt.
    expect(lines.filter((l) => l.includes('could not write'))).toHaveLength(1);
    // Space is back: the retry writes what memory has, without anyone asking.
    await fs.rm(dir);
    await fs.mkdir(dir);
    await waitFor('the retry to write the file', async () => (await fs.readFile(file, 'utf8').catch(() => null)) !== null, PERSIST_RETRY_MS * 3);
    expect(JSON.parse(await fs.readFile(file, 'utf8'))).toEqual({ value: 7 });
    expect(json.failing).toBe(false);
    await json.settle();
    expect(await fs.readdir(dir)).toEqual(['state.json']);
  });

  it('a timer-driven write that fails rejects nothing unhandled and is reported by the next settle', async () => {
    home = makeHome();
    const dir = path.join(home.home, 'blocked');
    await fs.writeFile(dir, 'not a folder');
    const json = new DebouncedJsonFile(path.join(dir, 'state.json'), () => ({ value: 1 }), log, 1);
    json.enable();
    json.schedule();
    await waitFor('the debounced write to fail', () => json.failing);
    await expect(json.settle()).rejects.toMatchObject({ code: 'PERSIST_FAILED' });
    await fs.rm(dir);
  });
});
