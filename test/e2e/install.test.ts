import { promises as fs } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { execa } from 'execa';
import { afterAll, describe, expect, it } from 'vitest';
import { ROOT } from '../helpers/env.js';

/** The README's first command, as a new user copies it (the first line of its first sh block). */
async function readmeSetupCommand(): Promise<string> {
  const readme = await fs.readFile(path.join(ROOT, 'README.md'), 'utf8');
  const block = /```sh\n([^\n]*)\n/.exec(readme);
  if (!block?.[1]) throw new Error('README has no ```sh block');
  return block[1].replace(/\s+#.*$/, '');
}

describe('installation (the README\'s first command)', () => {
  const prefix = os.tmpdir() + `/telepty-prefix-${process.pid}`;
  afterAll(() => fs.rm(prefix, { recursive: true, force: true }));

  it('puts `telepty` and its man page where a shell finds them: the install step run as written, into a scratch npm prefix', async () => {
    const command = await readmeSetupCommand();
    const steps = command.split('&&').map((s) => s.trim());
    // The steps: install the dependencies and build, install globally from the checkout, then run the main job.
    expect(steps[0]).toBe('npm ci');
    const install = steps.find((s) => s.startsWith('npm install -g'));
    expect(install, command).toBeDefined();
    expect(steps[steps.length - 1]).toMatch(/^telepty wrap\b/);
    // `npm ci` was done by the test run itself (it built dist/); run the global install exactly as written, with
    // npm's own prefix variable pointing at a scratch folder instead of the machine's global one.
    const r = await execa('sh', ['-c', install as string], { cwd: ROOT, env: { ...process.env, npm_config_prefix: prefix }, reject: false, stdin: 'ignore' });
    expect(r.exitCode, `${r.stdout}\n${r.stderr}`).toBe(0);
    const bin = path.join(prefix, 'bin', 'telepty');
    const version = await execa(bin, ['--version'], { reject: false, stdin: 'ignore', env: { ...process.env, PATH: `${path.dirname(bin)}:${process.env.PATH ?? ''}` } });
    expect(version.exitCode, version.stderr).toBe(0);
    const pkg = JSON.parse(await fs.readFile(path.join(ROOT, 'package.json'), 'utf8')) as { version: string };
    expect(version.stdout.trim()).toBe(pkg.version);
    const man = await fs.readFile(path.join(prefix, 'share', 'man', 'man1', 'telepty.1'), 'utf8');
    expect(man).toContain('.TH TELEPTY 1');
  });
});
