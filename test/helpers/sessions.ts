import type { SessionObject } from '../../src/protocol/session.js';
import { parseJson, runCli } from './cli.js';
import { waitFor } from './env.js';

/** `telepty spawn --json ARGS` in `home`: the session it started (fails the test when the answer is not JSON). */
export async function spawnJson(home: string, args: string[], env?: Record<string, string>): Promise<SessionObject> {
  return parseJson<SessionObject>(await runCli(home, ['spawn', '--json', ...args], env ? { env } : {}));
}

/** `telepty list --json` in `home`. */
export async function listSessions(home: string, env?: Record<string, string>): Promise<SessionObject[]> {
  return parseJson<SessionObject[]>(await runCli(home, ['list', '--json'], env ? { env } : {}));
}

/** What a crashing program leaves: 40 lines (on 24 rows the first scroll into the scrollback), a red error, exit 3. */
const CRASH = "for (let i = 1; i <= 40; i++) console.log('early-' + i); console.error('\\x1b[31mFATAL: widget overflow in frobnicator\\x1b[0m'); process.exit(3)";

/** Spawn `id` running a program that prints, fails with a distinctive error and exits 3; resolves once it is listed exited. */
export async function crashedSession(home: string, id: string): Promise<void> {
  const r = await runCli(home, ['spawn', '--id', id, '--', process.execPath, '-e', CRASH]);
  if (r.exitCode !== 0) throw new Error(`spawn ${id}: ${r.stderr}`);
  await waitFor(`${id} to exit`, async () => (await listSessions(home)).find((s) => s.id === id)?.status === 'exited');
}
