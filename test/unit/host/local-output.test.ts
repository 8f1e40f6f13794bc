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

/**
 * A LocalOutput with a hold (each change noted in `held`) on a FIFO nobody reads yet: 200 KiB under way (more than
 * the pipe takes), then 30 x 10,000 bytes past its 100,000-byte bound.
 */
function pastTheBound(repaint: string, stallMs: number): { f: ReturnType<typeof fifo>; out: LocalOutput; held: boolean[] } {
  const f = fifo();
  const held: boolean[] = [];
  const out = new LocalOutput(fdWriter(f.writeFd), async () => repaint, log, { hold: (h) => void held.push(h), maxBufferedBytes: 100_000, stallMs });
  out.write(Buffer.alloc(200 * 1024, 'a'));
  for (let i = 0; i < 30; i++) out.write(Buffer.alloc(10_000, 'b'));
  return { f, out, held };
}

describe('wrap output to a terminal that stops reading', () => {
  it('with no hold: never blocks the event loop, holds up to its bound, drops the rest and repaints when the terminal reads again', async () => {
    const f = fifo();
    let repaints = 0;
    const out = new LocalOutput(fdWriter(f.writeFd), async () => `SCREEN-${++repaints}`, log, { maxBufferedBytes: 100_000 });
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

  it('holds the program back past its bound while the terminal lags, and passes every byte once it reads again', async () => {
    const { f, out, held } = pastTheBound('never', 5_000);
    // Past the bound: the program is held back (the PTY is not read), nothing is dropped.
    expect(held).toEqual([true]);
    await new Promise((resolve) => setTimeout(resolve, 200));
    let seen = '';
    await waitFor('every byte', () => {
      seen += f.drain();
      return seen.length >= 200 * 1024 + 300_000 ? seen : null;
    });
    await out.drain();
    seen += f.drain();
    expect(seen).toBe('a'.repeat(200 * 1024) + 'b'.repeat(300_000));
    // Let go once the terminal took what was under way.
    expect(held).toEqual([true, false]);
  });

  it('lets the program go and drops the backlog when the terminal takes nothing for stallMs, and repaints when it reads again', async () => {
    const { f, out, held } = pastTheBound('SCREEN', 100);
    expect(held).toEqual([true]);
    await waitFor('the program let go', () => (held.length === 2 ? true : null));
    expect(held).toEqual([true, false]);
    // Output while the terminal is behind is dropped at once: the program is not held again.
    out.write(Buffer.alloc(200_000, 'c'));
    expect(held).toEqual([true, false]);
    let seen = '';
    await waitFor('the repaint', () => {
      seen += f.drain();
      return seen.includes('SCREEN') ? seen : null;
    });
    expect(seen).toBe('a'.repeat(200 * 1024) + '\x1b[H\x1b[2JSCREEN');
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
