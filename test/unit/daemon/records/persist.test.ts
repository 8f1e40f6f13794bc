import { promises as fs } from 'node:fs';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { Threads } from '../../../../src/daemon/records/threads.js';
import { makeHome } from '../../../helpers/env.js';
import { RecordingLogger, RecordingSink } from '../../../helpers/recorders.js';

describe('records on a disk that refuses writes', () => {
  let home: { home: string; cleanup: () => void };
  afterEach(() => home.cleanup());

  async function blockedThreads(log: RecordingLogger): Promise<Threads> {
    home = makeHome();
    // The parent "folder" is a plain file: every write fails, as on a full disk.
    const dir = path.join(home.home, 'blocked');
    await fs.writeFile(dir, 'not a folder');
    const threads = new Threads({ file: path.join(dir, 'threads.json'), events: new RecordingSink(), now: () => 0, log, debounceMs: 60_000 });
    threads.enable();
    return threads;
  }

  it('a change is not answered as saved: PERSIST_FAILED, saying it is kept and retried', async () => {
    const threads = await blockedThreads(new RecordingLogger());
    const created = threads.create({ topic: 'full disk' });
    await expect(threads.saved(created)).rejects.toMatchObject({ code: 'PERSIST_FAILED', message: expect.stringContaining('kept and written as soon as the disk takes it') });
    // Kept in memory (not rolled back), as the answer said.
    expect(threads.get(created.thread_id).topic).toBe('full disk');
  });

  it('the write at shutdown never throws (the daemon must stop cleanly): the failure is logged', async () => {
    const log = new RecordingLogger();
    const threads = await blockedThreads(log);
    threads.create({ topic: 'full disk' });
    await expect(threads.flush()).resolves.toBeUndefined();
    expect(log.errors.some((l) => l.includes('could not be written at shutdown'))).toBe(true);
  });
});
