import { describe, expect, it } from 'vitest';
import { multicastExit, resultExit } from '../../../src/commands/inject.js';
import { TeleptyError, type ErrorCode } from '../../../src/protocol/errors.js';
import type { InjectResponse, MulticastResult } from '../../../src/protocol/inject.js';
import { exitCodeFor } from '../../../src/ui/exit.js';

/** Every error code the README's "Exit status" table and the man page's EXIT STATUS name, with its exit code. */
const DOCUMENTED: { code: ErrorCode; job?: 'pending' | 'withdrawn'; exit: number }[] = [
  { code: 'INTERNAL', exit: 1 },
  { code: 'PERSIST_FAILED', exit: 1 },
  { code: 'DAEMON_MISMATCH', exit: 1 },
  { code: 'INVALID_FIELD', exit: 2 },
  { code: 'INVALID_SESSION_ID', exit: 2 },
  { code: 'SESSION_EXISTS', exit: 2 },
  { code: 'LINE_TOO_LONG', exit: 2 },
  { code: 'SESSION_NOT_FOUND', exit: 3 },
  { code: 'UNKNOWN_HOST', exit: 3 },
  { code: 'SESSION_DISCONNECTED', exit: 4 },
  { code: 'SESSION_EXITED', exit: 4 },
  { code: 'HOST_OFFLINE', exit: 4 },
  { code: 'TIMEOUT', job: 'withdrawn', exit: 5 },
  { code: 'SESSION_BUSY', exit: 5 },
  { code: 'SESSION_BLOCKED', exit: 5 },
  { code: 'QUEUE_FULL', exit: 5 },
  { code: 'UNAUTHORIZED', exit: 6 },
  { code: 'FORBIDDEN', exit: 6 },
  { code: 'FORBIDDEN_ORIGIN', exit: 6 },
  { code: 'FORBIDDEN_HOST', exit: 6 },
  { code: 'HOST_TIMEOUT', exit: 7 },
  { code: 'TIMEOUT', job: 'pending', exit: 7 },
];

function failedList(...failed: { code: string; job?: 'pending' | 'withdrawn' }[]): MulticastResult {
  return {
    success: false,
    results: { successful: [], failed: failed.map((f, i) => ({ id: `s${i}`, error: 'it failed', ...f })) },
  };
}

describe('inject exits the same for a comma list as for a single target', () => {
  it.each(DOCUMENTED.map((d) => ({ ...d, name: d.job ? `${d.code} (job ${d.job})` : d.code })))('$name: exit $exit', ({ code, job, exit }) => {
    const single = exitCodeFor(new TeleptyError(code, 'it failed', job ? { job } : undefined));
    expect(single).toBe(exit);
    const failure = { code, ...(job ? { job } : {}) };
    expect(multicastExit(failedList(failure))).toBe(single);
    // Beside a target that took it, the failure still decides the exit.
    const mixed = failedList(failure);
    mixed.success = true;
    mixed.results.successful.push({ id: 'ok', inject_id: 'i1', status: 'submitted' });
    expect(multicastExit(mixed)).toBe(single);
  });

  it('entered (8) when nothing failed, as for one target', () => {
    const one: InjectResponse = { success: true, inject_id: 'i1', session_id: 'a', status: 'entered', written_at: null, submitted_at: null, seen: 'x' };
    const list: MulticastResult = { success: true, results: { successful: [{ id: 'a', inject_id: 'i1', status: 'entered' }, { id: 'b', inject_id: 'i2', status: 'submitted' }], failed: [] } };
    expect(resultExit(one)).toBe(8);
    expect(multicastExit(list)).toBe(8);
  });

  it('the worst failure decides; a pending timeout outranks every other', () => {
    expect(multicastExit(failedList({ code: 'SESSION_NOT_FOUND' }, { code: 'SESSION_BUSY' }))).toBe(5);
    expect(multicastExit(failedList({ code: 'FORBIDDEN' }, { code: 'TIMEOUT', job: 'pending' }, { code: 'HOST_OFFLINE' }))).toBe(7);
    expect(multicastExit(failedList({ code: 'NOT_A_CODE' }))).toBe(1);
  });
});
