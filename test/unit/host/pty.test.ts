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


// Issue 22: node-pty closes the master 200 ms after the child exits when its stream is paused (the host's flow
// control), and its stream can end at the exit with bytes still in the kernel: the last KBs were dropped.
describe('PtyProcess output of a child that exits', () => {
  const ptys: PtyProcess[] = [];
  afterEach(async () => {
    for (const p of ptys.splice(0)) await p.killSession(500);
  });

  /** `bytes` bytes of a known text, written raw (no CR added), then the child exits at once. */
  const writer = (bytes: number): PtyProcess => {
    const p = new PtyProcess({
      command: 'sh',
      args: ['-c', `stty -opost; yes 0123456789abcdefghijklmnopqrstuvwxyz | head -c ${bytes}; exit 3`],
      cwd: '/',
      env: { PATH: process.env.PATH ?? '/usr/bin:/bin' },
      cols: 80,
      rows: 24,
      term: 'xterm',
    });
    ptys.push(p);
    return p;
  };
  const expected = (bytes: number): string => '0123456789abcdefghijklmnopqrstuvwxyz\n'.repeat(Math.ceil(bytes / 37)).slice(0, bytes);

  it('hands on every byte when the child exits while reading is paused (node-pty closes 200 ms after the exit)', async () => {
    const p = writer(8 * 1024);
    const chunks: Buffer[] = [];
    p.onData((d) => chunks.push(d));
    // Paused from the start: 8 KB fits in the kernel's and the stream's buffers, so the child exits while paused.
    p.pause();
    const exit = await p.exited;
    expect(exit.code).toBe(3);
    expect(Buffer.concat(chunks).toString()).toBe(expected(8 * 1024));
  });

  it('hands on every byte when a paused child is let go and exits at once (64 KB)', async () => {
    for (let round = 0; round < 5; round++) {
      const p = writer(64 * 1024);
      const chunks: Buffer[] = [];
      p.onData((d) => chunks.push(d));
      p.pause();
      // The child blocks once the buffers are full; then reading resumes and it writes the rest and exits.
      await waitFor('the child blocked on its write', async () => (await childState(p.pid).catch(() => '')) === 'S' || p.hasExited, 5_000, 10);
      await new Promise((r) => setTimeout(r, 50));
      p.resume();
      await p.exited;
      expect(Buffer.concat(chunks).length, `round ${round}`).toBe(64 * 1024);
      expect(Buffer.concat(chunks).toString()).toBe(expected(64 * 1024));
    }
  });
});
