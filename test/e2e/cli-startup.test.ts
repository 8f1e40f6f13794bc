import { promises as fs } from 'node:fs';
import path from 'node:path';
import { execa } from 'execa';
import { describe, expect, it } from 'vitest';
import { runCli } from '../helpers/cli.js';
import { useHomes } from '../helpers/daemon.js';
import { BIN, ROOT, testEnv } from '../helpers/env.js';

/**
 * Start time is a feature: `--version` loads nothing of dist/, and a command loads its own module only (cli.ts
 * imports each command lazily). Every ES module a run loads is recorded by a module hook (fixtures/record-loads.mjs).
 */
const homes = useHomes();
const RECORDER = path.join(ROOT, 'test', 'fixtures', 'record-loads.mjs');

/** Run the CLI with the recorder; the loaded URLs as paths relative to the package root (node: builtins as is). */
async function loadsOf(home: string, args: string[]): Promise<{ exitCode: number; stdout: string; loaded: string[] }> {
  const file = path.join(home, `loads-${args.join('-')}.txt`);
  const r = await execa(process.execPath, ['--import', RECORDER, BIN, ...args], {
    env: testEnv(home, { TELEPTY_TEST_LOADS_FILE: file }),
    extendEnv: false,
    reject: false,
    stdin: 'ignore',
    timeout: 30_000,
  });
  const text = await fs.readFile(file, 'utf8').catch(() => '');
  const root = `file://${ROOT.replace(/\/$/, '')}/`;
  const loaded = text.split('\n').filter(Boolean).map((u) => (u.startsWith(root) ? u.slice(root.length) : u));
  return { exitCode: r.exitCode ?? -1, stdout: String(r.stdout), loaded };
}

/** The command modules, as the CLI's table names them (`import('./<name>.js')` in dist/commands/index.js). */
async function commandModules(): Promise<string[]> {
  const table = await fs.readFile(path.join(ROOT, 'dist', 'commands', 'index.js'), 'utf8');
  return [...table.matchAll(/import\('\.\/([\w-]+)\.js'\)/g)].map((m) => `dist/commands/${m[1]}.js`);
}

describe('cli start-up', () => {
  it('`telepty --version` loads no module of dist/ and no dependency', async () => {
    const r = await loadsOf(homes.newHome(), ['--version']);
    expect(r.exitCode).toBe(0);
    expect(r.stdout.trim()).toMatch(/^\d+\.\d+\.\d+/);
    expect(r.loaded, 'the recorder saw the launcher').toContain('bin/telepty.js');
    expect(r.loaded.filter((u) => u.startsWith('dist/') || u.includes('node_modules/'))).toEqual([]);
  });

  it('`telepty meta` loads its own command module and no other, and none of the daemon or session host', async () => {
    const home = homes.newHome();
    expect((await runCli(home, ['daemon', 'start'])).exitCode).toBe(0); // so meta only asks, and starts nothing
    const r = await loadsOf(home, ['meta']);
    expect(r.exitCode).toBe(0);
    expect(r.stdout).toMatch(/capabilities/);
    expect(r.loaded).toEqual(expect.arrayContaining(['dist/cli.js', 'dist/commands/meta.js']));

    const others = (await commandModules()).filter((m) => m !== 'dist/commands/meta.js');
    expect(others.length, 'the command table was found in dist/commands/index.js').toBeGreaterThan(10);
    expect(r.loaded.filter((u) => others.includes(u))).toEqual([]);
    expect(r.loaded.filter((u) => u.startsWith('dist/daemon/') || u.startsWith('dist/host/'))).toEqual([]);
    expect(r.loaded.filter((u) => /node_modules\/(node-pty|@xterm|ws)\//.test(u))).toEqual([]);
  });
});
