import { promises as fs } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import type { ScreenSnapshot } from '../../src/protocol/session.js';
import { parseJson, runCli } from '../helpers/cli.js';
import { useHomes } from '../helpers/daemon.js';
import { sleep, waitFor } from '../helpers/env.js';
import { spawnJson } from '../helpers/sessions.js';

const homes = useHomes();
const LINES = 1200;
/** Longer than the host's quiet time before it compacts the scrollback (COMPACT_QUIET_MS, 0.5 s), with a margin. */
const QUIET_MS = 2000;

async function read(home: string, id: string, extra: string[]): Promise<ScreenSnapshot> {
  return parseJson<ScreenSnapshot>(await runCli(home, ['read', id, '--json', '--scrollback', ...extra]));
}

// Issue 24: once a session is quiet, the host keeps its older scrollback rows as text and SGR rendering instead of
// xterm's cells (terminal/cold-scrollback.ts). A reader must not be able to tell: `read --scrollback`, plain and
// --ansi, gives the same rows before (output still coming, so nothing compacted) and after (quiet, compacted).
describe('compact scrollback', () => {
  it('reads the same scrollback, plain and --ansi, before and after the session goes quiet', async () => {
    const home = homes.newHome();
    const stop = path.join(home, 'stop-ticking');
    // Colored rows into the scrollback, then a ticker that rewrites one row (no new rows) until told to stop: while
    // it ticks the output never rests, so the host does not compact.
    const script = `i=1; while [ $i -le ${LINES} ]; do printf '\\033[31mred %d\\033[0m plain \\033[1;4mbold\\033[0m\\n' $i; i=$((i+1)); done; echo rows-done; n=0; while [ ! -e ${stop} ]; do n=$((n+1)); printf '\\rtick %d' $n; sleep 0.1; done; printf '\\rquiet now\\n'; sleep 60`;
    const s = await spawnJson(home, ['--id', 'cold', '--cols', '80', '--rows', '24', '--', 'sh', '-c', script]);
    expect(s.id).toBe('cold');
    await waitFor('the rows and the ticker', async () => ((await read(home, 'cold', [])).lines.some((l) => l.startsWith('tick')) ? true : null));
    const rowsOf = (snap: ScreenSnapshot): string[] => snap.lines.slice(0, snap.lines.indexOf('rows-done'));
    const plainBefore = rowsOf(await read(home, 'cold', []));
    const ansiBefore = (await read(home, 'cold', ['--ansi'])).lines.slice(0, LINES);
    expect(plainBefore).toHaveLength(LINES);
    expect(plainBefore[0]).toBe('red 1 plain bold');
    expect(ansiBefore[0]).toContain('31mred 1');

    await fs.writeFile(stop, '');
    await waitFor('the ticker to stop', async () => ((await read(home, 'cold', [])).lines.includes('quiet now') ? true : null));
    await sleep(QUIET_MS);
    const plainAfter = rowsOf(await read(home, 'cold', []));
    const ansiAfter = (await read(home, 'cold', ['--ansi'])).lines.slice(0, LINES);
    expect(plainAfter).toEqual(plainBefore);
    expect(ansiAfter).toEqual(ansiBefore);
    // And a row read on its own from the screen's end is unchanged too (the hot rows xterm kept).
    const tail = await parseJson<ScreenSnapshot>(await runCli(home, ['read', 'cold', '--json', '--lines', '3']));
    expect(tail.lines.join('\n')).toContain('quiet now');
    await runCli(home, ['kill', 'cold']);
  });
});
