import type { SessionObject } from '../../src/protocol/session.js';
import { parseJson, runCli } from './cli.js';

/** `telepty spawn --json ARGS` in `home`: the session it started (fails the test when the answer is not JSON). */
export async function spawnJson(home: string, args: string[], env?: Record<string, string>): Promise<SessionObject> {
  return parseJson<SessionObject>(await runCli(home, ['spawn', '--json', ...args], env ? { env } : {}));
}

/** `telepty list --json` in `home`. */
export async function listSessions(home: string, env?: Record<string, string>): Promise<SessionObject[]> {
  return parseJson<SessionObject[]>(await runCli(home, ['list', '--json'], env ? { env } : {}));
}
