import { promises as fs } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { ROOT } from '../../helpers/env.js';

const DAEMON = path.join(ROOT, 'src', 'daemon');

/** The relative imports of every .ts file in a folder of src/daemon, as paths under src/daemon. */
async function importsOf(folder: string): Promise<string[]> {
  const out: string[] = [];
  for (const name of await fs.readdir(path.join(DAEMON, folder))) {
    if (!name.endsWith('.ts')) continue;
    const file = path.join(DAEMON, folder, name);
    const text = await fs.readFile(file, 'utf8');
    for (const m of text.matchAll(/from '(\.[^']+)'|import\('(\.[^']+)'\)/g)) {
      out.push(`${folder}/${name} -> ${path.relative(DAEMON, path.resolve(path.dirname(file), (m[1] ?? m[2]) as string))}`);
    }
  }
  return out;
}

describe('the daemon core: import directions', () => {
  it('the injector does not import the sessions (they import it): the types both use are in daemon/target.ts', async () => {
    expect((await importsOf('inject')).filter((i) => i.includes('-> sessions/'))).toEqual([]);
  });

  it('the core (core.ts, sessions, inject, bus, records) imports no transport: no http/ws server code but the route files', async () => {
    const core = [...(await importsOf('.')).filter((i) => i.startsWith('./core.ts')), ...(await importsOf('inject')), ...(await importsOf('sessions')), ...(await importsOf('bus')), ...(await importsOf('records'))];
    const transport = core.filter((i) => /-> (ws|http)\//.test(i) && !/\/routes\.ts ->/.test(i) && !/^sessions\/legacy-owner\.ts ->/.test(i));
    expect(transport).toEqual([]);
  });
});
