import { execFileSync } from 'node:child_process';
import { closeSync, constants, mkdtempSync, openSync, readSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { LocalOutput } from '../../../src/host/local-output.js';
import { fdWriter } from '../../../src/host/terminal-writer.js';
import { createLogger } from '../../../src/util/log.js';
import { waitFor } from '../../helpers/env.js';

// wrap's output to its own terminal (issue 25), on a FIFO standing in for a terminal that stops reading: the
// kernel takes 64 KiB, then a write blocks, as a terminal's would.
const cleanups: (() => void)[] = [];
afterEach(() => {
  for (const c of cleanups.splice(0)) c();
});

function fifo(): { readFd: number; writeFd: number; drain: () => string } {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'telepty-fifo-'));
  const file = path.join(dir, 'tty');
  execFileSync('mkfifo', [file]);
  const readFd = openSync(file, constants.O_RDONLY | constants.O_NONBLOCK);
  const writeFd = openSync(file, constants.O_WRONLY);
  cleanups.push(() => {
    closeSync(readFd);
    closeSync(writeFd);
    rmSync(dir, { recursive: true, force: true });
  });
  const drain = (): string => {
    const buf = Buffer.alloc(1 << 16);
    let out = '';
    for (;;) {
      try {
        const n = readSync(readFd, buf, 0, buf.length, null);
        if (n <= 0) return out;
        out += buf.subarray(0, n).toString('latin1');
      } catch (err) {
        if ((err as NodeJS.ErrnoException).code === 'EAGAIN') return out;
        throw err;
      }
    }
  };
  return { readFd, writeFd, drain };
}

const log = createLogger({ write: () => undefined, level: 'error', scope: 'test' });

describe('wrap output to a terminal that stops reading', () => {
  it('never blocks the event loop, holds up to its bound, drops the rest and repaints when the terminal reads again', async () => {
    const f = fifo();
    let repaints = 0;
    const out = new LocalOutput(fdWriter(f.writeFd), async () => `SCREEN-${++repaints}`, log, 100_000);
    // 200 KiB: more than the pipe takes, so the first write blocks (in the thread pool, not here).
    out.write(Buffer.alloc(200 * 1024, 'a'));
    const ticked = await new Promise<boolean>((resolve) => setTimeout(() => resolve(true), 50));
    expect(ticked).toBe(true);
    for (let i = 0; i < 30; i++) out.write(Buffer.alloc(10_000, 'b'));
    // The terminal reads again: it gets what was under way, then a repaint instead of the dropped backlog.
    let seen = '';
    await waitFor('the repaint', () => {
      seen += f.drain();
      return seen.includes('SCREEN-1') ? seen : null;
    });
    expect(seen.startsWith('a'.repeat(1000))).toBe(true);
    expect(seen).toContain('\x1b[H\x1b[2JSCREEN-1');
    expect(seen.split('b').length - 1).toBeLessThanOrEqual(100_000);
    expect(repaints).toBe(1);
    out.write(Buffer.from('live again'));
    await out.drain();
    expect(f.drain()).toBe('live again');
  });

  it('passes everything through, in order, while the terminal keeps up', async () => {
    const f = fifo();
    const out = new LocalOutput(fdWriter(f.writeFd), async () => 'never', log);
    let seen = '';
    for (let i = 0; i < 50; i++) {
      out.write(Buffer.from(`line ${i}\n`));
      seen += f.drain();
    }
    await out.drain();
    seen += f.drain();
    expect(seen).toBe(Array.from({ length: 50 }, (_, i) => `line ${i}\n`).join(''));
  });
});
