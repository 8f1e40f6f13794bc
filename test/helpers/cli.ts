import { execa, type ResultPromise } from 'execa';
import { BIN, testEnv } from './env.js';

export interface CliResult {
  stdout: string;
  stderr: string;
  exitCode: number;
}

export interface CliOptions {
  env?: Record<string, string>;
  input?: string;
  timeout?: number;
  cwd?: string;
  /** Variables to remove from the test environment (e.g. NO_COLOR, which testEnv sets). */
  unset?: string[];
  /** spawnCli only: 'pipe' to write to the child's stdin as it runs (default: no stdin). */
  stdin?: 'pipe' | 'ignore';
}

/** Run the built CLI as a child process in `home`, with no TTY (as CI does). Never throws on a non-zero exit. */
export async function runCli(home: string, args: string[], opts: CliOptions = {}): Promise<CliResult> {
  const env = testEnv(home, opts.env);
  for (const name of opts.unset ?? []) delete env[name];
  const r = await execa(process.execPath, [BIN, ...args], {
    env,
    extendEnv: false,
    reject: false,
    timeout: opts.timeout ?? 30_000,
    ...(opts.input !== undefined ? { input: opts.input } : { stdin: 'ignore' }),
    ...(opts.cwd ? { cwd: opts.cwd } : {}),
  });
  return { stdout: String(r.stdout), stderr: String(r.stderr), exitCode: r.exitCode ?? -1 };
}

/** Start the CLI without waiting for it (for concurrent starts, foreground daemons, streams). */
export function spawnCli(home: string, args: string[], opts: CliOptions = {}): ResultPromise {
  return execa(process.execPath, [BIN, ...args], {
    env: testEnv(home, opts.env),
    extendEnv: false,
    reject: false,
    stdin: opts.stdin ?? 'ignore',
    timeout: opts.timeout ?? 60_000,
  });
}

export function parseJson<T = Record<string, unknown>>(r: CliResult): T {
  try {
    return JSON.parse(r.stdout) as T;
  } catch {
    throw new Error(`not JSON (exit ${r.exitCode}):\nstdout: ${r.stdout}\nstderr: ${r.stderr}`);
  }
}

/** Every complete line a running child has written to stdout so far (appended as they arrive). */
export function stdoutLines(child: ResultPromise): string[] {
  const lines: string[] = [];
  let partial = '';
  child.stdout?.on('data', (d: Buffer) => {
    const parts = (partial + d.toString('utf8')).split('\n');
    partial = parts.pop() ?? '';
    lines.push(...parts);
  });
  return lines;
}
