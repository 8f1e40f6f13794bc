import { promises as fs } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { HOST_NODE_FLAGS } from '../../src/daemon/sessions/spawner.js';
import type { ScreenSnapshot } from '../../src/protocol/session.js';
import { parseJson, runCli } from '../helpers/cli.js';
import { useHomes } from '../helpers/daemon.js';
import { waitFor } from '../helpers/env.js';
import { spawnJson } from '../helpers/sessions.js';

const homes = useHomes();

describe('the session host process', () => {
  it('runs the bundled host (one CommonJS file) with the node flags chosen for it', async () => {
    const home = homes.newHome();
    const s = await spawnJson(home, ['--id', 'flags', '--', 'sh', '-c', 'exec sleep 30']);
    expect(s.host_pid).toBeGreaterThan(0);
    const argv = (await fs.readFile(`/proc/${s.host_pid}/cmdline`, 'utf8')).split('\0').filter(Boolean);
    expect(argv.slice(1, -1)).toEqual([...HOST_NODE_FLAGS]);
    expect(argv.at(-1)).toMatch(/dist\/bundle\/host\.cjs$/);
  });

  // The host starts the child before it loads the rest of itself: what the child writes at once must still reach
  // the screen (PtyProcess holds it until the host takes it).
  it('keeps what the program wrote the moment it started, while the host was still loading', async () => {
    const home = homes.newHome();
    await spawnJson(home, ['--id', 'early', '--', 'sh', '-c', 'printf "first-words-%s\\n" early; exec sleep 30']);
    const screen = await waitFor('the first words on the screen', async () => {
      const r = parseJson<ScreenSnapshot>(await runCli(home, ['read', 'early', '--json']));
      return r.lines.join('\n').includes('first-words-early') ? r : null;
    });
    expect(screen.lines[0]).toBe('first-words-early');
  });
});
