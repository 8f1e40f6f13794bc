import { promises as fs } from 'node:fs';
import path from 'node:path';
import { expect } from 'vitest';
import { runCli } from './cli.js';
import { ROOT, waitFor } from './env.js';

export const FIXTURES = path.join(ROOT, 'test', 'fixtures');

export interface Submission {
  n: number;
  text: string;
}

/** What a fixture took as submitted, in order (its FIXTURE_LOG, JSON lines; none while the file does not exist). */
export async function readSubmissions(log: string): Promise<Submission[]> {
  const text = await fs.readFile(log, 'utf8').catch((err: NodeJS.ErrnoException) => {
    if (err.code === 'ENOENT') return '';
    throw err;
  });
  return text
    .split('\n')
    .filter(Boolean)
    .map((l) => JSON.parse(l) as Submission);
}

/** A session running a fixture that logs every submission it takes (FIXTURE_LOG, JSON lines). */
export async function fixtureSession(home: string, id: string, fixture: string, env: readonly string[] = []): Promise<{ log: string; submissions: () => Promise<Submission[]> }> {
  const log = path.join(home, `${id}.submissions`);
  const envArgs = env.flatMap((e) => ['--env', e]);
  const r = await runCli(home, ['spawn', '--id', id, '--env', `FIXTURE_LOG=${log}`, ...envArgs, '--', process.execPath, path.join(FIXTURES, fixture)]);
  expect(r.exitCode, r.stderr).toBe(0);
  await waitFor(`${id} to be ready`, async () => (await runCli(home, ['read', id])).stdout.includes('ready'));
  return { log, submissions: () => readSubmissions(log) };
}
