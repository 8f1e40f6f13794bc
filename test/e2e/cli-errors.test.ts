import { promises as fs } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { parseJson, runCli } from '../helpers/cli.js';
import { useHomes } from '../helpers/daemon.js';

/** Bad settings and arguments a user meets: a clear message with a code, and the documented exit code. */
const homes = useHomes();

describe('errors a user reads', () => {
  it('`record --list` with a file where the recordings folder should be: INVALID_FIELD naming it (exit 2), not a raw ENOTDIR', async () => {
    const home = homes.newHome();
    await fs.writeFile(path.join(home, 'recordings'), 'not a folder');
    const r = await runCli(home, ['record', '--list']);
    expect(r.exitCode, r.stderr).toBe(2);
    expect(r.stderr).toMatch(/recordings is not a folder.*\[INVALID_FIELD\]/);
    expect(r.stderr).not.toMatch(/ENOTDIR|scandir/);
    const j = await runCli(home, ['record', '--list', '--json']);
    expect(j.exitCode).toBe(2);
    expect(parseJson(j)).toMatchObject({ code: 'INVALID_FIELD' });
    // The folder not there yet is no error: nothing recorded so far.
    const none = await runCli(home, ['record', '--list'], { env: { TELEPTY_RECORD_DIR: path.join(home, 'none-yet') } });
    expect(none.exitCode, none.stderr).toBe(0);
    expect(none.stdout).toMatch(/no recordings in/);
  });
});
