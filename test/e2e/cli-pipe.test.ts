import { describe, expect, it } from 'vitest';
import type { ScreenSnapshot } from '../../src/protocol/session.js';
import { parseJson, runCli } from '../helpers/cli.js';
import { useHomes } from '../helpers/daemon.js';
import { waitFor } from '../helpers/env.js';
import { spawnJson } from '../helpers/sessions.js';

const homes = useHomes();
/** 2,500 rows of 156 characters: ~390 KB of scrollback, about six times a pipe's 64 KiB buffer. */
const ROWS = 2500;

// The CLI's answer must reach a pipe whole: process.exit does not wait for writes the pipe could not take yet, and
// `telepty read ID --scrollback | cat` (and this test's pipe) stopped at 64 KiB before the launcher waited for them.
describe('output through a pipe', () => {
  it('read --scrollback, plain and --json, arrives whole', async () => {
    const home = homes.newHome();
    const row = 'x'.repeat(150);
    const script = `i=1; while [ $i -le ${ROWS} ]; do printf '%05d ${row}\\n' $i; i=$((i+1)); done; echo all-printed; sleep 60`;
    await spawnJson(home, ['--id', 'long', '--cols', '200', '--rows', '24', '--', 'sh', '-c', script]);
    await waitFor('every row printed', async () => {
      const r = await runCli(home, ['read', 'long', '--lines', '5']);
      return r.stdout.includes('all-printed') ? true : null;
    });

    const plain = await runCli(home, ['read', 'long', '--scrollback']);
    expect(plain.exitCode).toBe(0);
    const rows = plain.stdout.split('\n').filter((l) => /^\d{5} x+$/.test(l));
    expect(rows).toHaveLength(ROWS);
    expect(rows[ROWS - 1]).toBe(`${String(ROWS).padStart(5, '0')} ${row}`);
    expect(plain.stdout.length).toBeGreaterThan(5 * 65_536);

    const json = await runCli(home, ['read', 'long', '--scrollback', '--json']);
    expect(json.exitCode).toBe(0);
    const snap = parseJson<ScreenSnapshot>(json);
    expect(snap.lines.filter((l) => /^\d{5} x+$/.test(l))).toHaveLength(ROWS);
    await runCli(home, ['kill', 'long']);
  });
});
