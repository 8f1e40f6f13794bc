import { fleetConfigFrom } from '../fleet/config.js';
import type { TeleptyConfig } from '../util/config.js';
import { processEnv } from '../util/config.js';

/**
 * The fleet settings of this environment (TELEPTY_NATS_CREDS, TELEPTY_NATS_URL, TELEPTY_MACHINE_ID) as a daemon
 * started from it would find them (the daemon's own fleetConfigFrom): none (local only); unusable, and why (e.g.
 * credentials of another machine: the daemon then serves its local sessions only); or usable, with the credentials file.
 */
export async function fleetSettings(config: TeleptyConfig, env: NodeJS.ProcessEnv = processEnv()): Promise<{ kind: 'none' } | { kind: 'unusable'; problem: string } | { kind: 'usable'; credsFile: string }> {
  try {
    return (await fleetConfigFrom(env, config.machineId)) === null ? { kind: 'none' } : { kind: 'usable', credsFile: (env.TELEPTY_NATS_CREDS ?? '').trim() };
  } catch (err) {
    return { kind: 'unusable', problem: err instanceof Error ? err.message : String(err) };
  }
}

/** `daemon start` / `restart`, for a daemon they started: a warning on stderr when its fleet settings are unusable. */
export async function warnIfFleetUnusable(config: TeleptyConfig): Promise<void> {
  const settings = await fleetSettings(config);
  if (settings.kind === 'unusable') process.stderr.write(`telepty: warning: the fleet configuration is not usable, so this daemon serves local sessions only: ${settings.problem}\n`);
}
