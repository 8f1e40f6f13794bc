import { mkdtempSync, promises as fs, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { HOST_LOG_KEEP_MS, pruneHostLogs } from '../../../../src/daemon/sessions/host-logs.js';
import { createLogger } from '../../../../src/util/log.js';

const dirs: string[] = [];
afterEach(() => {
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
});
const log = createLogger({ write: () => undefined, level: 'error', scope: 'test' });
const DAY = 86_400_000;

describe('old host logs', () => {
  it('go when no daemon lists their session and their last line is older than the keep time; every other file stays', async () => {
    const dir = mkdtempSync(path.join(os.tmpdir(), 'telepty-hostlogs-'));
    dirs.push(dir);
    const now = Date.now();
    const files: [string, number][] = [
      ['gone-long-ago.log', now - HOST_LOG_KEEP_MS - DAY],
      ['listed-but-quiet.log', now - HOST_LOG_KEEP_MS - DAY],
      ['gone-recently.log', now - HOST_LOG_KEEP_MS + DAY],
      ['spare-0a1b2c.log', now - HOST_LOG_KEEP_MS - DAY],
      ['notes.txt', now - HOST_LOG_KEEP_MS - DAY],
    ];
    for (const [name, at] of files) {
      const file = path.join(dir, name);
      await fs.writeFile(file, 'a line\n');
      await fs.utimes(file, at / 1000, at / 1000);
    }
    const removed = await pruneHostLogs(dir, (id) => id === 'listed-but-quiet', now, log);
    expect(removed).toBe(1);
    expect((await fs.readdir(dir)).sort()).toEqual(['gone-recently.log', 'listed-but-quiet.log', 'notes.txt', 'spare-0a1b2c.log']);
  });

  it('is nothing to do when the folder does not exist yet', async () => {
    expect(await pruneHostLogs(path.join(os.tmpdir(), 'telepty-no-such-dir-x9'), () => false, Date.now(), log)).toBe(0);
  });
});
