import { promises as fs } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { ROOT } from '../../helpers/env.js';

/**
 * The layers of src/ and what each may import (ARCHITECTURE.md): commands → client → (daemon | host) →
 * protocol/util; nothing points back up. `top` is src/cli.ts and src/fast.ts.
 */
const MAY_IMPORT: Record<string, string[]> = {
  protocol: ['protocol'],
  util: ['util', 'protocol'],
  ui: ['ui', 'util', 'protocol'],
  wire: ['wire', 'protocol', 'util'],
  terminal: ['terminal', 'protocol', 'util'],
  fleet: ['fleet', 'protocol', 'util'],
  host: ['host', 'terminal', 'wire', 'protocol', 'util'],
  daemon: ['daemon', 'fleet', 'terminal', 'wire', 'protocol', 'util'],
  client: ['client', 'wire', 'protocol', 'util'],
  mcp: ['mcp', 'client', 'protocol', 'util'],
  commands: ['commands', 'client', 'fleet', 'mcp', 'ui', 'protocol', 'util'],
  top: ['commands', 'ui', 'util', 'protocol'],
};

/**
 * Imports that break the rules today, each a piece of debt with its way out (issue 16: shared discovery, wrap as a
 * command-side module, a daemon entry the CLI may start). The test fails on a new one, and also when one of these
 * is gone, so the list stays true: delete its line then.
 */
const KNOWN: string[] = [
  'commands/daemon.ts -> daemon/main.ts', // `telepty daemon` runs the daemon in this process
  'commands/wrap.ts -> host/wrapped.ts', // `telepty wrap` runs a session host in this process (its entry)
];

function layerOf(rel: string): string {
  const parts = rel.split('/');
  return parts.length === 1 ? 'top' : (parts[0] as string);
}

async function sourceFiles(dir: string): Promise<string[]> {
  const out: string[] = [];
  for (const e of await fs.readdir(dir, { withFileTypes: true })) {
    const p = path.join(dir, e.name);
    if (e.isDirectory()) out.push(...(await sourceFiles(p)));
    else if (e.name.endsWith('.ts')) out.push(p);
  }
  return out;
}

/** Every relative import (static, type-only and dynamic) of src/, as `from -> to` (paths under src/, .ts). */
async function crossings(): Promise<string[]> {
  const src = path.join(ROOT, 'src');
  const found = new Set<string>();
  for (const file of await sourceFiles(src)) {
    const rel = path.relative(src, file);
    const text = await fs.readFile(file, 'utf8');
    for (const m of text.matchAll(/from '(\.[^']+)'|import\('(\.[^']+)'\)/g)) {
      const target = path.relative(src, path.resolve(path.dirname(file), (m[1] ?? m[2]) as string)).replace(/\.js$/, '.ts');
      if (layerOf(target) === layerOf(rel)) continue;
      if (!(MAY_IMPORT[layerOf(rel)] ?? []).includes(layerOf(target))) found.add(`${rel} -> ${target}`);
    }
  }
  return [...found].sort();
}

describe('layers', () => {
  it('no module imports a layer above its own, beyond the known debt', async () => {
    const now = await crossings();
    expect(now.filter((c) => !KNOWN.includes(c)), 'new imports that point the wrong way').toEqual([]);
    expect(KNOWN.filter((c) => !now.includes(c)), 'debt paid off: remove these lines from KNOWN').toEqual([]);
  });

  it('knows every folder of src/ as a layer', async () => {
    const dirs = (await fs.readdir(path.join(ROOT, 'src'), { withFileTypes: true })).filter((e) => e.isDirectory()).map((e) => e.name);
    expect(dirs.filter((d) => !(d in MAY_IMPORT))).toEqual([]);
  });
});
