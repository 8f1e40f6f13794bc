import { execa } from 'execa';
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { BIN, testEnv } from '../helpers/env.js';

/**
 * TELEPTY_HOME on a read-only mount (a bind mount made read-only in a mount namespace of the test's own, `unshare
 * -rm`: nothing is mounted on the machine): every command that must write it says that the home cannot be written
 * and what to do, with its code, instead of a bare EROFS from whichever file it tried first.
 */
const home = mkdtempSync(path.join(os.tmpdir(), 'telepty-rohome-'));

afterAll(() => rmSync(home, { recursive: true, force: true }));

async function inReadOnlyHome(args: string[]): Promise<{ ok: true; exitCode: number; stderr: string } | { ok: false; why: string }> {
  const script = 'mount --bind "$1" "$1" && mount -o remount,ro,bind "$1" && shift && exec "$@"';
  const r = await execa('unshare', ['-rm', 'sh', '-c', script, 'sh', home, process.execPath, BIN, ...args], { env: testEnv(home), reject: false, timeout: 20_000, stdin: 'ignore' });
  if (r.exitCode !== 0 && /unshare|mount/.test(String(r.stderr)) && !/telepty/.test(String(r.stderr))) return { ok: false, why: String(r.stderr).split('\n')[0] ?? '' };
  return { ok: true, exitCode: r.exitCode ?? -1, stderr: String(r.stderr) };
}

describe('a home on a read-only disk', () => {
  it('list (which starts the daemon), daemon in the foreground and wrap each say the home cannot be written and how to fix it', async (ctx) => {
    const cases: [string[], RegExp][] = [
      [['list'], /^telepty: the telepty daemon cannot start: its log .*daemon\.log cannot be written \(EROFS: read-only file system.*\); set TELEPTY_HOME to a folder you can write \(or unset it\) \[DAEMON_START_FAILED\]$/],
      [['daemon'], /^telepty: telepty cannot write its home \(EROFS: read-only file system.*\); set TELEPTY_HOME to a folder you can write \(or unset it\) \[PERSIST_FAILED\]$/],
      [['wrap', '--', 'true'], /^telepty: telepty cannot write its home \(EROFS: read-only file system.*\); set TELEPTY_HOME to a folder you can write \(or unset it\) \[PERSIST_FAILED\]$/],
    ];
    for (const [args, said] of cases) {
      const r = await inReadOnlyHome(args);
      if (!r.ok) {
        console.warn(`skipping: no mount namespace here (${r.why})`);
        return ctx.skip();
      }
      expect(r.exitCode, args.join(' ')).toBe(1);
      expect(r.stderr.trim(), args.join(' ')).toMatch(said);
    }
  });
});
