import { afterEach, describe, expect, it } from 'vitest';
import { PtyProcess } from '../../../src/host/pty.js';
import { parseCanonical, readCanonical } from '../../../src/host/termios.js';

const GNU = `speed 38400 baud; rows 24; columns 80; line = 0;
intr = ^C; quit = ^\\; erase = ^?; kill = ^U; eof = ^D; eol = <undef>;
-parenb -parodd -cmspar cs8 -hupcl -cstopb cread -clocal -crtscts
isig icanon iexten echo echoe echok -echonl -noflsh -xcase -tostop -echoprt`;
const BSD = `speed 9600 baud; 24 rows; 80 columns;
lflags: -icanon -isig -iexten -echo -echoe -echok echoke -echonl echoctl
iflags: -istrip icrnl -inlcr -igncr ixon -ixoff ixany imaxbel iutf8`;

describe('terminal mode', () => {
  const ptys: PtyProcess[] = [];
  afterEach(async () => {
    for (const p of ptys.splice(0)) await p.killSession(500);
  });

  function pty(script: string): PtyProcess {
    const p = new PtyProcess({ command: 'sh', args: ['-c', script], cwd: '/', env: { PATH: process.env.PATH ?? '/usr/bin:/bin' }, cols: 80, rows: 24, term: 'xterm' });
    ptys.push(p);
    return p;
  }

  it('reads icanon and -icanon from GNU and BSD stty output, and nothing else', () => {
    expect(parseCanonical(GNU)).toBe(true);
    expect(parseCanonical(BSD)).toBe(false);
    expect(parseCanonical('isig iexten echo')).toBeNull();
    expect(parseCanonical('-icanonical')).toBeNull();
  });

  it("tells a program's real terminal: canonical by default, not once the program set raw mode", async () => {
    const cooked = pty('sleep 10');
    expect(cooked.ptsName).toMatch(/^\/dev\//);
    expect(await readCanonical(cooked.ptsName as string)).toBe(true);
    let output = '';
    const raw = pty('stty raw -echo; echo raw-now; sleep 10');
    raw.onData((d) => (output += d.toString()));
    for (let i = 0; i < 200 && !output.includes('raw-now'); i++) await new Promise((r) => setTimeout(r, 10));
    expect(await readCanonical(raw.ptsName as string)).toBe(false);
  });

  it('rejects when the terminal cannot be read', async () => {
    await expect(readCanonical('/dev/no-such-terminal')).rejects.toThrow();
  });
});
