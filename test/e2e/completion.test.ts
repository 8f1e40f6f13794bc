import { promises as fs } from 'node:fs';
import path from 'node:path';
import { execa } from 'execa';
import { describe, expect, it } from 'vitest';
import { runCli } from '../helpers/cli.js';
import { useHomes } from '../helpers/daemon.js';
import { BIN, testEnv } from '../helpers/env.js';

const homes = useHomes();

/** What bash completes for the words typed so far (the last one being completed), with the script sourced. */
async function bashComplete(home: string, script: string, words: string[]): Promise<string[]> {
  const bin = path.join(home, 'bin');
  await fs.mkdir(bin, { recursive: true });
  await fs.symlink(BIN, path.join(bin, 'telepty')).catch((err: NodeJS.ErrnoException) => {
    if (err.code !== 'EEXIST') throw err;
  });
  const file = path.join(home, 'telepty.bash');
  await fs.writeFile(file, script);
  const words_ = words.map((w) => `'${w.replace(/'/g, `'\\''`)}'`).join(' ');
  const program = `source ${file}; COMP_WORDS=(${words_}); COMP_CWORD=${words.length - 1}; _telepty; printf '%s\\n' "\${COMPREPLY[@]}"`;
  const env = testEnv(home);
  const r = await execa('bash', ['--norc', '-c', program], { env: { ...env, PATH: `${bin}:${env.PATH ?? ''}` }, extendEnv: false, reject: false, stdin: 'ignore' });
  expect(r.exitCode, r.stderr).toBe(0);
  return r.stdout.split('\n').filter(Boolean);
}

describe('shell completion', () => {
  it('bash completes commands, options, daemon subcommands and live session ids', async () => {
    const home = homes.newHome();
    const script = await runCli(home, ['completion', 'bash']);
    expect(script.exitCode, script.stderr).toBe(0);
    expect(await bashComplete(home, script.stdout, ['telepty', 'in'])).toEqual(['inject']);
    expect(await bashComplete(home, script.stdout, ['telepty', 'inject', '--no-'])).toEqual(['--no-enter', '--no-wait']);
    expect(await bashComplete(home, script.stdout, ['telepty', 'daemon', 'st'])).toEqual(['start', 'stop', 'status']);
    // No daemon yet: a Tab lists nothing and starts none.
    expect(await bashComplete(home, script.stdout, ['telepty', 'read', ''])).toEqual([]);
    expect((await runCli(home, ['daemon', 'status'])).exitCode).toBe(3);
    for (const id of ['alpha-1', 'alpha-2', 'beta']) expect((await runCli(home, ['spawn', '--id', id, '--', 'sleep', '60'])).exitCode).toBe(0);
    expect(await bashComplete(home, script.stdout, ['telepty', 'read', 'al'])).toEqual(['alpha-1', 'alpha-2']);
    expect(await bashComplete(home, script.stdout, ['telepty', 'kill', 'alpha-1', 'b'])).toEqual(['beta']);
    expect(await bashComplete(home, script.stdout, ['telepty', 'ls', '--q'])).toEqual(['--quiet']);
    await runCli(home, ['kill', '--all', '--yes']);
  });

  it('zsh and fish scripts name every command and complete ids through `telepty list --quiet --no-start`', async () => {
    const home = homes.newHome();
    for (const shell of ['zsh', 'fish']) {
      const r = await runCli(home, ['completion', shell]);
      expect(r.exitCode, r.stderr).toBe(0);
      for (const cmd of ['inject', 'attach', 'tail', 'whoami', 'doctor']) expect(r.stdout).toContain(cmd);
      expect(r.stdout).toContain('telepty list --quiet --no-start');
    }
    // Where zsh is installed, its script must at least parse.
    const zsh = await execa('sh', ['-c', 'command -v zsh'], { reject: false });
    if (zsh.exitCode === 0) {
      const parsed = await execa('zsh', ['-n', '-c', (await runCli(home, ['completion', 'zsh'])).stdout], { reject: false });
      expect(parsed.exitCode, parsed.stderr).toBe(0);
    } else console.log('completion test: zsh is not installed here; its script was checked for content only');
    const bad = await runCli(home, ['completion', 'tcsh']);
    expect(bad.exitCode).toBe(2);
    expect(bad.stderr).toMatch(/choose bash, zsh or fish/);
  });
});
