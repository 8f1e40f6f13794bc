import { describe, expect, it } from 'vitest';
import { LOG_FAILURE_NOTICE_MS, createLogger, safeLineWriter } from '../../../src/util/log.js';

/** A log destination that refuses writes (ENOSPC) while `full` is set. */
function disk(): { lines: string[]; full: boolean; write: (line: string) => void } {
  const d = {
    lines: [] as string[],
    full: false,
    write: (line: string) => {
      if (d.full) throw Object.assign(new Error('ENOSPC: no space left on device, write'), { code: 'ENOSPC' });
      d.lines.push(line);
    },
  };
  return d;
}

describe('safeLineWriter: logging never ends the process', () => {
  it('counts what the disk refuses, tells the fallback at most once per window, and reports the count when it can write again', () => {
    const primary = disk();
    const fallback = disk();
    let t = 0;
    const log = createLogger({ write: safeLineWriter({ primary: primary.write, fallback: fallback.write, now: () => t }), now: () => new Date(t) });
    log.info('before');
    primary.full = true;
    for (let i = 0; i < 100; i++) expect(() => log.warn(`refused ${i}`)).not.toThrow();
    expect(fallback.lines).toHaveLength(1);
    expect(fallback.lines[0]).toContain('cannot write the log (ENOSPC');
    t += LOG_FAILURE_NOTICE_MS;
    log.warn('still full');
    expect(fallback.lines).toHaveLength(2);
    primary.full = false;
    log.info('after');
    expect(primary.lines).toHaveLength(3);
    expect(primary.lines[1]).toContain('101 log line(s) could not be written (ENOSPC');
    expect(primary.lines[2]).toContain('after');
  });

  it('goes on when the fallback fails too (a detached daemon has both on the same full disk)', () => {
    const primary = disk();
    const fallback = disk();
    primary.full = true;
    fallback.full = true;
    const write = safeLineWriter({ primary: primary.write, fallback: fallback.write });
    expect(() => write('lost\n')).not.toThrow();
    primary.full = false;
    write('back\n');
    expect(primary.lines[0]).toContain('1 log line(s) could not be written');
  });
});
