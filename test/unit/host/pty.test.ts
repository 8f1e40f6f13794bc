import { afterEach, describe, expect, it } from 'vitest';
import { PtyProcess } from '../../../src/host/pty.js';
import { waitFor } from '../../helpers/env.js';

describe('PtyProcess output before its consumer', () => {
  const ptys: PtyProcess[] = [];
  afterEach(async () => {
    for (const p of ptys.splice(0)) await p.killSession(500);
  });

  const pty = (script: string): PtyProcess => {
    const p = new PtyProcess({ command: 'sh', args: ['-c', script], cwd: '/', env: { PATH: process.env.PATH ?? '/usr/bin:/bin' }, cols: 80, rows: 24, term: 'xterm' });
    ptys.push(p);
    return p;
  };

  // main.ts starts the child before the rest of the host loads: what it writes meanwhile must not be lost.
  it('holds what the child wrote before onData and hands it over first, in order, then the rest', async () => {
    const p = pty('printf first-; printf second-; read go; printf after-go');
    // The child is blocked on `read` once both words are out: wait for that (its terminal's input), not a time.
    await waitFor('the child blocked on read (state S)', async () => (await childState(p.pid)) === 'S', 5_000, 10);
    // Give the host's event loop time to read it from the master (it is held from then on).
    await new Promise((r) => setTimeout(r, 100));
    let out = '';
    p.onData((d) => (out += d.toString()));
    await waitFor('the held output handed over', () => out.length >= 'first-second-'.length, 5_000, 10);
    expect(out).toBe('first-second-');
    p.write('x\r');
    await waitFor('after-go in the output', async () => out.includes('after-go'), 5_000, 10);
    expect(out).toMatch(/^first-second-x\r?\n?\r?\n?after-go/);
  });

  it('takes one consumer only', () => {
    const p = pty('sleep 5');
    p.onData(() => undefined);
    expect(() => p.onData(() => undefined)).toThrow(/consumer/);
  });
});

async function childState(pid: number): Promise<string> {
  const { readFile } = await import('node:fs/promises');
  const stat = await readFile(`/proc/${pid}/stat`, 'utf8');
  return stat.slice(stat.lastIndexOf(')') + 2).split(' ')[0] ?? '';
}

