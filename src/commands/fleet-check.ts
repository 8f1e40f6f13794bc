import { fleetConfigFrom } from '../fleet/config.js';
import type { TeleptyConfig } from '../util/config.js';
import { processEnv } from '../util/config.js';

/**
 * Why the fleet configuration of this environment (TELEPTY_NATS_CREDS, TELEPTY_NATS_URL, TELEPTY_MACHINE_ID) cannot be
 * used, as a daemon started from it would find: e.g. credentials of another machine. Null when it can, or when none
 * is set. The daemon then serves its local sessions only; `daemon start` and `restart` say so instead of nothing.
 */
export async function fleetConfigProblem(config: TeleptyConfig, env: NodeJS.ProcessEnv = processEnv()): Promise<string | null> {
  try {
    await fleetConfigFrom(env, config.machineId);
    return null;
  } catch (err) {
    return err instanceof Error ? err.message : String(err);
  }
}

/** The warning `daemon start` / `restart` print (on stderr) for a daemon they started with an unusable fleet. */
export function fleetWarning(problem: string): string {
  return `telepty: warning: the fleet configuration is not usable, so this daemon serves local sessions only: ${problem}\n`;
}
