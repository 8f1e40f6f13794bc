import { existsSync, promises as fs, statSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { parseCast } from '../../src/protocol/asciicast.js';
import { useHomes } from '../helpers/daemon.js';
import { waitFor } from '../helpers/env.js';
import { spawnJson } from '../helpers/sessions.js';

// Issue 22: a flood's output is spooled raw next to the recording (<file>.spool) and converted once output calms. A
// session host killed while its spool holds output leaves the spool behind; the next recording started in the same
// folder converts it: the recording then parses, holds the output in order (a prefix of what the program printed:
// what the host had not yet spooled when it was killed is gone), more than before, and says it was recovered.

const homes = useHomes();

describe('recording after a crash of the session host', () => {
  it("a killed host's spool is converted into its recording by the next recording in the folder", async () => {
    const home = homes.newHome();
    const dir = path.join(home, 'casts');
    const text = Array.from({ length: 200_000 }, (_, i) => `line ${i} of the flood ${'x'.repeat(80)}\n`).join('');
    const flood = path.join(home, 'flood.txt');
    await fs.writeFile(flood, text);
    const file = path.join(dir, 'crash.cast');
    const s = await spawnJson(home, ['--id', 'crash', '--record', file, '--', 'sh', '-c', `sleep 0.5; cat ${flood}; exec sleep 600`]);
    const spool = `${file}.spool`;
    await waitFor('the flood spooled', () => existsSync(spool) && statSync(spool).size > 2_000_000, 20_000, 2);
    homes.track(s.host_pid as number);
    process.kill(s.host_pid as number, 'SIGKILL');
    const before = await fs.readFile(file, 'utf8');
    expect(existsSync(spool), 'the spool is left behind').toBe(true);

    // The next recording in that folder converts it (its writer thread, at its start).
    await spawnJson(home, ['--id', 'next', '--record', path.join(dir, 'next.cast'), '--', 'sh', '-c', 'echo hi; exec sleep 600']);
    // Claimed (renamed) first, then converted, then removed: no spool file of any name is left.
    await waitFor('the spool converted', async () => !(await fs.readdir(dir)).some((n) => n.includes('.spool')), 20_000);
    const after = await fs.readFile(file, 'utf8');
    const cast = parseCast(after);
    // The output, in pieces between markers: each piece is what was printed, in order, no byte twice. A piece may
    // begin late only after a marker that says output may be missing there.
    const printed = text.replace(/\n/g, '\r\n');
    let at = 0;
    let piece = '';
    let mayMiss = false;
    let checked = 0;
    const check = (): void => {
      const body = at === 0 ? piece.slice(Math.max(0, piece.indexOf('line 0 of'))) : piece;
      if (body === '') return;
      const found = printed.indexOf(body, at);
      expect(found, 'a piece of the output is what was printed, after the piece before it').toBeGreaterThanOrEqual(0);
      if (!mayMiss) expect(found, 'no output missing without a marker').toBe(at);
      at = found + body.length;
      checked += body.length;
      piece = '';
    };
    for (const ev of cast.events) {
      if (ev.code === 'o') piece += ev.data;
      else {
        check();
        mayMiss = ev.data.startsWith('gap:');
      }
    }
    check();
    expect(checked).toBeGreaterThan(0);
    expect(Buffer.byteLength(after)).toBeGreaterThan(Buffer.byteLength(before));
    expect(cast.events.at(-1)?.data).toMatch(/^the session host ended without closing the recording; recovered from its spool/);
    for (let i = 1; i < cast.events.length; i++) expect(cast.events[i]!.time).toBeGreaterThanOrEqual(cast.events[i - 1]!.time);
  }, 60_000);
});
