import { promises as fs } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { VIEWER_WINDOW_BYTES } from '../../../src/util/viewer-flow.js';
import { ROOT } from '../../helpers/env.js';

async function sources(dir: string): Promise<string[]> {
  const out: string[] = [];
  for (const e of await fs.readdir(dir, { withFileTypes: true })) {
    const p = path.join(dir, e.name);
    if (e.isDirectory()) out.push(...(await sources(p)));
    else if (e.name.endsWith('.ts')) out.push(p);
  }
  return out;
}

const readme = (): Promise<string> => fs.readFile(path.join(ROOT, 'README.md'), 'utf8');
/** The man page with its escapes for '-' undone, so names read as in the README. */
const man = async (): Promise<string> => (await fs.readFile(path.join(ROOT, 'man', 'telepty.1'), 'utf8')).replace(/\\-/g, '-');

describe('README and man page', () => {
  it('document every TELEPTY_ environment variable the code reads', async () => {
    const names = new Set<string>();
    for (const file of await sources(path.join(ROOT, 'src'))) for (const m of (await fs.readFile(file, 'utf8')).matchAll(/\bTELEPTY_[A-Z0-9_]+/g)) names.add(m[0]);
    expect(names.size).toBeGreaterThan(20);
    const [r, m] = [await readme(), await man()];
    const envSection = m.slice(m.indexOf('.SH ENVIRONMENT'), m.indexOf('.SH', m.indexOf('.SH ENVIRONMENT') + 1));
    for (const name of names) {
      expect(r, `README: ${name}`).toMatch(new RegExp(`\\| \`${name}\` \\|`));
      expect(envSection, `man ENVIRONMENT: ${name}`).toContain(name);
    }
  });

  it('give the viewer pause threshold the code uses', async () => {
    const mib = VIEWER_WINDOW_BYTES / (1024 * 1024);
    expect(await readme()).toContain(`falls ${mib} MiB behind`);
    expect(await man()).toContain(`falls ${mib} MiB behind`);
    for (const text of [await readme(), await man()]) expect(text).not.toMatch(new RegExp(`falls (?!${mib} )\\d+ MiB behind`));
  });
});
