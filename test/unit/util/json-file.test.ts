import { promises as fs } from 'node:fs';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { DebouncedJsonFile } from '../../../src/util/json-file.js';
import { createLogger } from '../../../src/util/log.js';
import { makeHome } from '../../helpers/env.js';

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
