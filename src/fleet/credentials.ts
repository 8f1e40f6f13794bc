import { TeleptyError } from '../protocol/errors.js';
import { MACHINE_ID_PATTERN } from '../protocol/ids.js';
import { expectObject } from '../protocol/validate.js';
import { readTextIfExists } from '../util/files.js';

/**
 * A machine's fleet credentials: which servers, and the NKEY seed that proves it is that machine (the server's
 * configuration holds only the public key). Written by `telepty fleet init`, one file per machine, mode 0600.
 */
export interface FleetCredentials {
  version: 1;
  machine: string;
  servers: string[];
  nkey_seed: string;
}

export const CREDENTIALS_VERSION = 1;

/** NATS server URLs a daemon may be given: plain or TLS, with host and optional port. */
const NATS_URL = /^(nats|tls):\/\/[^\s/]+$/;

export function parseNatsUrls(text: string): string[] {
  const urls = text.split(',').map((s) => s.trim()).filter((s) => s.length > 0);
  if (urls.length === 0) throw new TeleptyError('INVALID_FIELD', 'no NATS server URL given (nats://host:4222 or tls://host:4222)');
  for (const u of urls) {
    if (!NATS_URL.test(u)) throw new TeleptyError('INVALID_FIELD', `"${u}" is not a nats:// or tls:// URL`);
  }
  return urls;
}

export function parseCredentials(raw: string, file: string): FleetCredentials {
  let v: unknown;
  try {
    v = JSON.parse(raw);
  } catch (err) {
    throw new TeleptyError('INVALID_FIELD', `${file} is not a telepty credentials file (${err instanceof Error ? err.message : String(err)}); write one with 'telepty fleet init'`);
  }
  const o = expectObject(v, file);
  const servers = o.servers;
  if (
    o.version !== CREDENTIALS_VERSION ||
    typeof o.machine !== 'string' ||
    !MACHINE_ID_PATTERN.test(o.machine) ||
    !Array.isArray(servers) ||
    !servers.every((s): s is string => typeof s === 'string' && NATS_URL.test(s)) ||
    typeof o.nkey_seed !== 'string' ||
    !/^SU[A-Z2-7]{56}$/.test(o.nkey_seed)
  ) {
    throw new TeleptyError('INVALID_FIELD', `${file} is not a telepty credentials file of version ${CREDENTIALS_VERSION} (machine, servers, nkey_seed); write one with 'telepty fleet init'`);
  }
  return { version: 1, machine: o.machine, servers, nkey_seed: o.nkey_seed };
}

export async function readCredentials(file: string): Promise<FleetCredentials> {
  const raw = await readTextIfExists(file);
  if (raw === null) throw new TeleptyError('NOT_FOUND', `no credentials file at ${file}`);
  return parseCredentials(raw, file);
}
