import { TeleptyError } from '../protocol/errors.js';
import { parseNatsUrls, readCredentials, type FleetCredentials } from './credentials.js';

/** What a daemon needs to join a fleet, or null: no NATS server given, local only (the default). */
export interface FleetConfig {
  servers: string[];
  credentials: FleetCredentials;
}

/**
 * The fleet settings from the environment: TELEPTY_NATS_CREDS (the machine's credentials file from `telepty fleet
 * init`) and optionally TELEPTY_NATS_URL (servers to dial instead of the file's). The credentials must be for this
 * machine: a daemon never joins under another machine's name.
 */
export async function fleetConfigFrom(env: NodeJS.ProcessEnv, machineId: string): Promise<FleetConfig | null> {
  const credsFile = env.TELEPTY_NATS_CREDS?.trim();
  const urls = env.TELEPTY_NATS_URL?.trim();
  if (!credsFile) {
    if (urls) throw new TeleptyError('INVALID_FIELD', 'TELEPTY_NATS_URL is set without TELEPTY_NATS_CREDS: give this machine its credentials file from `telepty fleet init`');
    return null;
  }
  const credentials = await readCredentials(credsFile);
  if (credentials.machine !== machineId) {
    throw new TeleptyError(
      'INVALID_FIELD',
      `${credsFile} holds the credentials of machine "${credentials.machine}", but this machine is "${machineId}" (set TELEPTY_MACHINE_ID=${credentials.machine}, or use its own file)`,
    );
  }
  return { servers: urls ? parseNatsUrls(urls) : credentials.servers, credentials };
}
